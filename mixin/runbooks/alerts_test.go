package runbooks

import (
	"slices"
	"sort"
	"testing"
)

// The embedded index names the alerts the generated rules define, each
// once, in order, each with a group, a severity and a runbook: what the
// pages link and `diagnose` names is what pages someone. Besides them, and
// marked so, the alerts the defaults leave out of the rules.
func TestAlertIndexMatchesTheRules(t *testing.T) {
	index, err := Alerts()
	if err != nil {
		t.Fatal(err)
	}
	var names, enabled []string
	books := embedded(t)
	for _, a := range index {
		names = append(names, a.Name)
		if !a.OffByDefault {
			enabled = append(enabled, a.Name)
		}
		if a.Group == "" || a.Severity == "" {
			t.Errorf("alert %s: group %q, severity %q: want both", a.Name, a.Group, a.Severity)
		}
		if _, ok := books[a.Name]; !ok {
			t.Errorf("alert %s of the index has no runbook %s.md", a.Name, a.Name)
		}
		if got, ok := Lookup(a.Name); !ok || got != a {
			t.Errorf("Lookup(%s) = %+v, %v", a.Name, got, ok)
		}
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("the index is not sorted by name: %v", names)
	}
	rules := generatedAlerts(t)
	sort.Strings(rules)
	if !slices.Equal(enabled, rules) {
		t.Errorf("alerts.json names %v on by default,\nthe rules define %v: run `make mixin`", enabled, rules)
	}
	if _, ok := Lookup("KubeJobNoSuchAlert"); ok {
		t.Error("Lookup found an alert the mixin does not define")
	}
}
