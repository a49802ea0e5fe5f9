package deploy

// The copies of the mixin's generated files that deploy/ and the chart
// ship (kustomize loads no file outside a kustomization's directory,
// Helm's .Files none outside the chart). internal/mixincopies/copies.txt
// lists them, `make generate` writes them; these tests read the same list
// and compare each copy with the mixin's output on their own: the
// committed alerts/ and dashboards/, or what `make mixin-build
// EXPORTER_URL=<url>` generates now.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// copiesList is the one list of the copies, in the repository.
const copiesList = "internal/mixincopies/copies.txt"

// A mixinCopy is one line of copiesList: the file the mixin generates at
// from, generated with exporterURL ("": the committed output), copied to
// to (a repository path).
type mixinCopy struct {
	exporterURL, from, to string
}

// readCopies reads copiesList (its format is described in it) once.
var readCopies = sync.OnceValues(func() ([]mixinCopy, error) {
	b, err := os.ReadFile(filepath.Join(repoRoot, copiesList))
	if err != nil {
		return nil, err
	}
	var copies []mixinCopy
	exporterURL := ""
	for i, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 0 || strings.HasPrefix(f[0], "#"):
		case len(f) == 2 && f[0] == "exporterURL":
			exporterURL = f[1]
		case len(f) == 2:
			copies = append(copies, mixinCopy{exporterURL: exporterURL, from: f[0], to: f[1]})
		default:
			return nil, fmt.Errorf("%s:%d: %q is no copy", copiesList, i+1, line)
		}
	}
	return copies, nil
})

func mixinCopies(t *testing.T) []mixinCopy {
	t.Helper()
	copies, err := readCopies()
	if err != nil {
		t.Fatal(err)
	}
	return copies
}

// placeholders are the exporterURLs copies are generated with: the
// chart's files/live/ address, which its templates replace with
// .Values.exporterURL and which nothing rendered may contain.
func placeholders(t *testing.T) []string {
	t.Helper()
	var urls []string
	for _, c := range mixinCopies(t) {
		if c.exporterURL != "" && !slices.Contains(urls, c.exporterURL) {
			urls = append(urls, c.exporterURL)
		}
	}
	return urls
}

// The copies in deploy/ equal the mixin's output.
func TestGeneratedCopies(t *testing.T) {
	checkCopies(t, "deploy/")
}

// The chart's copies equal the mixin's output: files/ the committed
// alerts/ and dashboards/ (the default, no exporterURL), files/live/ what
// `make mixin-build EXPORTER_URL=<placeholder>` generates now.
func TestGeneratedCopiesChart(t *testing.T) {
	checkCopies(t, chartRel+"/")
}

// checkCopies checks each copy under the repository path under equals the
// file it copies, and that each directory holding a copy of a dashboard
// holds a copy of every dashboard the mixin generates, and nothing else
// (else a dashboard is not shipped there, or one no longer generated is).
func checkCopies(t *testing.T, under string) {
	t.Helper()
	sources := map[string]string{"": repoRoot}
	source := func(exporterURL string) string {
		if dir, ok := sources[exporterURL]; ok {
			return dir
		}
		dir := t.TempDir()
		if _, err := harness.GenerateMixin(context.Background(), dir, exporterURL, nil, nil); err != nil {
			t.Fatal(err)
		}
		sources[exporterURL] = dir
		return dir
	}
	type place struct{ exporterURL, dir string }
	dashboards := map[place][]string{} // the dashboards copied to a directory
	n := 0
	for _, c := range mixinCopies(t) {
		if !strings.HasPrefix(c.to, under) {
			continue
		}
		n++
		want, err := os.ReadFile(filepath.Join(source(c.exporterURL), c.from))
		if err != nil {
			t.Fatalf("%s copies %s: %v", copiesList, c.from, err)
		}
		if got, err := os.ReadFile(filepath.Join(repoRoot, c.to)); err != nil || !bytes.Equal(got, want) {
			from := c.from
			if c.exporterURL != "" {
				from = fmt.Sprintf("the mixin's %s generated now with exporterURL %s", c.from, c.exporterURL)
			}
			t.Errorf("%s is stale or missing: it must equal %s; run: make generate", c.to, from)
		}
		if path.Dir(c.from) == "dashboards" {
			p := place{c.exporterURL, path.Dir(c.to)}
			dashboards[p] = append(dashboards[p], path.Base(c.from))
		}
	}
	if n == 0 {
		t.Fatalf("%s lists no copy under %s", copiesList, under)
	}
	for p, copied := range dashboards {
		generated, _ := filepath.Glob(filepath.Join(source(p.exporterURL), "dashboards", "*.json"))
		for _, d := range generated {
			if !slices.Contains(copied, filepath.Base(d)) {
				t.Errorf("dashboard %s is not copied to %s: add it to %s", filepath.Base(d), p.dir, copiesList)
			}
		}
		shipped, _ := filepath.Glob(filepath.Join(repoRoot, p.dir, "*.json"))
		for _, f := range shipped {
			rel := path.Join(p.dir, filepath.Base(f))
			if !slices.ContainsFunc(mixinCopies(t), func(c mixinCopy) bool { return c.to == rel }) {
				t.Errorf("%s is a copy of no generated dashboard: run make generate", rel)
			}
		}
	}
}
