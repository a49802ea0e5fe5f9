package stack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
	"github.com/prometheus/common/model"
	"sigs.k8s.io/yaml"
)

// forScale divides the `for` of every alert of both mixins (kubernetes-mixin's
// fixture and this repository's generated rules), and nothing else: their
// 15m–1h cannot be waited out in CI, and one factor for all keeps every
// alert's order and distance relative to the others as in production (a
// minute of `for` is a second here: KubeJobFailed fires after 15s,
// KubeContainerWaiting after 60s, KubeJobPodsStuckWaiting after 15s).
// Expression ranges (KubePodCrashLooping's 5m, the recipe's 10m lookback)
// and keep_firing_for stay as shipped: they only make alerts last longer.
const forScale = 60

// Where the recipe and the fixture live, relative to the repository root.
const (
	recipeJsonnet = "mixin/kube-prometheus/kubernetes-mixin.libsonnet"
	recipeValues  = "mixin/kube-prometheus/kube-prometheus-stack-values.yaml"
	fixture       = "e2e/stack/testdata/kubernetes-mixin-jobs.libsonnet"
)

type ruleFile struct {
	Groups []ruleGroup `json:"groups"`
}

type ruleGroup struct {
	Name     string `json:"name"`
	Interval string `json:"interval,omitempty"`
	Rules    []rule `json:"rules"`
}

type rule struct {
	Alert         string            `json:"alert,omitempty"`
	Record        string            `json:"record,omitempty"`
	Expr          string            `json:"expr"`
	For           string            `json:"for,omitempty"`
	KeepFiringFor string            `json:"keep_firing_for,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// stackValues is the part of kube-prometheus-stack's values the recipe
// sets: the chart leaves out every default rule named in
// defaultRules.disabled, and renders each additionalPrometheusRulesMap
// entry as a PrometheusRule of its groups.
type stackValues struct {
	DefaultRules struct {
		Disabled map[string]bool `json:"disabled"`
	} `json:"defaultRules"`
	AdditionalPrometheusRulesMap map[string]ruleFile `json:"additionalPrometheusRulesMap"`
}

// ruleSets are kubernetes-mixin's rules in each form the tests compare,
// and the scaled rule files the two stacks run.
type ruleSets struct {
	fixture, viaValues, viaMixin, viaKubePrometheus ruleFile
	withRecipeFiles, withoutRecipeFiles             []string
}

// prepareRules renders the fixture, applies the recipe both ways, generates
// this repository's mixin (as e2e/pipeline does) and writes the scaled rule
// files of each stack into dir.
func prepareRules(ctx context.Context, dir, exporterAddr string) (*ruleSets, error) {
	root, err := harness.RepoRoot()
	if err != nil {
		return nil, err
	}
	rs := &ruleSets{}
	local := fmt.Sprintf("local fixture = import %q; local recipe = import %q; ", fixture, recipeJsonnet)
	for _, r := range []struct {
		dst  *ruleFile
		expr string
	}{
		{&rs.fixture, local + "fixture.prometheusAlerts"},
		{&rs.viaMixin, local + "(fixture + recipe.mixin).prometheusAlerts"},
		// kube-prometheus wraps kubernetes-mixin's groups in a PrometheusRule.
		{&rs.viaKubePrometheus, local + "({ kubernetesControlPlane: { prometheusRule: { spec: fixture.prometheusAlerts } } } + recipe.kubePrometheus).kubernetesControlPlane.prometheusRule.spec"},
	} {
		if *r.dst, err = jsonnetRules(ctx, root, r.expr); err != nil {
			return nil, err
		}
	}
	raw, err := os.ReadFile(filepath.Join(root, recipeValues))
	if err != nil {
		return nil, err
	}
	var v stackValues
	if err := yaml.UnmarshalStrict(raw, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", recipeValues, err)
	}
	rs.viaValues = applyValues(rs.fixture, v)

	ours, err := harness.GenerateMixin(ctx, filepath.Join(dir, "mixin"), "http://"+exporterAddr, nil, nil)
	if err != nil {
		return nil, err
	}
	var oursScaled []string
	for _, f := range ours {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var rf ruleFile
		if err := yaml.UnmarshalStrict(raw, &rf); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		p, err := writeScaled(dir, "ours-"+filepath.Base(f), rf)
		if err != nil {
			return nil, err
		}
		oursScaled = append(oursScaled, p)
	}
	with, err := writeScaled(dir, "kubernetes-mixin-with-recipe.yaml", rs.viaValues)
	if err != nil {
		return nil, err
	}
	without, err := writeScaled(dir, "kubernetes-mixin.yaml", rs.fixture)
	if err != nil {
		return nil, err
	}
	rs.withRecipeFiles = append([]string{with}, oursScaled...)
	rs.withoutRecipeFiles = append([]string{without}, oursScaled...)
	return rs, nil
}

// tool returns bin/<name> of the repository, built by make from the tools
// module's pin (tools/tools.mk) when missing or stale.
func tool(ctx context.Context, root, name string) (string, error) {
	mk := exec.CommandContext(ctx, "make", "--no-print-directory", "-C", root, "bin/"+name)
	// Not part of an outer make's jobserver (make e2e runs go test).
	for _, e := range os.Environ() {
		if k, _, _ := strings.Cut(e, "="); k != "MAKEFLAGS" && k != "MFLAGS" && k != "MAKELEVEL" {
			mk.Env = append(mk.Env, e)
		}
	}
	if out, err := mk.CombinedOutput(); err != nil {
		return "", fmt.Errorf("make bin/%s: %v\n%s", name, err, out)
	}
	return filepath.Join(root, "bin", name), nil
}

// jsonnetRules evaluates expr with bin/jsonnet in the repository root into
// rule groups.
func jsonnetRules(ctx context.Context, root, expr string) (ruleFile, error) {
	var rf ruleFile
	bin, err := tool(ctx, root, "jsonnet")
	if err != nil {
		return rf, err
	}
	cmd := exec.CommandContext(ctx, bin, "-J", root, "-e", expr)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		return rf, fmt.Errorf("jsonnet -e %q: %v\n%s", expr, err, stderr)
	}
	if err := yaml.UnmarshalStrict(out, &rf); err != nil {
		return rf, fmt.Errorf("jsonnet -e %q: %w", expr, err)
	}
	return rf, nil
}

// applyValues does what kube-prometheus-stack does with the recipe's
// values: every default rule named in defaultRules.disabled is left out,
// every additionalPrometheusRulesMap entry adds its groups (in key order;
// the chart renders one PrometheusRule per entry).
func applyValues(rf ruleFile, v stackValues) ruleFile {
	var out ruleFile
	for _, g := range rf.Groups {
		ng := g
		ng.Rules = nil
		for _, r := range g.Rules {
			if r.Alert == "" || !v.DefaultRules.Disabled[r.Alert] {
				ng.Rules = append(ng.Rules, r)
			}
		}
		out.Groups = append(out.Groups, ng)
	}
	keys := make([]string, 0, len(v.AdditionalPrometheusRulesMap))
	for k := range v.AdditionalPrometheusRulesMap {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out.Groups = append(out.Groups, v.AdditionalPrometheusRulesMap[k].Groups...)
	}
	return out
}

// writeScaled writes rf into dir/name with every `for` divided by forScale.
func writeScaled(dir, name string, rf ruleFile) (string, error) {
	return writeRules(dir, name, rf, forScale)
}

// writeRules writes rf into dir/name with every `for` divided by scale.
func writeRules(dir, name string, rf ruleFile, scale model.Duration) (string, error) {
	var out ruleFile
	for _, g := range rf.Groups {
		ng := g
		ng.Rules = append([]rule(nil), g.Rules...)
		for i, r := range ng.Rules {
			if r.For == "" {
				continue
			}
			d, err := model.ParseDuration(r.For)
			if err != nil {
				return "", fmt.Errorf("%s: %s: for %q: %w", name, r.Alert, r.For, err)
			}
			ng.Rules[i].For = (d / scale).String()
		}
		out.Groups = append(out.Groups, ng)
	}
	b, err := yaml.Marshal(out)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(dir, name)
	return p, os.WriteFile(p, b, 0o644)
}

// ruleKey is what a rule evaluates and routes on: its name, expression
// (whitespace aside), `for`, keep_firing_for and labels. Annotations are
// wording (the values snippet restates them in its own words).
func ruleKey(r rule) string {
	var labels []string
	for k, v := range r.Labels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	return fmt.Sprintf("%s%s for=%s keep=%s {%s}\n  %s", r.Alert, r.Record, r.For, r.KeepFiringFor,
		strings.Join(labels, ","), strings.Join(strings.Fields(r.Expr), " "))
}

// ruleKeys lists every rule of rf by ruleKey, sorted; groups aside (the
// values snippet's rules are in a PrometheusRule and group of their own).
func ruleKeys(t *testing.T, what string, rf ruleFile) []string {
	t.Helper()
	var keys []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" && (r.Annotations["summary"] == "" || r.Annotations["description"] == "") {
				t.Errorf("%s: %s lacks a summary or description", what, r.Alert)
			}
			keys = append(keys, ruleKey(r))
		}
	}
	sort.Strings(keys)
	return keys
}

func alertNames(rf ruleFile) []string {
	var names []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				names = append(names, r.Alert)
			}
		}
	}
	sort.Strings(names)
	return names
}

// The values snippet for kube-prometheus-stack and the jsonnet recipe for
// kube-prometheus (both its forms) make the same rules of kubernetes-mixin's:
// the stack with the recipe runs the values snippet's, so the page counts
// below hold for the jsonnet recipe too.
func TestRecipeFormsAgree(t *testing.T) {
	values := ruleKeys(t, recipeValues, rules.viaValues)
	for what, rf := range map[string]ruleFile{
		recipeJsonnet + " .mixin":          rules.viaMixin,
		recipeJsonnet + " .kubePrometheus": rules.viaKubePrometheus,
	} {
		got := ruleKeys(t, what, rf)
		if strings.Join(got, "\n") != strings.Join(values, "\n") {
			t.Errorf("%s and %s make different rules of the fixture:\n--- %s\n%s\n--- %s\n%s",
				what, recipeValues, what, strings.Join(got, "\n"), recipeValues, strings.Join(values, "\n"))
		}
	}
	// What the recipe does, named: two alerts gone, two restated without
	// the pods of Jobs, the rest (KubePodNotReady, other workloads' alerts)
	// untouched.
	want := "KubeContainerWaiting KubeDeploymentReplicasMismatch KubePodCrashLooping KubePodNotReady"
	if got := strings.Join(alertNames(rules.viaValues), " "); got != want {
		t.Errorf("alerts with the recipe: %s, want %s", got, want)
	}
	before := map[string]rule{}
	for _, g := range rules.fixture.Groups {
		for _, r := range g.Rules {
			before[r.Alert] = r
		}
	}
	for _, g := range rules.viaValues.Groups {
		for _, r := range g.Rules {
			b := before[r.Alert]
			switch r.Alert {
			case "KubeContainerWaiting", "KubePodCrashLooping":
				if !strings.Contains(r.Expr, strings.TrimSpace(b.Expr)) || !strings.Contains(r.Expr, `owner_kind="Job"`) {
					t.Errorf("%s with the recipe is not kubernetes-mixin's expression without the pods of Jobs:\n%s", r.Alert, r.Expr)
				}
				if r.For != b.For || ruleKey(rule{Labels: r.Labels}) != ruleKey(rule{Labels: b.Labels}) {
					t.Errorf("%s with the recipe: for %s labels %v, kubernetes-mixin's: for %s labels %v", r.Alert, r.For, r.Labels, b.For, b.Labels)
				}
			default:
				if ruleKey(r) != ruleKey(b) {
					t.Errorf("%s changed by the recipe:\n%s\nwas\n%s", r.Alert, ruleKey(r), ruleKey(b))
				}
			}
		}
	}
}

// Every inhibition of the Alertmanager configuration the stacks run pairs
// alerts of one cluster only.
func TestInhibitionsCarryCluster(t *testing.T) {
	p, err := harness.ExampleAlertmanagerConfig()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		InhibitRules []struct {
			SourceMatchers []string `json:"source_matchers"`
			Equal          []string `json:"equal"`
		} `json:"inhibit_rules"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.InhibitRules) == 0 {
		t.Fatalf("%s: no inhibit_rules", p)
	}
	for _, r := range cfg.InhibitRules {
		has := false
		for _, l := range r.Equal {
			has = has || l == "cluster"
		}
		if !has {
			t.Errorf("%s: the inhibition from %v has equal %v, without cluster", p, r.SourceMatchers, r.Equal)
		}
	}
}

// The rules kube-prometheus-stack runs with the values snippet, with their
// real `for`, under promtool's unit tests (testdata/recipe_rules_test.yaml):
// other workloads' pods still page, Jobs' pods never, also once deleted,
// with reasons that flip, and across a kube-state-metrics restart.
func TestRecipeRulesPromtool(t *testing.T) {
	ctx := context.Background()
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	promtool, err := tool(ctx, root, "promtool")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := writeRules(dir, "kubernetes-mixin-with-recipe.yaml", rules.viaValues, 1); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join("testdata", "recipe_rules_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	test := filepath.Join(dir, "recipe_rules_test.yaml")
	if err := os.WriteFile(test, src, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, promtool, "test", "rules", test).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
	t.Logf("promtool test rules:\n%s", out)
}
