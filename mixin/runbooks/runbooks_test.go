package runbooks

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The generated rule file, relative to this package.
var alertsFile = filepath.Join("..", "..", "alerts", "kube-job-exporter-alerts.yaml")

var alertLine = regexp.MustCompile(`(?m)^\s*- alert: "?([A-Za-z0-9]+)"?\s*$`)

func generatedAlerts(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatalf("reading the generated alerts (run `make mixin`): %v", err)
	}
	var names []string
	for _, m := range alertLine.FindAllStringSubmatch(string(b), -1) {
		names = append(names, m[1])
	}
	if len(names) == 0 {
		t.Fatalf("no alert found in %s", alertsFile)
	}
	return names
}

func embedded(t *testing.T) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := fs.WalkDir(FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(FS, path)
		if err != nil {
			return err
		}
		files[strings.TrimSuffix(path, ".md")] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Every alert has a runbook and every runbook an alert: one of the
// generated rules, or one the defaults leave out (the index lists it,
// TestAlertIndexMatchesTheRules holds the index to the rules).
func TestEveryAlertHasARunbookAndViceVersa(t *testing.T) {
	alerts := generatedAlerts(t)
	books := embedded(t)
	seen := map[string]bool{}
	for _, a := range alerts {
		if seen[a] {
			t.Errorf("alert %s is defined twice", a)
		}
		seen[a] = true
		if _, ok := books[a]; !ok {
			t.Errorf("alert %s has no runbook: add mixin/runbooks/%s.md", a, a)
		}
	}
	index, err := Alerts()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range index {
		if a.OffByDefault {
			if seen[a.Name] {
				t.Errorf("alert %s is off by default in the index, and in the default rules", a.Name)
			}
			seen[a.Name] = true
		}
	}
	var orphans []string
	for name := range books {
		if !seen[name] {
			orphans = append(orphans, name)
		}
	}
	sort.Strings(orphans)
	for _, o := range orphans {
		t.Errorf("runbook %s.md belongs to no alert", o)
	}
}

// Each alert's runbook_url is its own published runbook, with no query (a
// static page fills nothing in, and opens wherever a page is read); the
// rules generated with the defaults carry no runbook_static_url (gone) and
// no live_report_url (only with _config.exporterURL). A live_report_url,
// where one is generated, leads to the alert's own page with the labels
// its commands are filled from, URL-escaped (a label is not trusted to be
// a name).
func TestRunbookURLs(t *testing.T) {
	b, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	blocks := alertLine.Split(string(b), -1)[1:]
	names := generatedAlerts(t)
	if len(blocks) != len(names) {
		t.Fatalf("%d alert blocks, %d names", len(blocks), len(names))
	}
	url := regexp.MustCompile(`\brunbook_url: "([^"]*)"`)
	live := regexp.MustCompile(`\blive_report_url: "([^"]*)"`)
	for i, name := range names {
		m := url.FindStringSubmatch(blocks[i])
		if m == nil {
			t.Errorf("%s: no runbook_url", name)
			continue
		}
		if u := m[1]; !strings.HasSuffix(u, "/mixin/runbooks/"+name+".md") || strings.Contains(u, "?") {
			t.Errorf("%s: runbook_url %q, want the published runbook mixin/runbooks/%s.md", name, u, name)
		}
		if strings.Contains(blocks[i], "runbook_static_url") {
			t.Errorf("%s: runbook_static_url is gone: runbook_url is the static runbook", name)
		}
		l := live.FindStringSubmatch(blocks[i])
		if l == nil {
			continue
		}
		if strings.HasPrefix(name, "KubeJobExporter") {
			t.Errorf("%s: live_report_url on an exporter alert (the exporter may be the one that is down)", name)
			continue
		}
		path, query, _ := strings.Cut(l[1], "?")
		if !strings.HasSuffix(path, "/runbooks/"+name) {
			t.Errorf("%s: live_report_url %q does not end in /runbooks/%s", name, l[1], name)
		}
		var params []string
		for _, p := range wantQuery(name) {
			params = append(params, p+"={{ $labels."+p+" | urlquery }}")
		}
		if want := strings.Join(params, "&"); query != want {
			t.Errorf("%s: live_report_url query %q, want %q", name, query, want)
		}
	}
}

// ownerQuery: alerts about an owner rather than a Job, whose runbook_url
// names the owner (KubeJobFailedAndDeleted: the Jobs are gone, and the
// page lists them; KubeJobFailureCostHigh, KubeJobEvictedRepeatedly: the
// cost, the evictions are the owner's).
var ownerQuery = map[string]bool{"KubeJobFailedAndDeleted": true, "KubeJobFailureCostHigh": true, "KubeJobEvictedRepeatedly": true}

// wantQuery is the labels the runbook_url query of an alert carries, in
// order: a CronJob's, an owner's or a Job's.
func wantQuery(name string) []string {
	switch {
	case strings.HasPrefix(name, "KubeCronJob"):
		return []string{"namespace", "cronjob"}
	case ownerQuery[name]:
		return []string{"namespace", "owner_name"}
	}
	return []string{"namespace", "job_name"}
}

// fills maps the query parameters the exporter fills in to their
// placeholders (pages/runbooks.go).
var fills = map[string]string{
	"namespace":  "<namespace>",
	"job_name":   "<job-name>",
	"cronjob":    "<cronjob-name>",
	"owner_name": "<owner-name>",
}

var (
	fence        = regexp.MustCompile("(?s)```.*?```")
	codeSpan     = regexp.MustCompile("`[^`]*`")
	angleInProse = regexp.MustCompile(`<[a-z][a-z-]*>`)
)

// Runbooks have the sections on-call reads, use the placeholders the
// exporter fills from their alert's live_report_url query, promise none it
// cannot fill (only the labels of that query: <job-name> on a Job's,
// <cronjob-name> on a CronJob's, <owner-name> on an owner's), and keep
// any <placeholder> inside code, where it renders as text (in prose it
// would be read as an HTML tag).
func TestRunbookContent(t *testing.T) {
	for name, text := range embedded(t) {
		if !strings.HasPrefix(text, "# "+name+"\n") {
			t.Errorf("%s.md: must start with the title # %s", name, name)
		}
		for _, section := range []string{"## Meaning", "## Impact", "## Diagnosis", "## Mitigation"} {
			if !strings.Contains(text, "\n"+section+"\n") {
				t.Errorf("%s.md: no %q section", name, section)
			}
		}
		if !strings.HasPrefix(name, "KubeJobExporter") {
			if !strings.Contains(text, "<namespace>") {
				t.Errorf("%s.md: commands do not use the <namespace> placeholder", name)
			}
			query := wantQuery(name)
			for _, param := range query {
				if ph := fills[param]; !strings.Contains(text, ph) {
					t.Errorf("%s.md: commands do not use the %s placeholder", name, ph)
				}
			}
			// Every placeholder the exporter fills whose label is not in
			// this alert's query: a CronJob alert names no Job
			// (<job-name>), a Job alert no CronJob (<cronjob-name>), an
			// owner's alert neither.
			var unfillable []string
			for param, ph := range fills {
				if !slices.Contains(query, param) {
					unfillable = append(unfillable, ph)
				}
			}
			sort.Strings(unfillable)
			for _, ph := range unfillable {
				if strings.Contains(text, ph) {
					t.Errorf("%s.md: uses %s, which its alert's runbook_url (%s) cannot fill", name, ph, strings.Join(query, ", "))
				}
			}
			if !strings.Contains(text, "kubectl ") {
				t.Errorf("%s.md: no kubectl command", name)
			}
		}
		prose := codeSpan.ReplaceAllString(fence.ReplaceAllString(text, ""), "")
		if m := angleInProse.FindString(prose); m != "" {
			t.Errorf("%s.md: %s outside code would render as an HTML tag: put it in backticks", name, m)
		}
	}
}
