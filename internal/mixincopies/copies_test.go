package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The committed list parses, and copies files the mixin generates into
// deploy/ and the chart.
func TestCopiesList(t *testing.T) {
	copies, err := parse(copiesTxt)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range copies {
		if !strings.HasPrefix(c.from, "alerts/") && !strings.HasPrefix(c.from, "dashboards/") {
			t.Errorf("%s copies %s, which is not in the mixin's alerts/ or dashboards/", c.to, c.from)
		}
		if !strings.HasPrefix(c.to, "deploy/") && !strings.HasPrefix(c.to, "charts/") {
			t.Errorf("copy %s is outside deploy/ and charts/", c.to)
		}
	}
}

func TestParse(t *testing.T) {
	got, err := parse("# comment\na/x b/x\n\nexporterURL https://u.invalid\na/x c/x\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []mixinCopy{{"", "a/x", "b/x"}, {"https://u.invalid", "a/x", "c/x"}}
	if !slices.Equal(got, want) {
		t.Errorf("parse: %v, want %v", got, want)
	}
	for _, bad := range []string{"a/x b/x\na/y b/x\n", "a/x\n", "a/x b/x c/x\n", "# nothing\n"} {
		if _, err := parse(bad); err == nil {
			t.Errorf("parse(%q): no error", bad)
		}
	}
}

// A tree of generated files and their copies: write makes every copy
// current and removes the copy of a dashboard no longer generated; check
// then finds nothing, and finds each kind of staleness again.
func TestSync(t *testing.T) {
	root := t.TempDir()
	put(t, root, "alerts/rule.yaml", "rule")
	put(t, root, "dashboards/a.json", "a")
	put(t, root, "dashboards/b.json", "b")
	put(t, root, "deploy/dash/gone.json", "a dashboard removed from the mixin")
	put(t, root, "deploy/dash/kustomization.yaml", "not a copy, kept")
	live := t.TempDir()
	put(t, live, "alerts/rule.yaml", "rule with live links")
	put(t, live, "dashboards/a.json", "a with live links")
	put(t, live, "dashboards/b.json", "b with live links")
	generated := func(exporterURL string) (string, error) {
		if exporterURL != "https://u.invalid" {
			t.Fatalf("generated with exporterURL %q", exporterURL)
		}
		return live, nil
	}
	copies, err := parse(`
alerts/rule.yaml  deploy/rule.yaml
dashboards/a.json deploy/dash/a.json
dashboards/b.json deploy/dash/b.json
exporterURL https://u.invalid
alerts/rule.yaml  chart/live/rule.yaml
dashboards/a.json chart/live/dash/a.json
dashboards/b.json chart/live/dash/b.json
`)
	if err != nil {
		t.Fatal(err)
	}

	problems, err := sync(root, copies, generated, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 7 { // six copies missing, gone.json
		t.Errorf("check of a tree without copies: %d problems, want 7:\n%s", len(problems), strings.Join(problems, "\n"))
	}
	if problems, err := sync(root, copies, generated, true); err != nil || len(problems) > 0 {
		t.Fatalf("write: %v %v", problems, err)
	}
	for file, want := range map[string]string{
		"deploy/rule.yaml": "rule", "deploy/dash/b.json": "b", "chart/live/rule.yaml": "rule with live links",
		"chart/live/dash/a.json": "a with live links", "deploy/dash/kustomization.yaml": "not a copy, kept",
	} {
		if got := get(t, root, file); got != want {
			t.Errorf("%s after write: %q, want %q", file, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "deploy/dash/gone.json")); !os.IsNotExist(err) {
		t.Errorf("deploy/dash/gone.json after write: %v, want it removed", err)
	}
	if problems, err := sync(root, copies, generated, false); err != nil || len(problems) > 0 {
		t.Fatalf("check after write: %v %v", problems, err)
	}

	put(t, live, "dashboards/a.json", "a changed")
	put(t, root, "deploy/dash/extra.json", "extra")
	put(t, root, "dashboards/c.json", "a new dashboard")
	problems, err = sync(root, copies, generated, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"chart/live/dash/a.json is stale",
		"deploy/dash/extra.json is a copy of no generated dashboard",
		"dashboards/c.json has no copy in deploy/dash",
	} {
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.HasPrefix(p, want) }) {
			t.Errorf("check: no %q in\n%s", want, strings.Join(problems, "\n"))
		}
	}
	if len(problems) != 3 {
		t.Errorf("check: %d problems, want 3:\n%s", len(problems), strings.Join(problems, "\n"))
	}
	// Writing cannot list a new dashboard: it stays a problem.
	problems, err = sync(root, copies, generated, true)
	if err != nil || len(problems) != 1 || !strings.HasPrefix(problems[0], "dashboards/c.json has no copy in deploy/dash") {
		t.Errorf("write with an unlisted dashboard: %v %v", problems, err)
	}
}

func put(t *testing.T, root, file, content string) {
	t.Helper()
	p := filepath.Join(root, file)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, root, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
