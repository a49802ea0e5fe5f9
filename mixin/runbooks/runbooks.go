// Package runbooks embeds the runbook of every alert of the mixin, one
// Markdown file per alert named <AlertName>.md, so that the exporter serves
// the runbooks of its own version at /runbooks/<AlertName>, and the index
// of the alerts (alerts.json, written by mixin/build.jsonnet), so that the
// names the exporter's pages and `diagnose` use are checked against the
// rules.
//
// Commands in the runbooks use the literal placeholders <namespace>,
// <job-name> and <cronjob-name>, which the exporter fills in from the
// query parameters namespace, job_name and cronjob of the runbook_url.
//
// The package has no dependencies: it is imported by the exporter binary.
package runbooks

import (
	"embed"
	"encoding/json"
	"fmt"
	"sync"
)

// FS holds the runbooks, <AlertName>.md at its root.
//
//go:embed *.md
var FS embed.FS

//go:embed alerts.json
var alertsJSON []byte

// Alert is one alert of the mixin as its rules define it.
type Alert struct {
	Name string `json:"name"`
	// Group is the rule group it belongs to
	// (kube-job-exporter-job-failed, …).
	Group    string `json:"group"`
	Severity string `json:"severity"`
	// OffByDefault: the rules generated with the mixin's defaults do not
	// have it; a _config setting turns it on (KubeJobFailureCostHigh:
	// failureCostThresholds).
	OffByDefault bool `json:"off_by_default,omitempty"`
}

var (
	alertsOnce sync.Once
	alerts     []Alert
	alertsErr  error
)

// Alerts is every alert of the mixin, by name, from the embedded index;
// the error says the index is broken (a build without `make mixin`).
func Alerts() ([]Alert, error) {
	alertsOnce.Do(func() {
		if err := json.Unmarshal(alertsJSON, &alerts); err != nil {
			alertsErr = fmt.Errorf("mixin/runbooks/alerts.json: %w", err)
		}
	})
	return alerts, alertsErr
}

// Lookup is the alert named name, if the mixin has one.
func Lookup(name string) (Alert, bool) {
	all, _ := Alerts()
	for _, a := range all {
		if a.Name == name {
			return a, true
		}
	}
	return Alert{}, false
}
