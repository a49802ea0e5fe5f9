package mixintest

// The rules of Grafana's dashboard-linter (github.com/grafana/dashboard-linter),
// which users run in CI over the dashboards they install, written as a test
// over the generated dashboards: the committed ones (the default _config) and
// a build with showMultiCluster, another cluster label and another scrape job
// (so a matcher hard-coded instead of taken from _config fails). The linter
// itself is not a dependency of this repository.
//
// Implemented, under the linter's names:
//   template-datasource-rule      one datasource variable, "datasource" / "Data source", of Prometheus
//   panel-datasource-rule         every panel, target and query variable reads ${datasource}
//   template-label-promql-rule    query variables are label_values(<valid selector>, <label>)
//   template-on-time-change-reload query variables refresh on time range change (2)
//   panel-title-description-rule  every panel has a title, every panel with queries a description
//   panel-units-rule              every panel with values has a unit Grafana knows
//   target-promql-rule            every target parses with Prometheus' parser
//   target-job-rule               every selector carries _config.kubeJobExporterSelector
//                                 (recorded series and ALERTS excepted, see jobExempt)
//   target-rate-interval-rule     ranges are $__rate_interval (exceptions in wholeRange)
//   target-counter-agg-rule       counters (_total) only in rate/irate/increase, or the
//                                 one counting idiom of the overview (see counterAggOK)
//   target-histogram-rule         _bucket series only under histogram_quantile
//   panel-no-targets-rule         every panel but a row has a query
// and this mixin's own:
//   cluster matcher               with showMultiCluster every selector, variable
//                                 queries included, carries <clusterLabel>=~"$cluster";
//                                 without it, no query names $cluster
//   variable labels               every variable has a label
//
// Skipped, and why:
//   template-job-rule, template-instance-rule: a `job` and an `instance`
//     variable. The scrape job is fixed by _config.kubeJobExporterSelector,
//     as in kubernetes-mixin (target-job-rule holds it on every selector);
//     and `job` is the Job drill-down's variable for the Job's name, the one
//     users type in links (var-job=...). An instance variable would show one
//     replica's view: replicas of a shard expose the same series (the panels
//     take `max` over them) and shards split the Jobs (the panels sum them),
//     so one instance is a partial answer to every question these
//     dashboards ask.
//   target-instance-rule: the same; the exporter's own panels aggregate
//     over every target on purpose (the Exporter stat is min(up): are all up).
//   uneditable-dashboard (gcx): the dashboards are provisioned (ConfigMaps,
//     the chart, grafana-dashboards), which Grafana does not let the UI save
//     over anyway; editable lets a reader open a panel's query to adapt it.
//   panel-time-interval-rule, panel-refresh-interval-rule: fixed defaults
//     (last hour, 5m). Here they are _config knobs (dashboardRefresh), and
//     6h shows a night's CronJob runs and a Job's whole backoff.

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-jsonnet"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
)

// A _config override that changes every matcher the dashboards take from
// _config, so that one hard-coded instead of configured fails.
const multiClusterConfig = `{"showMultiCluster": true, "clusterLabel": "k8s_cluster", "kubeJobExporterSelector": "job=\"batch-exporter\""}`

// Panels whose ranges are the dashboard's time range ($__range) by design:
// they answer "over the time range" (their descriptions say so), not "per
// interval". Any other range must be $__rate_interval.
var wholeRange = map[string]string{
	"Failed Jobs per owner":   "Jobs that failed over the selected time range",
	"Success ratio per owner": "Jobs that succeeded of those that finished over the selected time range",
	// What failed attempts held over the selected time range.
	"Failed GPU-hours per owner":      "GPU-hours of failed attempts",
	"Failed core-hours per owner":     "core-hours of failed attempts",
	"Failed GiB-hours per owner":      "GiB-hours of failed attempts",
	"Owners whose failures cost most": "resources held by failed attempts, per owner",
	"Owner's failed GPU-hours":        "GPU-hours of the Job's owner's failed attempts",
	"Owner's failed core-hours":       "core-hours of the Job's owner's failed attempts",
	"Owner's failed GiB-hours":        "GiB-hours of the Job's owner's failed attempts",
	// Kueue's evictions of the Job's owner's Workloads over the selected
	// time range.
	"Owner's evictions by reason": "evictions of the Job's owner's Workloads, by reason",
}

// The variable that lists the clusters cannot filter by itself.
const clusterVariable = "cluster"

// Units of Grafana's value formats (packages/grafana-data/src/valueFormats/
// categories.ts) that dashboards of this kind use. A unit outside it is a
// typo or one to check against that list before adding it here.
var grafanaUnits = map[string]bool{
	"none": true, "short": true, "percent": true, "percentunit": true,
	"s": true, "ms": true, "m": true, "h": true, "d": true, "dtdurations": true, "dtdurationms": true,
	"ops": true, "opm": true, "reqps": true, "cps": true, "cpm": true,
	"bytes": true, "decbytes": true,
	"dateTimeAsIso": true, "dateTimeAsIsoNoDateIfToday": true, "dateTimeFromNow": true,
	"bool": true, "bool_yes_no": true, "bool_on_off": true,
}

// Magic durations standing for Grafana's interval variables while parsing
// (the linter does the same): distinct, and no dashboard writes them.
var intervalVars = []struct {
	name string
	dur  time.Duration
}{
	{"$__rate_interval", 7*time.Hour + 7*time.Second},
	{"$__interval", 7*time.Hour + 8*time.Second},
	{"$__range", 7*time.Hour + 9*time.Second},
}

func durationOf(name string) time.Duration {
	for _, v := range intervalVars {
		if v.name == name {
			return v.dur
		}
	}
	panic(name)
}

// withIntervals replaces the interval variables by their magic durations,
// longest name first ($__rate_interval before $__range...).
func withIntervals(expr string) string {
	for _, v := range intervalVars {
		expr = strings.ReplaceAll(expr, "${"+strings.TrimPrefix(v.name, "$")+"}", model.Duration(v.dur).String())
		expr = strings.ReplaceAll(expr, v.name, model.Duration(v.dur).String())
	}
	return expr
}

type lintConfig struct {
	ExporterSelector string `json:"kubeJobExporterSelector"`
	ClusterLabel     string `json:"clusterLabel"`
	MultiCluster     bool   `json:"showMultiCluster"`
}

type lintBuild struct {
	name       string
	cfg        lintConfig
	job        []*labels.Matcher // the configured scrape selector
	recorded   map[string]bool
	dashboards map[string][]byte // file name -> JSON
}

func mixinVM(config string) *jsonnet.VM {
	vm := jsonnet.MakeVM()
	vm.Importer(&jsonnet.FileImporter{JPaths: []string{filepath.Join(root, "mixin")}})
	vm.TLAVar("config", config)
	return vm
}

// effectiveConfig evaluates the _config a build with these overrides uses,
// merged the way mixin/build.jsonnet merges them.
func effectiveConfig(t *testing.T, config string) lintConfig {
	t.Helper()
	vm := mixinVM(config)
	out, err := vm.EvaluateAnonymousSnippet("config.jsonnet", `function(config)
  local c = std.mergePatch((import 'mixin.libsonnet')._config, std.parseJson(config));
  { kubeJobExporterSelector: c.kubeJobExporterSelector, clusterLabel: c.clusterLabel, showMultiCluster: c.showMultiCluster }`)
	if err != nil {
		t.Fatal(err)
	}
	var c lintConfig
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func recordedIn(t *testing.T, name string, content []byte) map[string]bool {
	t.Helper()
	g, errs := rulefmt.Parse(content, false, model.UTF8Validation, promql, slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		t.Fatalf("%s: %v", name, errs)
	}
	rec := map[string]bool{}
	for _, grp := range g.Groups {
		for _, r := range grp.Rules {
			if r.Record != "" {
				rec[r.Record] = true
			}
		}
	}
	return rec
}

func newLintBuild(t *testing.T, name, config string, dashboards map[string][]byte, rules []byte) lintBuild {
	t.Helper()
	b := lintBuild{name: name, cfg: effectiveConfig(t, config), dashboards: dashboards, recorded: recordedIn(t, name+" rules", rules)}
	ms, err := promql.ParseMetricSelector("{" + b.cfg.ExporterSelector + "}")
	if err != nil || len(ms) == 0 {
		t.Fatalf("%s: kubeJobExporterSelector %q: %v", name, b.cfg.ExporterSelector, err)
	}
	b.job = ms
	if len(dashboards) < 2 {
		t.Fatalf("%s: want at least two dashboards, got %d", name, len(dashboards))
	}
	return b
}

// committedBuild is what users install: dashboards/ and alerts/ as committed.
func committedBuild(t *testing.T) lintBuild {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, dashboardGlob))
	if err != nil {
		t.Fatal(err)
	}
	ds := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ds[filepath.Base(f)] = b
	}
	rules, err := os.ReadFile(filepath.Join(root, ruleFiles[1]))
	if err != nil {
		t.Fatal(err)
	}
	return newLintBuild(t, "committed", "{}", ds, rules)
}

// generatedBuild runs mixin/build.jsonnet as `make mixin-build
// MIXIN_CONFIG=config` does.
func generatedBuild(t *testing.T, name, config string) lintBuild {
	t.Helper()
	vm := mixinVM(config)
	vm.StringOutput = true
	files, err := vm.EvaluateFileMulti(filepath.Join(root, "mixin", "build.jsonnet"))
	if err != nil {
		t.Fatal(err)
	}
	ds := map[string][]byte{}
	for f, content := range files {
		if base, ok := strings.CutPrefix(f, "dashboards/"); ok {
			ds[base] = []byte(content)
		}
	}
	return newLintBuild(t, name, config, ds, []byte(files[ruleFiles[1]]))
}

type lintDatasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type lintDashboard struct {
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name       string          `json:"name"`
			Label      string          `json:"label"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Definition string          `json:"definition"`
			Refresh    int             `json:"refresh"`
			Datasource *lintDatasource `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
	Panels []lintPanel `json:"panels"`
}

type lintPanel struct {
	ID          int             `json:"id"`
	Type        string          `json:"type"`
	Title       string          `json:"title"`
	Description string          `json:"description"`
	Datasource  *lintDatasource `json:"datasource"`
	Targets     []struct {
		Expr       string          `json:"expr"`
		RefID      string          `json:"refId"`
		Datasource *lintDatasource `json:"datasource"`
	} `json:"targets"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
		Overrides []struct {
			Properties []struct {
				ID    string `json:"id"`
				Value any    `json:"value"`
			} `json:"properties"`
		} `json:"overrides"`
	} `json:"fieldConfig"`
}

// Panel types that show values, so need a unit.
var valuePanels = map[string]bool{"stat": true, "timeseries": true, "gauge": true, "bargauge": true, "table": true}

func templatedDatasource(ds *lintDatasource) bool {
	return ds != nil && ds.Type == "prometheus" && (ds.UID == "${datasource}" || ds.UID == "$datasource")
}

// linter collects what breaks a rule, so that a test can also assert that
// a rule catches what it should.
type linter struct {
	b    lintBuild
	errs *[]string
}

func newLinter(b lintBuild) linter { return linter{b: b, errs: new([]string)} }

func (l linter) errorf(where, format string, args ...any) {
	*l.errs = append(*l.errs, fmt.Sprintf("%s %s: %s", l.b.name, where, fmt.Sprintf(format, args...)))
}

// jobExempt says why a selector need not carry the scrape job: recorded
// series (a colon in the name, per Prometheus' naming convention, and
// recorded by this build's rules: their own expressions carry the job,
// TestRuleExpressions checks it) and ALERTS carry the labels their rules
// keep, which the `by` clauses choose; `job` is not among them.
func (l linter) jobExempt(name string) bool {
	return name == "ALERTS" || (strings.Contains(name, ":") && l.b.recorded[name])
}

func hasMatcher(vs *parser.VectorSelector, want *labels.Matcher) bool {
	for _, m := range vs.LabelMatchers {
		if m.Name == want.Name && m.Type == want.Type && m.Value == want.Value {
			return true
		}
	}
	return false
}

// selectorsOf checks one expression's selectors: the job and cluster
// matchers; clusterOK false for the cluster variable's own query.
func (l linter) selectorsOf(where string, node parser.Expr, clusterOK bool) {
	cluster := &labels.Matcher{Name: l.b.cfg.ClusterLabel, Type: labels.MatchRegexp, Value: "$cluster"}
	for _, vs := range parser.ExtractSelectors(node) {
		sel := &parser.VectorSelector{LabelMatchers: vs}
		name := metricName(sel)
		if !l.jobExempt(name) {
			for _, m := range l.b.job {
				if !hasMatcher(sel, m) {
					l.errorf(where, "target-job-rule: %s lacks %s", sel, m)
				}
			}
		}
		if l.b.cfg.MultiCluster && clusterOK && !hasMatcher(sel, cluster) {
			l.errorf(where, "cluster matcher: %s lacks %s", sel, cluster)
		}
	}
}

func (l linter) parse(where, expr string) parser.Expr {
	e, err := promql.ParseExpr(withIntervals(expr))
	if err != nil {
		l.errorf(where, "target-promql-rule: %v\n  %s", err, expr)
		return nil
	}
	return e
}

// counterAggOK: a counter is read by rate, irate or increase; or, in the
// overview's counting idiom (`counted` in dashboards/overview.libsonnet),
// by `max_over_time(c[r]) unless c offset r` (the whole value of a series
// that began within the range, which increase() cannot see: it appears
// at 1) and as the operand `c offset r` of `and`/`unless`, which only
// tests that a series existed when the range began.
func counterAggOK(path []parser.Node, vs *parser.VectorSelector) bool {
	if len(path) >= 2 {
		if _, ok := path[len(path)-1].(*parser.MatrixSelector); ok {
			call, ok := path[len(path)-2].(*parser.Call)
			if !ok {
				return false
			}
			switch call.Func.Name {
			case "rate", "irate", "increase":
				return true
			case "max_over_time":
				if len(path) < 3 {
					return false
				}
				be, ok := path[len(path)-3].(*parser.BinaryExpr)
				return ok && be.Op == parser.LUNLESS && be.LHS == call
			}
			return false
		}
	}
	if len(path) >= 1 && vs.OriginalOffset > 0 {
		if be, ok := path[len(path)-1].(*parser.BinaryExpr); ok && be.RHS == vs {
			return be.Op == parser.LAND || be.Op == parser.LUNLESS
		}
	}
	return false
}

func (l linter) target(where, panel, expr string) {
	if strings.Contains(expr, "$cluster") != l.b.cfg.MultiCluster {
		l.errorf(where, "cluster matcher: $cluster in a query is %v, showMultiCluster %v:\n  %s", strings.Contains(expr, "$cluster"), l.b.cfg.MultiCluster, expr)
	}
	e := l.parse(where, expr)
	if e == nil {
		return
	}
	l.selectorsOf(where, e, true)
	_, rangeOK := wholeRange[panel]
	parser.Inspect(e, func(n parser.Node, path []parser.Node) error {
		switch n := n.(type) {
		case *parser.MatrixSelector:
			switch n.Range {
			case durationOf("$__rate_interval"):
			case durationOf("$__range"):
				if !rangeOK {
					l.errorf(where, "target-rate-interval-rule: a $__range range in a panel not about the time range (wholeRange): %s", n)
				}
			default:
				l.errorf(where, "target-rate-interval-rule: range %s, want $__rate_interval: %s", model.Duration(n.Range), n)
			}
		case *parser.SubqueryExpr:
			l.errorf(where, "target-rate-interval-rule: a subquery: %s", n)
		case *parser.VectorSelector:
			name := metricName(n)
			if strings.HasSuffix(name, "_total") && !counterAggOK(path, n) {
				l.errorf(where, "target-counter-agg-rule: counter %s not read by rate, irate or increase", n)
			}
			if strings.HasSuffix(name, "_bucket") {
				under := false
				for _, p := range path {
					if c, ok := p.(*parser.Call); ok && c.Func.Name == "histogram_quantile" {
						under = true
					}
				}
				if !under {
					l.errorf(where, "target-histogram-rule: %s outside histogram_quantile", n)
				}
			}
		}
		return nil
	})
}

func (l linter) dashboard(file string, content []byte) {
	var d lintDashboard
	if err := json.Unmarshal(content, &d); err != nil {
		l.errorf(file, "%v", err)
		return
	}
	datasources := 0
	for _, v := range d.Templating.List {
		where := fmt.Sprintf("%s variable %s", file, v.Name)
		if v.Label == "" {
			l.errorf(where, "variable labels: no label")
		}
		switch v.Type {
		case "datasource":
			datasources++
			var q string
			_ = json.Unmarshal(v.Query, &q)
			if v.Name != "datasource" || v.Label != "Data source" || q != "prometheus" {
				l.errorf(where, "template-datasource-rule: want name datasource, label \"Data source\", query prometheus; got %q, %q, %q", v.Name, v.Label, q)
			}
		case "query":
			if !templatedDatasource(v.Datasource) {
				l.errorf(where, "panel-datasource-rule: datasource %+v, want ${datasource}", v.Datasource)
			}
			if v.Refresh != 2 {
				l.errorf(where, "template-on-time-change-reload: refresh %d, want 2 (on time range change)", v.Refresh)
			}
			m := labelValuesDef.FindStringSubmatch(v.Definition)
			if m == nil {
				l.errorf(where, "template-label-promql-rule: not label_values(selector, label): %q", v.Definition)
				continue
			}
			var q struct {
				Query string `json:"query"`
			}
			if err := json.Unmarshal(v.Query, &q); err != nil || q.Query != v.Definition {
				l.errorf(where, "query %s differs from definition %q", v.Query, v.Definition)
			}
			if e := l.parse(where, m[1]); e != nil {
				l.selectorsOf(where, e, v.Name != clusterVariable)
			}
			if v.Name == clusterVariable && (m[2] != l.b.cfg.ClusterLabel || !l.b.cfg.MultiCluster) {
				l.errorf(where, "cluster matcher: the cluster variable lists %s (clusterLabel %s, showMultiCluster %v)", m[2], l.b.cfg.ClusterLabel, l.b.cfg.MultiCluster)
			}
		default:
			l.errorf(where, "variable of type %s", v.Type)
		}
	}
	if datasources != 1 {
		l.errorf(file, "template-datasource-rule: %d datasource variables, want 1", datasources)
	}
	queries := 0
	for _, p := range d.Panels {
		where := fmt.Sprintf("%s panel %q", file, p.Title)
		if p.Title == "" {
			l.errorf(fmt.Sprintf("%s panel id %d", file, p.ID), "panel-title-description-rule: no title")
		}
		if p.Type == "row" {
			continue
		}
		if strings.TrimSpace(p.Description) == "" {
			l.errorf(where, "panel-title-description-rule: no description")
		}
		if !templatedDatasource(p.Datasource) {
			l.errorf(where, "panel-datasource-rule: datasource %+v, want ${datasource}", p.Datasource)
		}
		if valuePanels[p.Type] {
			unit := p.FieldConfig.Defaults.Unit
			if !grafanaUnits[unit] {
				l.errorf(where, "panel-units-rule: unit %q", unit)
			}
			for _, o := range p.FieldConfig.Overrides {
				for _, pr := range o.Properties {
					if u, ok := pr.Value.(string); ok && pr.ID == "unit" && !grafanaUnits[u] {
						l.errorf(where, "panel-units-rule: override unit %q", u)
					}
				}
			}
		}
		if len(p.Targets) == 0 {
			l.errorf(where, "panel-no-targets-rule: no query")
		}
		for _, tg := range p.Targets {
			queries++
			tw := where + " " + tg.RefID
			if !templatedDatasource(tg.Datasource) {
				l.errorf(tw, "panel-datasource-rule: target datasource %+v, want ${datasource}", tg.Datasource)
			}
			l.target(tw, p.Title, tg.Expr)
		}
	}
	if queries == 0 {
		l.errorf(file, "no query")
	}
}

var labelValuesDef = regexp.MustCompile(`^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)

func TestDashboardLint(t *testing.T) {
	builds := []lintBuild{
		committedBuild(t),
		generatedBuild(t, "multi-cluster", multiClusterConfig),
	}
	if c := builds[1].cfg; !c.MultiCluster || c.ClusterLabel != "k8s_cluster" || c.ExporterSelector != `job="batch-exporter"` {
		t.Fatalf("multi-cluster build's _config: %+v", c)
	}
	for _, b := range builds {
		files := make([]string, 0, len(b.dashboards))
		for f := range b.dashboards {
			files = append(files, f)
		}
		sort.Strings(files)
		l := newLinter(b)
		for _, f := range files {
			l.dashboard(f, b.dashboards[f])
		}
		for _, e := range *l.errs {
			t.Error(e)
		}
	}
}

// The exceptions name panels that exist and say what they are about.
func TestDashboardLintExceptions(t *testing.T) {
	b := committedBuild(t)
	titles := map[string]string{}
	for f, content := range b.dashboards {
		var d lintDashboard
		if err := json.Unmarshal(content, &d); err != nil {
			t.Fatal(err)
		}
		for _, p := range d.Panels {
			titles[p.Title] = f + ": " + p.Description
		}
	}
	for title, why := range wholeRange {
		desc, ok := titles[title]
		if !ok {
			t.Errorf("wholeRange names panel %q, which no dashboard has", title)
			continue
		}
		if !strings.Contains(desc, "over the time range") {
			t.Errorf("panel %q (%s) is excepted from $__rate_interval (%s) but its description does not say it covers the time range", title, desc, why)
		}
	}
}

// The lint rules fail on what they are meant to catch, and let the
// overview's counting idiom pass.
func TestDashboardLintCatches(t *testing.T) {
	good := committedBuild(t)
	multi := good
	multi.cfg.MultiCluster = true
	const idiom = `(increase(kubejob_owner_jobs_finished_total{job="kube-job-exporter"}[$__range]) and kubejob_owner_jobs_finished_total{job="kube-job-exporter"} offset $__range) or (max_over_time(kubejob_owner_jobs_finished_total{job="kube-job-exporter"}[$__range]) unless kubejob_owner_jobs_finished_total{job="kube-job-exporter"} offset $__range)`
	for _, tc := range []struct {
		name        string
		b           lintBuild
		panel, expr string
		want        string // "" for no error
	}{
		{"no job matcher", good, "x", `sum(kubejob_failed{namespace=~"$namespace"})`, "target-job-rule"},
		{"another job", good, "x", `sum(kubejob_failed{job="other"})`, "target-job-rule"},
		{"fixed rate window", good, "x", `rate(kubejob_exporter_watch_errors_total{job="kube-job-exporter"}[5m])`, "target-rate-interval-rule"},
		{"window of changes()", good, "x", `changes(kubejob_last_failure_timestamp_seconds{job="kube-job-exporter"}[10m])`, "target-rate-interval-rule"},
		{"$__range outside its exceptions", good, "x", `increase(kubejob_exporter_watch_errors_total{job="kube-job-exporter"}[$__range])`, "target-rate-interval-rule"},
		{"raw counter", good, "x", `kubejob_exporter_watch_errors_total{job="kube-job-exporter"}`, "target-counter-agg-rule"},
		{"counter offset outside and/unless", good, "x", `kubejob_exporter_watch_errors_total{job="kube-job-exporter"} offset 1h`, "target-counter-agg-rule"},
		{"max_over_time of a counter outside the idiom", good, "x", `max_over_time(kubejob_exporter_watch_errors_total{job="kube-job-exporter"}[$__rate_interval])`, "target-counter-agg-rule"},
		{"bucket outside histogram_quantile", good, "x", `sum(rate(kubejob_exporter_scrape_duration_seconds_bucket{job="kube-job-exporter"}[$__rate_interval]))`, "target-histogram-rule"},
		{"unparsable", good, "x", `sum(`, "target-promql-rule"},
		{"a colon name no rule records", good, "x", `foo:bar:sum{namespace="a"}`, "target-job-rule"},
		{"$cluster without showMultiCluster", good, "x", `up{job="kube-job-exporter",cluster=~"$cluster"}`, "cluster matcher"},
		{"no cluster matcher", multi, "x", `max(up{job="kube-job-exporter"}) and on () max(up{job="kube-job-exporter",cluster=~"$cluster"})`, "cluster matcher"},
		{"recorded series without cluster", multi, "x", `sum(namespace_reason:kubejob_failed:count{namespace=~"$namespace"})`, "cluster matcher"},
		{"the counting idiom", good, "Failed Jobs per owner", idiom, ""},
		{"a recorded series", good, "x", `sum(namespace_reason:kubejob_failed:count{namespace=~"$namespace"})`, ""},
		{"a histogram", good, "x", `histogram_quantile(0.99, sum by (le) (rate(kubejob_exporter_scrape_duration_seconds_bucket{job="kube-job-exporter"}[$__rate_interval])))`, ""},
	} {
		l := newLinter(tc.b)
		l.target(tc.name, tc.panel, tc.expr)
		got := strings.Join(*l.errs, "\n")
		switch {
		case tc.want == "" && got != "":
			t.Errorf("%s: %s fails the lint: %s", tc.name, tc.expr, got)
		case tc.want != "" && !strings.Contains(got, tc.want):
			t.Errorf("%s: %s: want a %s error, got %q", tc.name, tc.expr, tc.want, got)
		}
	}
}

// Grafana variables in a panel query, for evaluation: $name, ${name}, not "$1".
var grafanaVariable = regexp.MustCompile(`\$\{(\w+)\}|\$([a-zA-Z_]\w*)`)

func substituteVariables(t *testing.T, expr string, vars map[string]string) string {
	t.Helper()
	return grafanaVariable.ReplaceAllStringFunc(expr, func(m string) string {
		sub := grafanaVariable.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		v, ok := vars[name]
		if !ok {
			t.Fatalf("no value for variable %s in %s", name, expr)
		}
		return v
	})
}

// panelExpr returns the expression of a committed dashboard's panel target.
func panelExpr(t *testing.T, file, title, refID string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "dashboards", file))
	if err != nil {
		t.Fatal(err)
	}
	var d lintDashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	for _, p := range d.Panels {
		if p.Title != title {
			continue
		}
		for _, tg := range p.Targets {
			if tg.RefID == refID {
				return tg.Expr
			}
		}
	}
	t.Fatalf("%s: no panel %q target %s", file, title, refID)
	return ""
}

// The failure panels, evaluated by Prometheus' engine over series shaped
// as the exporter exposes them: pods deleted while their Job ran are not
// failures; a failure counts whether or not its Job is still there (the
// owner's counter, also the first failure of an owner, whose series
// appears at 1); two replicas do not double it; nothing failed, nothing
// shown.
func TestDashboardFailurePanels(t *testing.T) {
	const (
		job  = `job="kube-job-exporter"`
		step = "1m"
	)
	// 21 samples, 0m to 20m: before the failures at 10m, then after.
	seq := func(before, after string) string {
		return strings.Repeat(before+" ", 10) + strings.Repeat(after+" ", 11)
	}
	series := func(labels, values string) string { return "  " + labels + " " + values + "\n" }
	var load strings.Builder
	load.WriteString("load " + step + "\n")
	for _, inst := range []string{"a", "b"} { // two replicas of shard 0
		load.WriteString(series(`kubejob_exporter_shard_ordinal{`+job+`,instance="`+inst+`"}`, seq("0", "0")))
		// A CronJob's pod fails with exit 1 at 10m; its counter existed.
		load.WriteString(series(`kubejob_owner_pod_failures_total{`+job+`,instance="`+inst+`",namespace="batch",owner_kind="CronJob",owner_name="nightly",reason="Error",exit_code="1"}`, seq("2", "3")))
		// Three of its pods deleted while their Job ran (a cancelled run).
		load.WriteString(series(`kubejob_owner_pod_failures_total{`+job+`,instance="`+inst+`",namespace="batch",owner_kind="CronJob",owner_name="nightly",reason="Deleted",exit_code=""}`, seq("0", "3")))
	}
	// An owner's first failure (its Job since deleted by a TTL): the
	// series appears at 1.
	load.WriteString(series(`kubejob_owner_pod_failures_total{`+job+`,instance="a",namespace="etl",owner_kind="Job",owner_name="import",reason="OOMKilled",exit_code="137"}`, seq("_", "1")))
	// A namespace whose only "failures" are deleted pods.
	load.WriteString(series(`kubejob_owner_pod_failures_total{`+job+`,instance="a",namespace="ops",owner_kind="Job",owner_name="cancelled",reason="Deleted",exit_code=""}`, seq("_", "2")))
	// Two failed Jobs present: one with a failed and a deleted pod, one
	// whose only pod was deleted.
	for _, j := range []string{"nightly-1", "cancel-me"} {
		load.WriteString(series(`kubejob_failed{`+job+`,instance="a",namespace="batch",job_name="`+j+`",reason="BackoffLimitExceeded"}`, seq("_", "1")))
		load.WriteString(series(`kubejob_pod_failures{`+job+`,instance="a",namespace="batch",job_name="`+j+`",container="",reason="Deleted",exit_code=""}`, seq("_", "1")))
	}
	load.WriteString(series(`kubejob_pod_failures{`+job+`,instance="a",namespace="batch",job_name="nightly-1",container="main",reason="Error",exit_code="1"}`, seq("_", "1")))
	// The recorded failed pods per namespace, reason and exit code.
	load.WriteString(series(`namespace_reason_exit_code:kubejob_pod_failures:sum{namespace="batch",reason="Error",exit_code="1"}`, seq("_", "1")))
	load.WriteString(series(`namespace_reason_exit_code:kubejob_pod_failures:sum{namespace="batch",reason="Deleted",exit_code=""}`, seq("_", "2")))

	storage := promqltest.LoadedStorage(t, load.String())
	t.Cleanup(func() { _ = storage.Close() })
	engine := promqltest.NewTestEngine(t, false, 0, promqltest.DefaultMaxSamplesPerQuery)
	at := func(m int) time.Time { return time.Unix(0, 0).Add(time.Duration(m) * time.Minute) }
	eval := func(expr string, ts time.Time) map[string]float64 {
		t.Helper()
		return evalInstant(t, engine, storage, expr, ts)
	}
	check := func(name string, got, want map[string]float64) {
		t.Helper()
		checkVector(t, name, got, want)
	}
	// Grafana's $__rate_interval for a 1m scrape interval: 4 scrapes.
	overview := map[string]string{"namespace": ".+", "cronjob": ".*", "__rate_interval": "4m"}
	const overviewFile = "kube-job-exporter-overview.json"
	// At 12m the rate interval (8m, 12m] holds the failures of 10m: the
	// CronJob's increase, extrapolated over the interval (1 over 3m of
	// samples: 4/3), once for both replicas; the new owner's 1. The deleted
	// pods count nowhere.
	newFailures := substituteVariables(t, panelExpr(t, overviewFile, "New pod failures", "A"), overview)
	check("New pod failures at 12m", eval(newFailures, at(12)), map[string]float64{
		`{namespace="batch"}`: 4.0 / 3,
		`{namespace="etl"}`:   1,
	})
	check("New pod failures at 20m", eval(newFailures, at(20)), map[string]float64{})
	perOwner := substituteVariables(t, panelExpr(t, overviewFile, "Pod failures per owner", "A"), overview)
	check("Pod failures per owner at 12m", eval(perOwner, at(12)), map[string]float64{
		`{exit_code="1", namespace="batch", owner_kind="CronJob", owner_name="nightly", reason="Error"}`: 4.0 / 3,
		`{exit_code="137", namespace="etl", owner_kind="Job", owner_name="import", reason="OOMKilled"}`:  1,
	})
	failing := substituteVariables(t, panelExpr(t, overviewFile, "Failing Jobs now", "A"), overview)
	check("Failing Jobs now", eval(failing, at(12)), map[string]float64{
		`{container="main", exit_code="1", job_name="nightly-1", namespace="batch", pod_reason="Error", reason="BackoffLimitExceeded"}`: 1,
		`{job_name="cancel-me", namespace="batch", reason="BackoffLimitExceeded"}`:                                                      1,
	})
	byReason := substituteVariables(t, panelExpr(t, overviewFile, "Failed pods by reason and exit code", "A"), overview)
	check("Failed pods by reason and exit code", eval(byReason, at(12)), map[string]float64{`{exit_code="1", reason="Error"}`: 1})
	drill := map[string]string{"namespace": "batch", "job": "nightly-1", "cronjob": ".*"}
	for _, title := range []string{"Pod failures by container, reason, exit code", "Failures now"} {
		expr := substituteVariables(t, panelExpr(t, "kube-job-exporter-job.json", title, "A"), drill)
		check(title, eval(expr, at(12)), map[string]float64{`{container="main", exit_code="1", reason="Error"}`: 1})
	}
}
