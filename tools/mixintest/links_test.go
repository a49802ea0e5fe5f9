package mixintest

// Every link the mixin generates, per configuration: the alerts'
// runbook_url and live_report_url, and every URL of the dashboards. The
// mixin is built here with jsonnet (mixin/build.jsonnet, as `make
// mixin-build` does) for each configuration, so the test covers what users
// generate with _config.exporterURL set, not only the committed default.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-jsonnet"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	promqlengine "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/template"
	"go.yaml.in/yaml/v3"
)

// linkConfigs are the configurations whose links are checked: the default
// (no address people reach the exporter at) and exporterURL set, with a
// path (an Ingress under a prefix), and with a trailing slash on a
// multi-cluster build (the $cluster variable in the links) that also turns
// KubeJobFailureCostHigh on.
var linkConfigs = []struct {
	name        string
	exporterURL string
	config      map[string]any
}{
	{name: "default"},
	{name: "exporterURL", exporterURL: "https://gw.example.com/kube-job-exporter"},
	// KubeJobFailureCostHigh turned on (off by default): its links too.
	{name: "exporterURL/ multi-cluster", exporterURL: "https://jobs.example.com/", config: map[string]any{"showMultiCluster": true, "failureCostThresholds": map[string]any{"cpu": 100}}},
}

// hostile is a label value as a tenant could write it if names were not
// validated: every character that ends or restarts a query value.
const hostile = "a&job_name=x#frag ?/%25+é"

func TestLinks(t *testing.T) {
	published := publishedRunbookPattern(t)
	params := exporterParams(t)
	runbooks := servedRunbooks(t)
	carried := alertLabelsInTests(t)
	for _, c := range linkConfigs {
		t.Run(c.name, func(t *testing.T) {
			files, cfg := buildMixin(t, c.exporterURL, c.config)
			if got := cfg["runbookURLPattern"]; got != published {
				t.Fatalf("_config.runbookURLPattern %v, want the runbooks published with the project, %s", got, published)
			}
			live := strings.TrimRight(c.exporterURL, "/")
			alerts := checkAlertLinks(t, files["alerts/kube-job-exporter-alerts.yaml"], published, live, params, runbooks, carried)
			checkPrometheusRuleLinks(t, files)
			checkDashboardLinks(t, files, published, live, params, runbooks, alerts)
			for name, content := range files {
				if strings.Contains(content, ".svc") {
					t.Errorf("%s links to an in-cluster address (.svc), which opens nowhere people read pages:\n%s", name, lineWith(content, ".svc"))
				}
				// Every absolute address is a published runbook or the
				// configured exporter; nothing else.
				for _, u := range absoluteURL.FindAllString(content, -1) {
					if !strings.HasPrefix(u, publishedDir(published)) && (live == "" || !strings.HasPrefix(u, live+"/runbooks/")) {
						t.Errorf("%s: link %s is neither a published runbook nor the exporter at %q", name, u, live)
					}
				}
			}
		})
	}
}

// The live page fills in every placeholder its runbook uses (<job-name>,
// <cronjob-name>, ...) from the query of live_report_url: a runbook uses
// only those its alert's query carries (mixin/README.md, Runbooks).
func TestLiveReportFillsRunbook(t *testing.T) {
	params := exporterParams(t)
	runbooks := servedRunbooks(t)
	files, _ := buildMixin(t, "https://jobs.example.com", nil)
	rgs, errs := rulefmt.Parse([]byte(files["alerts/kube-job-exporter-alerts.yaml"]), false, model.UTF8Validation, promql, slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, g := range rgs.Groups {
		for _, r := range g.Rules {
			lr, ok := r.Annotations["live_report_url"]
			if !ok {
				continue
			}
			for param, ph := range params {
				if strings.Contains(runbooks[r.Alert], ph) && !strings.Contains(lr, "?"+param+"=") && !strings.Contains(lr, "&"+param+"=") {
					t.Errorf("%s: the runbook uses %s, but live_report_url has no %s: it stays unfilled on the live page", r.Alert, ph, param)
				}
			}
		}
	}
}

var absoluteURL = regexp.MustCompile(`https?://[^\s"'<>]+`)

func lineWith(content, s string) string {
	for _, l := range strings.Split(content, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// publishedDir is the published runbooks' directory: the pattern without
// its file name.
func publishedDir(pattern string) string { return strings.TrimSuffix(pattern, "%s.md") }

// publishedRunbookPattern is where this repository publishes its runbooks,
// from the module path of the repository's go.mod: mixin/runbooks/ on its
// main branch.
func publishedRunbookPattern(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^module (github\.com/\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("go.mod: no github.com module path")
	}
	return "https://" + string(m[1]) + "/blob/main/mixin/runbooks/%s.md"
}

// exporterParams are the query parameters the exporter's runbook page
// fills its placeholders from (pages/runbooks.go, placeholders), with
// their placeholder.
func exporterParams(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "pages", "runbooks.go"))
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)var placeholders = map\[string\]string\{(.*?)\n\}`).FindSubmatch(b)
	if block == nil {
		t.Fatal("pages/runbooks.go: no placeholders map")
	}
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`"([a-z_]+)":\s*"(<[a-z-]+>)"`).FindAllSubmatch(block[1], -1) {
		out[string(m[1])] = string(m[2])
	}
	if out["namespace"] == "" || out["job_name"] == "" {
		t.Fatalf("pages/runbooks.go placeholders: %v, want namespace and job_name among them", out)
	}
	return out
}

// servedRunbooks are the runbooks the exporter serves: the Markdown files
// mixin/runbooks embeds (runbooks.go, //go:embed *.md), by alert name.
func servedRunbooks(t *testing.T) map[string]string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, "mixin", "runbooks", "runbooks.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^//go:embed \*\.md$`).Match(src) {
		t.Fatal("mixin/runbooks/runbooks.go no longer embeds *.md: say here which runbooks the exporter serves")
	}
	files, _ := filepath.Glob(filepath.Join(root, "mixin", "runbooks", "*.md"))
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".md")] = string(b)
	}
	if len(out) == 0 {
		t.Fatal("no runbooks in mixin/runbooks")
	}
	return out
}

// alertLabelsInTests returns, per alert name, the label sets the promtool
// tests (mixin/tests/) expect its alerts to have: what promtool proved the
// expressions give.
func alertLabelsInTests(t *testing.T) map[string][]map[string]string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(root, "mixin", "tests", "*.yaml"))
	// And the tests of the rules generated with overrides (alerts the
	// defaults leave out).
	overrides, _ := filepath.Glob(filepath.Join(root, "mixin", "tests", "overrides", "*.yaml"))
	files = append(files, overrides...)
	out := map[string][]map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Tests []struct {
				AlertRuleTest []struct {
					Alertname string `yaml:"alertname"`
					ExpAlerts []struct {
						ExpLabels map[string]string `yaml:"exp_labels"`
					} `yaml:"exp_alerts"`
				} `yaml:"alert_rule_test"`
			} `yaml:"tests"`
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, tc := range doc.Tests {
			for _, a := range tc.AlertRuleTest {
				for _, e := range a.ExpAlerts {
					out[a.Alertname] = append(out[a.Alertname], e.ExpLabels)
				}
			}
		}
	}
	return out
}

// buildMixin evaluates mixin/build.jsonnet as `make mixin-build
// EXPORTER_URL=... MIXIN_CONFIG=...` does (jsonnet -J mixin -S -m), and
// returns the files it writes and the _config they were built with.
func buildMixin(t *testing.T, exporterURL string, config map[string]any) (map[string]string, map[string]any) {
	t.Helper()
	mixinDir := filepath.Join(root, "mixin")
	cfgJSON := "{}"
	if config != nil {
		b, err := json.Marshal(config)
		if err != nil {
			t.Fatal(err)
		}
		cfgJSON = string(b)
	}
	vm := func() *jsonnet.VM {
		vm := jsonnet.MakeVM()
		vm.Importer(&jsonnet.FileImporter{JPaths: []string{mixinDir}})
		vm.TLAVar("exporterURL", exporterURL)
		vm.TLAVar("config", cfgJSON)
		return vm
	}
	v := vm()
	v.StringOutput = true
	files, err := v.EvaluateFileMulti(filepath.Join(mixinDir, "build.jsonnet"))
	if err != nil {
		t.Fatalf("jsonnet mixin/build.jsonnet (exporterURL=%q, config=%s): %v", exporterURL, cfgJSON, err)
	}
	// The same _config build.jsonnet merges: mixin.libsonnet's, exporterURL,
	// then config as a merge patch.
	raw, err := vm().EvaluateAnonymousSnippet("config.jsonnet", `
function(exporterURL='', config='{}')
  local base = (import 'mixin.libsonnet') + (if exporterURL == '' then {} else { _config+:: { exporterURL: exporterURL } });
  std.mergePatch(base._config, std.parseJson(config))`)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatal(err)
	}
	return files, cfg
}

// liveQueryPart is one parameter of live_report_url's query: the label of
// the same name, URL-escaped by the template.
var liveQueryPart = regexp.MustCompile(`^([a-z_]+)=\{\{ \$labels\.([a-z_]+) \| urlquery \}\}$`)

// checkAlertLinks checks runbook_url and live_report_url of every alert and
// returns the alert names.
func checkAlertLinks(t *testing.T, content, published, live string, params, runbooks map[string]string, carried map[string][]map[string]string) map[string]bool {
	t.Helper()
	rgs, errs := rulefmt.Parse([]byte(content), false, model.UTF8Validation, promql, slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		t.Fatalf("generated alerts: %v", errs)
	}
	names := map[string]bool{}
	withLive := 0
	for _, g := range rgs.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			name := r.Alert
			names[name] = true
			if got, want := r.Annotations["runbook_url"], fmt.Sprintf(published, name); got != want {
				t.Errorf("%s: runbook_url %q, want the published runbook %s", name, got, want)
			}
			if _, ok := runbooks[name]; !ok {
				t.Errorf("%s: no mixin/runbooks/%s.md: runbook_url and the exporter's page would be 404", name, name)
			}
			lr, has := r.Annotations["live_report_url"]
			// The exporter's own alerts never link to it: it may be the
			// one that is down.
			wantLive := live != "" && !strings.HasPrefix(name, "KubeJobExporter")
			if has != wantLive {
				t.Errorf("%s: live_report_url present %v, want %v (exporterURL %q): %q", name, has, wantLive, live, lr)
			}
			if !has {
				continue
			}
			withLive++
			checkLiveReportURL(t, name, lr, live, params, carried[name])
		}
	}
	if len(names) < 20 {
		t.Fatalf("only %d alerts in the generated rules", len(names))
	}
	if live != "" && withLive == 0 {
		t.Error("exporterURL is set, and no alert has live_report_url")
	}
	return names
}

// checkLiveReportURL: <exporterURL>/runbooks/<Alert>?<identity labels>,
// each label value URL-escaped by the template (proven by expanding it
// with Prometheus' own template engine on a hostile value), each label one
// the exporter's page reads and one the alert carries.
func checkLiveReportURL(t *testing.T, name, lr, live string, params map[string]string, carried []map[string]string) {
	t.Helper()
	prefix := live + "/runbooks/" + name + "?"
	if !strings.HasPrefix(lr, prefix) {
		t.Errorf("%s: live_report_url %q, want %s...", name, lr, prefix)
		return
	}
	var keys []string
	for _, part := range strings.Split(strings.TrimPrefix(lr, prefix), "&") {
		m := liveQueryPart.FindStringSubmatch(part)
		if m == nil || m[1] != m[2] {
			t.Errorf("%s: live_report_url query part %q, want name={{ $labels.name | urlquery }}", name, part)
			continue
		}
		keys = append(keys, m[1])
		if _, ok := params[m[1]]; !ok {
			t.Errorf("%s: live_report_url has %s, which the exporter's runbook page does not read (pages/runbooks.go placeholders)", name, m[1])
		}
	}
	if !slices.Contains(keys, "namespace") {
		t.Errorf("%s: live_report_url %q has no namespace", name, lr)
	}
	identities := 0
	for _, k := range keys {
		if k != "namespace" {
			identities++
		}
	}
	if identities != 1 {
		t.Errorf("%s: live_report_url %q names %d objects (job_name, cronjob or owner_name), want one", name, lr, identities)
	}
	// The alert carries every label of the query (else the page opens
	// without its report): in every alert its promtool tests expect.
	if len(carried) == 0 {
		t.Errorf("%s: no promtool test (mixin/tests) expects the alert, so nothing proves it carries %v", name, keys)
	}
	for _, ls := range carried {
		for _, k := range keys {
			if ls[k] == "" {
				t.Errorf("%s: live_report_url needs label %s, but an alert its tests expect has none: %v", name, k, ls)
			}
		}
	}
	// Expanded as Prometheus expands it, a hostile value stays one value.
	labels := map[string]string{"alertname": name}
	for _, k := range keys {
		labels[k] = hostile + k
	}
	exp := template.NewTemplateExpander(context.Background(), "{{ $labels := .Labels }}"+lr, "live_report_url",
		template.AlertTemplateData(labels, nil, "", promqlengine.Sample{}), 0, nil, nil, nil)
	got, err := exp.Expand()
	if err != nil {
		t.Errorf("%s: expanding live_report_url: %v", name, err)
		return
	}
	u, err := url.Parse(got)
	if err != nil {
		t.Errorf("%s: live_report_url expands to %q, not a URL: %v", name, got, err)
		return
	}
	if u.Fragment != "" || strings.TrimSuffix(got, "?"+u.RawQuery) != live+"/runbooks/"+name {
		t.Errorf("%s: live_report_url expands to %q: a label value escaped the query", name, got)
	}
	q := u.Query()
	if len(q) != len(keys) {
		t.Errorf("%s: live_report_url expands to %d query parameters, want %d: %q", name, len(q), len(keys), got)
	}
	for _, k := range keys {
		if vs := q[k]; len(vs) != 1 || vs[0] != hostile+k {
			t.Errorf("%s: live_report_url's %s reads back as %q, want %q: %q", name, k, vs, hostile+k, got)
		}
	}
}

// The PrometheusRule carries the same rules, so the same links (the rule
// files' checks above cover it).
func checkPrometheusRuleLinks(t *testing.T, files map[string]string) {
	t.Helper()
	var pr struct {
		Spec struct {
			Groups []struct {
				Rules []map[string]any `yaml:"rules"`
			} `yaml:"groups"`
		} `yaml:"spec"`
	}
	var ar struct {
		Groups []struct {
			Rules []map[string]any `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal([]byte(files["alerts/kube-job-exporter-prometheusrule.yaml"]), &pr); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(files["alerts/kube-job-exporter-alerts.yaml"]), &ar); err != nil {
		t.Fatal(err)
	}
	annotations := func(groups []struct {
		Rules []map[string]any `yaml:"rules"`
	}) map[string]any {
		out := map[string]any{}
		for _, g := range groups {
			for _, r := range g.Rules {
				if a, ok := r["alert"].(string); ok {
					out[a] = r["annotations"]
				}
			}
		}
		return out
	}
	got, want := annotations(pr.Spec.Groups), annotations(ar.Groups)
	for a, w := range want {
		if fmt.Sprint(got[a]) != fmt.Sprint(w) {
			t.Errorf("PrometheusRule %s: annotations %v, want those of the rule file, %v", a, got[a], w)
		}
	}
}

// grafanaVar is a variable reference in a URL: ${name}, ${name:format},
// or $name.
var grafanaVar = regexp.MustCompile(`\$\{([^}:]+)(?::[a-z]+)?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// Grafana's own variables a link may use.
var grafanaBuiltins = map[string]bool{"__url_time_range": true, "__from": true, "__to": true}

type dashboardInfo struct {
	uid  string
	vars map[string]bool
}

// checkDashboardLinks: every URL in every dashboard (dashboard links,
// panel links, data links in field overrides) is either a Grafana-relative
// /d/<uid> of a generated dashboard, or a runbook link per configuration:
// live pages when exporterURL is set, else the published runbooks. Every
// variable a link uses exists.
func checkDashboardLinks(t *testing.T, files map[string]string, published, live string, params, runbooks map[string]string, alerts map[string]bool) {
	t.Helper()
	dashboards := map[string]map[string]any{}
	byUID := map[string]dashboardInfo{}
	for name, content := range files {
		if !strings.HasPrefix(name, "dashboards/") {
			continue
		}
		var d map[string]any
		if err := json.Unmarshal([]byte(content), &d); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		dashboards[name] = d
		info := dashboardInfo{uid: fmt.Sprint(d["uid"]), vars: map[string]bool{}}
		if tl, ok := d["templating"].(map[string]any); ok {
			for _, v := range asList(tl["list"]) {
				if m, ok := v.(map[string]any); ok {
					info.vars[fmt.Sprint(m["name"])] = true
				}
			}
		}
		byUID[info.uid] = info
	}
	if len(dashboards) < 2 {
		t.Fatalf("%d dashboards generated, want at least 2", len(dashboards))
	}
	names := make([]string, 0, len(dashboards))
	for n := range dashboards {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		d := dashboards[name]
		self := byUID[fmt.Sprint(d["uid"])]
		var drill, runbook int
		walkLinks(d, nil, func(u string, panel map[string]any) {
			where := name
			if panel != nil {
				where += fmt.Sprintf(" panel %q", panel["title"])
			}
			// Variables: the dashboard's own, Grafana's, or a field of
			// the panel's data (a label its queries keep).
			for _, m := range grafanaVar.FindAllStringSubmatch(u, -1) {
				v := m[1] + m[2]
				switch {
				case grafanaBuiltins[v] || self.vars[v]:
				case strings.HasPrefix(v, "__data.fields."):
					field := strings.TrimPrefix(v, "__data.fields.")
					if panel == nil || !panelHasLabel(panel, field) {
						t.Errorf("%s: link %s uses field %s, which no query of the panel has", where, u, field)
					}
				default:
					t.Errorf("%s: link %s uses $%s, not a variable of the dashboard (%v)", where, u, v, keys(self.vars))
				}
			}
			switch {
			case strings.HasPrefix(u, "/d/"):
				drill++
				path, query, _ := strings.Cut(strings.TrimPrefix(u, "/d/"), "?")
				target, ok := byUID[strings.Split(path, "/")[0]]
				if !ok {
					t.Errorf("%s: link %s: no generated dashboard has uid %s", where, u, path)
					return
				}
				for _, p := range strings.Split(query, "&") {
					k, _, _ := strings.Cut(p, "=")
					if v, ok := strings.CutPrefix(k, "var-"); ok && !target.vars[v] {
						t.Errorf("%s: link %s sets var-%s, which dashboard %s does not have (%v)", where, u, v, target.uid, keys(target.vars))
					}
				}
			case live != "":
				runbook++
				rest, ok := strings.CutPrefix(u, live+"/runbooks/")
				if !ok {
					t.Errorf("%s: link %s, want a live page at %s/runbooks/ (exporterURL is set)", where, u, live)
					return
				}
				alert, query, _ := strings.Cut(rest, "?")
				checkLinkedAlert(t, where, u, alert, alerts, runbooks)
				for _, p := range strings.Split(query, "&") {
					if p == "" {
						continue
					}
					k, v, _ := strings.Cut(p, "=")
					if _, ok := params[k]; !ok {
						t.Errorf("%s: link %s passes %s, which the exporter's runbook page does not read", where, u, k)
					}
					if !grafanaVar.MatchString(v) {
						t.Errorf("%s: link %s: %s=%s is not a Grafana variable", where, u, k, v)
					}
				}
			default:
				runbook++
				rest, ok := strings.CutPrefix(u, publishedDir(published))
				if !ok {
					t.Errorf("%s: link %s, want a published runbook (%s...) or /d/<uid>", where, u, publishedDir(published))
					return
				}
				if rest == "" {
					return // the index
				}
				alert, ok := strings.CutSuffix(rest, ".md")
				if !ok {
					t.Errorf("%s: link %s: a published runbook is <Alert>.md, without a query", where, u)
					return
				}
				checkLinkedAlert(t, where, u, alert, alerts, runbooks)
			}
		})
		if drill == 0 || runbook == 0 {
			t.Errorf("%s: %d drill-down and %d runbook links found: the walk over the dashboard no longer finds its links", name, drill, runbook)
		}
	}
}

// checkLinkedAlert: a runbook link names an alert of the generated rules
// whose runbook exists, the index (""), or the alert of a table row.
func checkLinkedAlert(t *testing.T, where, u, alert string, alerts map[string]bool, runbooks map[string]string) {
	t.Helper()
	switch {
	case alert == "" || alert == "${__data.fields.alertname}":
	case !alerts[alert]:
		t.Errorf("%s: link %s: no alert %s in the generated rules", where, u, alert)
	default:
		if _, ok := runbooks[alert]; !ok {
			t.Errorf("%s: link %s: no runbook mixin/runbooks/%s.md", where, u, alert)
		}
	}
}

// walkLinks calls f with every "url" string of the dashboard, with the
// panel it is in (nil: the dashboard's own links).
func walkLinks(v any, panel map[string]any, f func(u string, panel map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["targets"]; ok {
			panel = x
		} else if x["type"] == "row" {
			panel = nil
		}
		for k, c := range x {
			if s, ok := c.(string); ok && k == "url" {
				f(s, panel)
				continue
			}
			walkLinks(c, panel, f)
		}
	case []any:
		for _, c := range x {
			walkLinks(c, panel, f)
		}
	}
}

// panelHasLabel: a query of the panel names the label (a field of its
// table).
func panelHasLabel(panel map[string]any, label string) bool {
	re := regexp.MustCompile(`\b` + regexp.QuoteMeta(label) + `\b`)
	for _, tg := range asList(panel["targets"]) {
		if m, ok := tg.(map[string]any); ok && re.MatchString(fmt.Sprint(m["expr"])) {
			return true
		}
	}
	return false
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
