package mixintest

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

const root = "../.."

var (
	ruleFiles      = []string{"alerts/kube-job-exporter-alerts.yaml", "alerts/kube-job-exporter-rules.yaml"}
	prometheusRule = "alerts/kube-job-exporter-prometheusrule.yaml"
	dashboardGlob  = "dashboards/*.json"
	metricsDoc     = "docs/metrics.md"

	// The scrape selector every raw series of the exporter carries
	// (_config.kubeJobExporterSelector).
	exporterJob = "kube-job-exporter"

	promql = parser.NewParser(parser.Options{})
)

// Series Prometheus makes itself, not the exporter.
var builtin = map[string]bool{"up": true}

// documented returns the metric names of docs/metrics.md table rows
// ("| `kubejob_retries` | gauge | ..."), names ending in * as prefixes, and
// which of them are histograms.
func documented(t *testing.T) (names map[string]string, prefixes []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, metricsDoc))
	if err != nil {
		t.Fatalf("%s: %v", metricsDoc, err)
	}
	row := regexp.MustCompile("(?m)^\\|\\s*`([a-zA-Z_:][a-zA-Z0-9_:]*\\*?)`\\s*\\|\\s*([a-z]*)\\s*\\|")
	names = map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		if strings.HasSuffix(m[1], "*") {
			prefixes = append(prefixes, strings.TrimSuffix(m[1], "*"))
			continue
		}
		names[m[1]] = m[2]
	}
	if len(names) == 0 {
		t.Fatalf("%s lists no metric", metricsDoc)
	}
	return names, prefixes
}

type ruleSet struct {
	groups   []rulefmt.RuleGroup
	recorded map[string]bool
}

func loadRules(t *testing.T) ruleSet {
	t.Helper()
	rs := ruleSet{recorded: map[string]bool{}}
	for _, f := range ruleFiles {
		g, errs := rulefmt.ParseFile(filepath.Join(root, f), false, model.UTF8Validation, promql, slog.New(slog.DiscardHandler))
		if len(errs) > 0 {
			t.Fatalf("%s: %v", f, errs)
		}
		rs.groups = append(rs.groups, g.Groups...)
		for _, grp := range g.Groups {
			for _, r := range grp.Rules {
				if r.Record != "" {
					rs.recorded[r.Record] = true
				}
			}
		}
	}
	return rs
}

// selectors parses expr and returns its vector selectors.
func selectors(expr string) ([]*parser.VectorSelector, error) {
	e, err := promql.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var out []*parser.VectorSelector
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			out = append(out, vs)
		}
		return nil
	})
	return out, nil
}

func metricName(vs *parser.VectorSelector) string {
	if vs.Name != "" {
		return vs.Name
	}
	for _, m := range vs.LabelMatchers {
		if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
			return m.Value
		}
	}
	return ""
}

type checker struct {
	t        *testing.T
	docs     map[string]string
	prefixes []string
	recorded map[string]bool
	used     map[string]bool
}

func newChecker(t *testing.T, recorded map[string]bool) *checker {
	docs, prefixes := documented(t)
	return &checker{t: t, docs: docs, prefixes: prefixes, recorded: recorded, used: map[string]bool{}}
}

// check parses expr (from where) and fails for a metric neither documented
// nor recorded, and for a raw exporter series without the scrape selector.
func (c *checker) check(where, expr string) {
	c.t.Helper()
	sels, err := selectors(expr)
	if err != nil {
		c.t.Errorf("%s: %v\n  %s", where, err, expr)
		return
	}
	if len(sels) == 0 && !strings.Contains(expr, "vector(") && !strings.Contains(expr, "time()") {
		c.t.Errorf("%s: selects no series: %s", where, expr)
	}
	for _, vs := range sels {
		name := metricName(vs)
		if name == "" {
			c.t.Errorf("%s: a selector without a metric name: %s", where, vs)
			continue
		}
		// Recorded series and ALERTS (the rules' own alerts) carry the
		// labels of their expressions, not the scrape's.
		if c.recorded[name] || name == "ALERTS" {
			continue
		}
		if !c.known(name) {
			c.t.Errorf("%s: metric %s is not in %s", where, name, metricsDoc)
			continue
		}
		c.used[name] = true
		hasJob := false
		for _, m := range vs.LabelMatchers {
			if m.Name == "job" && m.Matches(exporterJob) {
				hasJob = true
			}
		}
		if !hasJob {
			c.t.Errorf("%s: %s lacks the scrape selector job=%q", where, vs, exporterJob)
		}
	}
}

func (c *checker) known(name string) bool {
	if builtin[name] {
		return true
	}
	if _, ok := c.docs[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && c.docs[base] == "histogram" {
			return true
		}
	}
	for _, p := range c.prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// PromQL inside annotation templates: printf `...%q...` | query.
var (
	templateQuery   = regexp.MustCompile("printf `([^`]*)`")
	placeholderVerb = regexp.MustCompile(`%(\[[0-9]+\])?q`)
)

func TestRuleExpressions(t *testing.T) {
	rs := loadRules(t)
	c := newChecker(t, rs.recorded)
	n := 0
	for _, g := range rs.groups {
		for _, r := range g.Rules {
			name := r.Alert + r.Record
			c.check(g.Name+"/"+name, r.Expr)
			n++
			for k, v := range r.Annotations {
				for _, m := range templateQuery.FindAllStringSubmatch(v, -1) {
					c.check(g.Name+"/"+name+" annotation "+k, placeholderVerb.ReplaceAllString(m[1], `"x"`))
				}
			}
			if r.Alert != "" {
				for _, k := range []string{"summary", "description", "runbook_url"} {
					if r.Annotations[k] == "" {
						t.Errorf("%s: no %s annotation", name, k)
					}
				}
				if r.Labels["severity"] == "" {
					t.Errorf("%s: no severity label", name)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no rule found")
	}
}

// The names kubernetes-mixin uses for Jobs must stay free, so both load.
func TestNoAlertNameFromKubernetesMixin(t *testing.T) {
	for _, g := range loadRules(t).groups {
		for _, r := range g.Rules {
			switch r.Alert {
			case "KubeJobFailed", "KubeJobNotCompleted", "KubeJobCompletion", "KubeCronJobRunning":
				t.Errorf("alert %s collides with kubernetes-mixin", r.Alert)
			}
		}
	}
}

// The PrometheusRule carries exactly the groups of the plain rule files.
func TestPrometheusRuleMatchesRuleFiles(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, prometheusRule))
	if err != nil {
		t.Fatal(err)
	}
	var pr struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Spec       struct {
			Groups []struct {
				Name  string           `yaml:"name"`
				Rules []map[string]any `yaml:"rules"`
			} `yaml:"groups"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(b, &pr); err != nil {
		t.Fatal(err)
	}
	if pr.APIVersion != "monitoring.coreos.com/v1" || pr.Kind != "PrometheusRule" {
		t.Errorf("%s: %s %s", prometheusRule, pr.APIVersion, pr.Kind)
	}
	var want, got []string
	for _, g := range loadRules(t).groups {
		for _, r := range g.Rules {
			want = append(want, g.Name+"/"+r.Alert+r.Record+"/"+r.Expr)
		}
	}
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			name, _ := r["alert"].(string)
			if name == "" {
				name, _ = r["record"].(string)
			}
			expr, _ := r["expr"].(string)
			got = append(got, g.Name+"/"+name+"/"+expr)
		}
	}
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(want, "\n") != strings.Join(got, "\n") {
		t.Errorf("%s differs from the rule files:\nwant %q\ngot  %q", prometheusRule, want, got)
	}
}

var (
	grafanaInterval = regexp.MustCompile(`\$__(rate_interval|interval|range)`)
	labelValues     = regexp.MustCompile(`^label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$`)
)

type dashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID      int    `json:"id"`
		Type    string `json:"type"`
		Title   string `json:"title"`
		Targets []struct {
			Expr  string `json:"expr"`
			RefID string `json:"refId"`
		} `json:"targets"`
		Links []struct {
			URL string `json:"url"`
		} `json:"links"`
	} `json:"panels"`
}

func TestDashboards(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(root, dashboardGlob))
	if err != nil || len(files) < 2 {
		t.Fatalf("want at least two dashboards, got %v (%v)", files, err)
	}
	c := newChecker(t, loadRules(t).recorded)
	uids := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		base := filepath.Base(f)
		if d.UID == "" || len(d.UID) > 40 {
			t.Errorf("%s: uid %q must be set and at most 40 characters", base, d.UID)
		}
		if other, dup := uids[d.UID]; dup {
			t.Errorf("%s and %s share uid %s", base, other, d.UID)
		}
		uids[d.UID] = base
		vars := map[string]bool{}
		for _, v := range d.Templating.List {
			vars[v.Name] = true
			if v.Type != "query" {
				continue
			}
			m := labelValues.FindStringSubmatch(v.Definition)
			if m == nil {
				t.Errorf("%s: variable %s: not label_values(...): %q", base, v.Name, v.Definition)
				continue
			}
			c.check(base+" variable "+v.Name, m[1])
		}
		for _, want := range []string{"datasource", "namespace"} {
			if !vars[want] {
				t.Errorf("%s: no %s variable", base, want)
			}
		}
		ids := map[int]bool{}
		runbookLinks := 0
		for _, p := range d.Panels {
			if ids[p.ID] {
				t.Errorf("%s: panel id %d twice", base, p.ID)
			}
			ids[p.ID] = true
			for _, l := range p.Links {
				if strings.Contains(l.URL, "/runbooks/") {
					runbookLinks++
				}
			}
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", base, p.Title)
			}
			for _, tg := range p.Targets {
				c.check(base+" panel "+p.Title+" "+tg.RefID, grafanaInterval.ReplaceAllString(tg.Expr, "5m"))
			}
		}
		if runbookLinks == 0 {
			t.Errorf("%s: no panel links to a runbook", base)
		}
	}
}
