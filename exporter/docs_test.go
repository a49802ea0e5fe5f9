package exporter

import (
	"bufio"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// documented is one row of docs/metrics.md.
type documented struct {
	typ    string
	labels []string
}

var docRow = regexp.MustCompile("^\\| `([a-z_*]+)` \\| *([a-z]*) *\\| *([^|]*)\\|")

func readMetricsDoc(t *testing.T) map[string]documented {
	t.Helper()
	f, err := os.Open("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]documented{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := docRow.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		var labels []string
		for _, l := range strings.Split(m[3], ",") {
			if l = strings.TrimSpace(l); l != "" {
				labels = append(labels, l)
			}
		}
		sort.Strings(labels)
		out[m[1]] = documented{typ: m[2], labels: labels}
	}
	if len(out) == 0 {
		t.Fatal("no metric rows found in docs/metrics.md")
	}
	return out
}

// TestMetricsDocumented fails when docs/metrics.md and the exposed metrics
// disagree: a metric exposed but not documented, documented but never
// exposed, or with another type or other labels. The fixture cluster
// (with Kueue's objects, withKueue) exercises every family, so every
// family has samples to read labels from.
func TestMetricsDocumented(t *testing.T) {
	doc := readMetricsDoc(t)
	// With Kueue too: its families are off by default.
	_, srv := startFixtureWith(t, withKueue)
	_, body := get(t, srv.URL+"/metrics", nil)
	mfs, err := parseBody(body)
	if err != nil {
		t.Fatal(err)
	}
	exposed := map[string]bool{}
	for _, mf := range mfs {
		name := mf.GetName()
		if prefix, ok := documentedPrefix(doc, name); ok {
			exposed[prefix] = true
			continue
		}
		exposed[name] = true
		d, ok := doc[name]
		if !ok {
			t.Errorf("%s is exposed but not documented in docs/metrics.md", name)
			continue
		}
		if got := strings.ToLower(mf.GetType().String()); got != d.typ {
			t.Errorf("%s: type %s, documented %s", name, got, d.typ)
		}
		if got := labelNames(mf); strings.Join(got, ",") != strings.Join(d.labels, ",") {
			t.Errorf("%s: labels %v, documented %v", name, got, d.labels)
		}
	}
	for name := range doc {
		if !exposed[name] {
			t.Errorf("%s is documented but the fixture cluster does not expose it", name)
		}
	}
}

func documentedPrefix(doc map[string]documented, name string) (string, bool) {
	for d := range doc {
		if p, ok := strings.CutSuffix(d, "*"); ok && strings.HasPrefix(name, p) {
			return d, true
		}
	}
	return "", false
}

func labelNames(mf *dto.MetricFamily) []string {
	set := map[string]bool{}
	for _, m := range mf.GetMetric() {
		for _, lp := range m.GetLabel() {
			set[lp.GetName()] = true
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
