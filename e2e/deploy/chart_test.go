package deploy

// The Helm chart charts/kube-job-exporter: lint and render every variant
// with the pinned helm (chart_helm_test.go), apply what it renders to the
// real API server (dry run) with the checks the kustomize manifests get,
// and compare its default install with `kubectl apply -k deploy/`.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// chartVariant is a set of values (a file in the chart's ci/ directory, the
// chart-testing convention, or none for the defaults) and what rendering
// it must give.
type chartVariant struct {
	name string // ci/<name>-values.yaml; "default": no file
	// namespaces: --watch.namespaces, and the only namespaces with RBAC grants.
	namespaces []string
	// roles: Roles in those namespaces instead of the ClusterRole.
	roles bool
	// shards: a StatefulSet of that many pods instead of the Deployment.
	shards int
	// webConfig: --web.config.file and the health port.
	webConfig bool
	// podMetrics: --collector.pod-metrics (and, checkRBAC, its
	// metrics.k8s.io rule).
	podMetrics bool
	// kueue: --collector.kueue (and, checkRBAC, its kueue.x-k8s.io rule).
	kueue bool
	// promNamespace, promNames: the NetworkPolicy admits pods with
	// app.kubernetes.io/name in promNames from promNamespace.
	promNamespace string
	promNames     []string
	// extraPeer, when set, is admitted too (networkPolicy.extraFrom).
	extraPeer *source
	// exporterURL: the address the alerts' live_report_url and the
	// dashboards' runbook links point at ("": published runbooks only).
	exporterURL string
	// monitorNamespace: the ServiceMonitor's namespace ("": none);
	// ruleNamespace the PrometheusRule's, dashboardNamespace the dashboard
	// ConfigMaps', with dashboardLabel "key=value".
	monitorNamespace, ruleNamespace, dashboardNamespace, dashboardLabel string
}

var chartVariants = []chartVariant{
	{name: "default", promNamespace: "monitoring", promNames: []string{"prometheus"}},
	{name: "namespaced", namespaces: []string{"team-a", "team-b"}, roles: true, promNamespace: "monitoring", promNames: []string{"prometheus"}},
	{name: "sharded", shards: 3, promNamespace: "monitoring", promNames: []string{"prometheus"}},
	{name: "prometheus-operator", promNamespace: "monitoring", promNames: []string{"prometheus"},
		monitorNamespace: "monitoring", ruleNamespace: "monitoring", dashboardNamespace: "monitoring", dashboardLabel: "grafana_dashboard=1"},
	{name: "web-config", webConfig: true, promNamespace: "monitoring", promNames: []string{"prometheus"}, monitorNamespace: "monitoring"},
	{name: "networkpolicy", promNamespace: "observability", promNames: []string{"prometheus", "alloy"},
		extraPeer: &source{"ingress controller", "ingress-nginx", map[string]string{"app.kubernetes.io/name": "ingress-nginx"}}},
	{name: "everything", namespaces: []string{"team-a", "team-b"}, shards: 2, webConfig: true, podMetrics: true, kueue: true,
		promNamespace: "monitoring", promNames: []string{"prometheus"},
		monitorNamespace: "observability", ruleNamespace: "observability", dashboardNamespace: "observability", dashboardLabel: "my_dashboard=yes",
		exporterURL: "https://jobs.example.com/kube-job-exporter"},
}

func (v chartVariant) args() []string {
	if v.name == "default" {
		return nil
	}
	return []string{"-f", filepath.Join(chartRel, "ci", v.name+"-values.yaml")}
}

// Every values file in ci/ is a variant of chartVariants (so that a new
// one is rendered, applied and checked), and each exists.
func TestChartVariantsListed(t *testing.T) {
	files, _ := filepath.Glob(chartDir("ci", "*-values.yaml"))
	listed := map[string]bool{}
	for _, v := range chartVariants {
		listed[v.name] = true
		if v.name == "default" {
			continue
		}
		if _, err := os.Stat(chartDir("ci", v.name+"-values.yaml")); err != nil {
			t.Errorf("variant %s: %v", v.name, err)
		}
	}
	for _, f := range files {
		if n := strings.TrimSuffix(filepath.Base(f), "-values.yaml"); !listed[n] {
			t.Errorf("%s is not in chartVariants: say what it must render", f)
		}
	}
}

// helm lint --strict passes for every variant (it also validates the
// values against values.schema.json), and the chart refuses what it
// must: unknown or mistyped values (the schema) and Roles without
// namespaces (a template check).
func TestChartLint(t *testing.T) {
	for _, v := range chartVariants {
		if out, err := runHelm(t, append([]string{"lint", "--strict", chartRel}, v.args()...)...); err != nil {
			t.Errorf("%s: %v\n%s", v.name, err, out)
		}
	}
	for _, c := range []struct {
		flag, value, want string
	}{
		{"--set", "imagee.tag=v1", "additional properties 'imagee' not allowed"},
		{"--set", "image.pullPolicy=Sometimes", "pullPolicy"},
		{"--set", "image.digest=latest", "digest"},
		{"--set", "sharding.shards=0", "shards"},
		{"--set", "service.port=70000", "port"},
		{"--set", "extraArgs[0]=debug", "extraArgs"},
		{"--set-json", "networkPolicy.prometheus.podLabelValues=[]", "podLabelValues"},
		// --set's {} is a list of one empty string: admits nobody.
		{"--set", "networkPolicy.prometheus.podLabelValues={}", "podLabelValues"},
		// Gone: runbook_url is the published runbook; exporterURL adds the
		// live links.
		{"--set", "prometheusRule.runbookBaseURL=https://runbooks.example.com", "additional properties 'runbookBaseURL' not allowed"},
		{"--set", "exporterURL=jobs.example.com", "exporterURL"},
		// What a YAML or JSON string, a template or a Grafana variable
		// would read, and a query the appended paths would land in.
		{"--set", "exporterURL=https://jobs.example.com/$namespace", "exporterURL"},
		{"--set", "exporterURL=https://jobs.example.com/\"x", "exporterURL"},
		{"--set", "exporterURL=https://jobs.example.com/?a=b", "exporterURL"},
		{"--set", "rbac.useClusterRole=false", "rbac.useClusterRole=false needs namespaces"},
		// The collector without its RBAC rule: podMetrics.enabled grants both.
		{"--set", "extraArgs[0]=--collector.pod-metrics", "set podMetrics.enabled=true"},
		{"--set", "extraArgs[0]=--collector.pod-metrics=true", "set podMetrics.enabled=true"},
		{"--set", "extraArgs[0]=--collector.kueue", "set kueue.enabled=true"},
		{"--set", "extraArgs[0]=--collector.kueue=true", "set kueue.enabled=true"},
		{"--set", "kueue.enabled=yes", "kueue"},
	} {
		_, err := renderChart(t, chartRelease, "monitoring", c.flag, c.value)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: error %v, want one mentioning %q", c.flag, c.value, err, c.want)
		}
	}
}

// Every object of every variant is accepted by the real API server
// (server-side apply, dry run, strict field validation; the
// prometheus-operator CRDs installed), passes the checks the kustomize
// manifests get (RBAC, workload, restricted Pod Security), and has the
// shape its values ask for.
func TestChartManifests(t *testing.T) {
	ctx := context.Background()
	a := newApplier(t)
	installCRDs(t, a)
	for _, ns := range []string{"monitoring", "team-a", "team-b", "observability"} {
		ensureNamespace(t, ns, nil)
	}
	for _, v := range chartVariants {
		t.Run(v.name, func(t *testing.T) {
			objs := mustRender(t, chartRelease, "monitoring", v.args()...)
			for _, o := range objs {
				if err := a.apply(ctx, o, true); err != nil {
					t.Errorf("server-side apply (dry run) rejected: %v", err)
				}
				if o.GetKind() != "ClusterRole" && o.GetKind() != "ClusterRoleBinding" && o.GetNamespace() == "" {
					t.Errorf("%s %s has no namespace: `helm template | kubectl apply` would put it in kubectl's", o.GetKind(), o.GetName())
				}
				if o.GetLabels()["app.kubernetes.io/instance"] != chartRelease || o.GetLabels()["app.kubernetes.io/managed-by"] != "Helm" {
					t.Errorf("%s %s labels %v: want app.kubernetes.io/instance and managed-by", o.GetKind(), o.GetName(), o.GetLabels())
				}
			}
			checkRBAC(t, objs)
			checkWorkload(t, objs)
			checkRestricted(t, objs)
			checkChartRBACShape(t, v, objs)
			checkChartWorkload(t, v, objs)
			checkChartNetworkPolicy(t, v, objs)
			checkChartMonitoring(t, v, objs)
		})
	}
}

// checkChartRBACShape: cluster-wide grants only without namespaces; with
// them a binding in each watched namespace and nowhere else, to a Role
// there or to the ClusterRole.
func checkChartRBACShape(t *testing.T, v chartVariant, objs []*unstructured.Unstructured) {
	t.Helper()
	watched := flagValue(t, objs, "--watch.namespaces")
	if got := strings.Join(v.namespaces, ","); watched != got {
		t.Errorf("--watch.namespaces=%q, want %q", watched, got)
	}
	nsOf := func(kind string) []string {
		var out []string
		for _, o := range ofKind(objs, kind) {
			out = append(out, o.GetNamespace())
		}
		slices.Sort(out)
		return out
	}
	count := func(kind string) int { return len(ofKind(objs, kind)) }
	switch {
	case len(v.namespaces) == 0:
		if count("ClusterRole") != 1 || count("ClusterRoleBinding") != 1 || count("Role")+count("RoleBinding") != 0 {
			t.Errorf("watching all namespaces: want one ClusterRole and ClusterRoleBinding only, got %d, %d, %d Roles, %d RoleBindings",
				count("ClusterRole"), count("ClusterRoleBinding"), count("Role"), count("RoleBinding"))
		}
	default:
		if count("ClusterRoleBinding") != 0 {
			t.Errorf("watching %v: a ClusterRoleBinding grants every namespace", v.namespaces)
		}
		if got := nsOf("RoleBinding"); !slices.Equal(got, v.namespaces) {
			t.Errorf("RoleBindings in %v, want exactly %v", got, v.namespaces)
		}
		wantKind := "ClusterRole"
		if v.roles {
			wantKind = "Role"
			if got := nsOf("Role"); !slices.Equal(got, v.namespaces) || count("ClusterRole") != 0 {
				t.Errorf("Roles in %v and %d ClusterRoles, want Roles in exactly %v and no cluster-scoped object", got, count("ClusterRole"), v.namespaces)
			}
		} else if count("ClusterRole") != 1 || count("Role") != 0 {
			t.Errorf("%d ClusterRoles, %d Roles: want the ClusterRole, bound per namespace", count("ClusterRole"), count("Role"))
		}
		for _, o := range ofKind(objs, "RoleBinding") {
			var b rbacv1.RoleBinding
			into(t, o, &b)
			if b.RoleRef.Kind != wantKind || b.RoleRef.Name != "kube-job-exporter" {
				t.Errorf("RoleBinding %s/%s refers to %s %s, want %s kube-job-exporter", b.Namespace, b.Name, b.RoleRef.Kind, b.RoleRef.Name, wantKind)
			}
		}
	}
}

// checkChartWorkload: Deployment or sharded StatefulSet, and the flags
// each mode needs.
func checkChartWorkload(t *testing.T, v chartVariant, objs []*unstructured.Unstructured) {
	t.Helper()
	if v.shards == 0 {
		if n := len(ofKind(objs, "StatefulSet")); n != 0 {
			t.Errorf("%d StatefulSets without sharding", n)
		}
		d := deployment(t, objs)
		if deref(d.Spec.Replicas) != 1 {
			t.Errorf("Deployment replicas %d, want 1 (more would report every series twice)", deref(d.Spec.Replicas))
		}
		for _, f := range []string{"--watch.shard", "--watch.total-shards"} {
			if flagValue(t, objs, f) != "" {
				t.Errorf("%s set without sharding", f)
			}
		}
	} else {
		if n := len(ofKind(objs, "Deployment")); n != 0 {
			t.Errorf("sharded, but %d Deployments too: every Job would be reported twice", n)
		}
		var s appsv1.StatefulSet
		into(t, find(t, objs, "StatefulSet", "kube-job-exporter"), &s)
		if deref(s.Spec.Replicas) != int32(v.shards) || flagValue(t, objs, "--watch.total-shards") != fmt.Sprint(v.shards) || flagValue(t, objs, "--watch.shard") != "auto" {
			t.Errorf("StatefulSet replicas %d, --watch.total-shards=%q, --watch.shard=%q: want %d, %d, auto (each pod's ordinal is its shard)",
				deref(s.Spec.Replicas), flagValue(t, objs, "--watch.total-shards"), flagValue(t, objs, "--watch.shard"), v.shards, v.shards)
		}
		find(t, objs, "Service", s.Spec.ServiceName)
	}
	if got := flagValue(t, objs, "--web.config.file") != ""; got != v.webConfig {
		t.Errorf("--web.config.file set: %v, want %v", got, v.webConfig)
	}
	if got := hasFlag(t, objs, "--collector.pod-metrics"); got != v.podMetrics {
		t.Errorf("--collector.pod-metrics set: %v, want %v", got, v.podMetrics)
	}
	if got := hasFlag(t, objs, "--collector.kueue"); got != v.kueue {
		t.Errorf("--collector.kueue set: %v, want %v", got, v.kueue)
	}
}

// checkChartNetworkPolicy: the NetworkPolicy selects the exporter's pods
// and admits port 9847 from the configured Prometheus pods (and extra
// peer) only: not from other namespaces, not other pods, not other ports.
func checkChartNetworkPolicy(t *testing.T, v chartVariant, objs []*unstructured.Unstructured) {
	t.Helper()
	nps := ofKind(objs, "NetworkPolicy")
	if len(nps) != 1 {
		t.Fatalf("%d NetworkPolicies, want one", len(nps))
	}
	var np networkingv1.NetworkPolicy
	into(t, nps[0], &np)
	d := deployment(t, objs)
	pod, ports := d.Spec.Template.Labels, d.Spec.Template.Spec.Containers[0].Ports
	if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}) || np.Namespace != d.Namespace {
		t.Errorf("NetworkPolicy %s/%s policyTypes %v: want [Ingress] in the exporter's namespace %s", np.Namespace, np.Name, np.Spec.PolicyTypes, d.Namespace)
	}
	prom := func(name string) map[string]string {
		l := copyLabels(prometheusPod)
		l["app.kubernetes.io/name"] = name
		return l
	}
	cases := []struct {
		src  source
		port int32
		want bool
	}{
		{source{"grafana", v.promNamespace, map[string]string{"app.kubernetes.io/name": "grafana"}}, metricsPort, false},
		{source{"prometheus elsewhere", "default", prometheusPod}, metricsPort, false},
		{source{"another exporter pod", d.Namespace, pod}, metricsPort, false},
		{source{"unlabelled pod", v.promNamespace, nil}, metricsPort, false},
	}
	for _, n := range v.promNames {
		cases = append(cases, struct {
			src  source
			port int32
			want bool
		}{source{n, v.promNamespace, prom(n)}, metricsPort, true})
		for _, p := range ports {
			if p.ContainerPort != metricsPort {
				cases = append(cases, struct {
					src  source
					port int32
					want bool
				}{source{n + ", port " + p.Name, v.promNamespace, prom(n)}, p.ContainerPort, false})
			}
		}
	}
	if v.extraPeer != nil {
		cases = append(cases, struct {
			src  source
			port int32
			want bool
		}{*v.extraPeer, metricsPort, true})
	}
	for _, c := range cases {
		got, ok := admits(t, &np, pod, ports, c.src, c.port, corev1.ProtocolTCP)
		if !ok {
			t.Fatalf("NetworkPolicy podSelector %v does not isolate the exporter's pods %v", np.Spec.PodSelector, pod)
		}
		if got != c.want {
			t.Errorf("%s (namespace %s, labels %v) → %d: admitted %v, want %v", c.src.name, c.src.nsName, c.src.podLabels, c.port, got, c.want)
		}
	}
}

func copyLabels(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// checkChartMonitoring: the ServiceMonitor scrapes the Service (in its
// namespace, by its labels, with honorLabels, job="kube-job-exporter"), the
// PrometheusRule carries the mixin's alerts, the dashboards carry the
// sidecar label; each only where the variant asks for it.
func checkChartMonitoring(t *testing.T, v chartVariant, objs []*unstructured.Unstructured) {
	t.Helper()
	var svc corev1.Service
	into(t, find(t, objs, "Service", "kube-job-exporter"), &svc)
	if sms := ofKind(objs, "ServiceMonitor"); v.monitorNamespace == "" {
		if len(sms) != 0 {
			t.Errorf("%d ServiceMonitors, want none", len(sms))
		}
	} else {
		var sm monitoringv1.ServiceMonitor
		into(t, find(t, objs, "ServiceMonitor", "kube-job-exporter"), &sm)
		if sm.Namespace != v.monitorNamespace {
			t.Errorf("ServiceMonitor in %q, want %q", sm.Namespace, v.monitorNamespace)
		}
		if sm.Namespace != svc.Namespace && !slices.Contains(sm.Spec.NamespaceSelector.MatchNames, svc.Namespace) {
			t.Errorf("ServiceMonitor in %s does not look in the Service's namespace %s (namespaceSelector %+v)", sm.Namespace, svc.Namespace, sm.Spec.NamespaceSelector)
		}
		sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(svc.Labels)) {
			t.Errorf("ServiceMonitor selector %v does not select the Service's labels %v", sm.Spec.Selector, svc.Labels)
		}
		if sm.Spec.JobLabel == "" || svc.Labels[sm.Spec.JobLabel] != "kube-job-exporter" {
			t.Errorf("ServiceMonitor jobLabel %q gives job=%q, the mixin selects job=\"kube-job-exporter\"", sm.Spec.JobLabel, svc.Labels[sm.Spec.JobLabel])
		}
		if len(sm.Spec.Endpoints) != 1 || !sm.Spec.Endpoints[0].HonorLabels || sm.Spec.Endpoints[0].Port != svc.Spec.Ports[0].Name {
			t.Errorf("ServiceMonitor endpoints %+v: want one, on port %s, with honorLabels", sm.Spec.Endpoints, svc.Spec.Ports[0].Name)
		}
		if v.webConfig && len(sm.Spec.Endpoints) == 1 && (sm.Spec.Endpoints[0].Scheme == nil || !strings.EqualFold(string(*sm.Spec.Endpoints[0].Scheme), "https")) {
			t.Errorf("with the web config the scrape must use https, got scheme %v", sm.Spec.Endpoints[0].Scheme)
		}
	}
	if prs := ofKind(objs, "PrometheusRule"); v.ruleNamespace == "" {
		if len(prs) != 0 {
			t.Errorf("%d PrometheusRules, want none", len(prs))
		}
	} else {
		var pr monitoringv1.PrometheusRule
		into(t, find(t, objs, "PrometheusRule", "kube-job-exporter"), &pr)
		if pr.Namespace != v.ruleNamespace || len(pr.Spec.Groups) == 0 {
			t.Errorf("PrometheusRule in %q with %d groups, want it in %q", pr.Namespace, len(pr.Spec.Groups), v.ruleNamespace)
		}
		checkRuleLinks(t, pr, v.exporterURL)
	}
	cms := ofKind(objs, "ConfigMap")
	if v.dashboardNamespace == "" {
		if len(cms) != 0 {
			t.Errorf("%d ConfigMaps, want none", len(cms))
		}
		return
	}
	dash, _ := filepath.Glob(filepath.Join(repoRoot, "dashboards", "*.json"))
	if len(cms) != len(dash) {
		t.Errorf("%d dashboard ConfigMaps, want one per file of dashboards/ (%d)", len(cms), len(dash))
	}
	key, val, _ := strings.Cut(v.dashboardLabel, "=")
	for _, o := range cms {
		if o.GetLabels()[key] != val || o.GetNamespace() != v.dashboardNamespace {
			t.Errorf("ConfigMap %s/%s labels %v: want %s=%q in %s", o.GetNamespace(), o.GetName(), o.GetLabels(), key, val, v.dashboardNamespace)
		}
		var cm corev1.ConfigMap
		into(t, o, &cm)
		for file, data := range cm.Data {
			checkDashboardURLs(t, cm.Name+" "+file, data, v.exporterURL)
		}
	}
}

// checkRuleLinks: runbook_url of every alert is its published runbook;
// live_report_url is there exactly with an exporterURL, on every alert but
// the exporter's own, at <exporterURL>/runbooks/<Alert>?...
func checkRuleLinks(t *testing.T, pr monitoringv1.PrometheusRule, exporterURL string) {
	t.Helper()
	published, err := harness.PublishedRunbookPattern()
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimRight(exporterURL, "/")
	var alerts, live int
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts++
			if got, want := r.Annotations["runbook_url"], fmt.Sprintf(published, r.Alert); got != want {
				t.Errorf("%s: runbook_url %q, want the published runbook %s", r.Alert, got, want)
			}
			lr, has := r.Annotations["live_report_url"]
			want := base != "" && !strings.HasPrefix(r.Alert, "KubeJobExporter")
			if has != want {
				t.Errorf("%s: live_report_url present %v, want %v (exporterURL %q): %q", r.Alert, has, want, exporterURL, lr)
				continue
			}
			if has {
				live++
				if prefix := base + "/runbooks/" + r.Alert + "?namespace="; !strings.HasPrefix(lr, prefix) {
					t.Errorf("%s: live_report_url %q, want %s...", r.Alert, lr, prefix)
				}
			}
		}
	}
	if alerts == 0 || (base != "" && live == 0) {
		t.Errorf("PrometheusRule: %d alerts, %d with live_report_url", alerts, live)
	}
}

// dashboardURL is a link of a dashboard's JSON.
var dashboardURL = regexp.MustCompile(`"url": "([^"]*)"`)

// checkDashboardURLs: every link of the dashboard is Grafana-relative
// (/d/<uid>), or a runbook link: the live pages at exporterURL when it is
// set, else the published runbooks. Nothing points in-cluster or at the
// placeholder the chart replaces.
func checkDashboardURLs(t *testing.T, what, data, exporterURL string) {
	t.Helper()
	published, err := harness.PublishedRunbookPattern()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSuffix(published, "%s.md")
	if base := strings.TrimRight(exporterURL, "/"); base != "" {
		want = base + "/runbooks/"
	}
	runbooks := 0
	for _, m := range dashboardURL.FindAllStringSubmatch(data, -1) {
		switch u := m[1]; {
		case strings.HasPrefix(u, "/d/"):
		case strings.HasPrefix(u, want):
			runbooks++
		default:
			t.Errorf("%s: link %s, want /d/<uid> or %s...", what, u, want)
		}
	}
	if runbooks == 0 {
		t.Errorf("%s: no runbook link at %s", what, want)
	}
	for _, s := range append([]string{".svc"}, placeholders(t)...) {
		if strings.Contains(data, s) {
			t.Errorf("%s contains %s", what, s)
		}
	}
}

// `helm install --dry-run=server` against the real API server: Helm's own
// install path (its release bookkeeping, its ordering and its own
// server-side dry run of every object) accepts the chart, and the NOTES
// it prints name the release's objects. Another release name than
// deploy/'s: Helm refuses to take over the objects other tests create.
func TestChartHelmInstall(t *testing.T) {
	a := newApplier(t)
	installCRDs(t, a)
	for _, ns := range []string{"monitoring", "team-a", "team-b", "observability"} {
		ensureNamespace(t, ns, nil)
	}
	for _, v := range []string{"default", "everything"} {
		args := append([]string{"install", "notes", chartRel, "--namespace", "monitoring", "--dry-run=server", "--kubeconfig", cluster.Kubeconfig()},
			chartVariant{name: v}.args()...)
		out, err := runHelm(t, args...)
		if err != nil {
			t.Errorf("%s: %v", v, err)
			continue
		}
		for _, want := range []string{"STATUS: pending-install", "NOTES:", "port-forward svc/notes-kube-job-exporter 9847"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: helm install output lacks %q:\n%.2000s", v, want, out)
			}
		}
	}
}

// The sharded StatefulSet's flags work with the real exporter: run with a
// shard's pod name in $HOSTNAME (what a StatefulSet pod gets), each
// replica reports the ordinal of its name and the chart's shard count.
func TestChartShardFlags(t *testing.T) {
	v := chartVariants[slices.IndexFunc(chartVariants, func(v chartVariant) bool { return v.name == "sharded" })]
	objs := mustRender(t, chartRelease, "monitoring", v.args()...)
	var args []string
	for _, a := range deployment(t, objs).Spec.Template.Spec.Containers[0].Args {
		// The harness picks the listen address.
		if !strings.HasPrefix(a, "--web.listen-address=") {
			args = append(args, a)
		}
	}
	ctx := context.Background()
	for _, ordinal := range []int{0, v.shards - 1} {
		initial, maxDelay := cluster.JobBackoff()
		e, err := harness.StartExporter(ctx, harness.ExporterOptions{
			Binary: exporterBin, Kubeconfig: cluster.Kubeconfig(), BackoffInitial: initial, BackoffMax: maxDelay,
			Args: args, Env: []string{fmt.Sprintf("HOSTNAME=kube-job-exporter-%d", ordinal)},
		})
		if err != nil {
			t.Fatalf("exporter with the StatefulSet's args %v: %v", args, err)
		}
		p := &proc{Exporter: e, out: &lockedLog{}}
		var m *harness.Metrics
		err = harness.Eventually(ctx, 30*time.Second, func(ctx context.Context) (bool, string, error) {
			var err error
			m, err = p.scrape(ctx)
			return err == nil, fmt.Sprint(err), nil
		})
		p.Stop()
		if err != nil {
			t.Fatal(err)
		}
		shard, _ := m.Value("kubejob_exporter_shard_ordinal", nil)
		total, _ := m.Value("kubejob_exporter_total_shards", nil)
		if int(shard) != ordinal || int(total) != v.shards {
			t.Errorf("pod kube-job-exporter-%d: shard %v of %v, want %d of %d", ordinal, shard, total, ordinal, v.shards)
		}
	}
}

// The PrometheusRule and the dashboards are the mixin's, per
// configuration and whatever the release, namespace and port: without
// exporterURL the generated files of the repository (alerts/,
// dashboards/), byte for byte; with it what `make mixin-build
// EXPORTER_URL=<it>` generates. Every link has the address it should
// (checkRuleLinks, checkDashboardURLs).
func TestChartGeneratedContent(t *testing.T) {
	const exporterURL = "https://jobs.example.com/kube-job-exporter"
	gen := t.TempDir()
	if _, err := harness.GenerateMixin(context.Background(), gen, exporterURL, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, release, ns, exporterURL string
		set                            []string
		generated                      string // the mixin's output it must equal
	}{
		{"default", chartRelease, "monitoring", "", nil, repoRoot},
		{"another release, namespace and port", "batch", "observability", "", []string{"service.port=9000"}, repoRoot},
		{"exporterURL", chartRelease, "monitoring", exporterURL, []string{"exporterURL=" + exporterURL}, gen},
		// A trailing slash, as the mixin takes it too.
		{"exporterURL/, another release", "batch", "observability", exporterURL, []string{"exporterURL=" + exporterURL + "/", "service.port=9000"}, gen},
	} {
		t.Run(c.name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(c.generated, "alerts", "kube-job-exporter-prometheusrule.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			var generated monitoringv1.PrometheusRule
			if err := yaml.UnmarshalStrict(raw, &generated); err != nil {
				t.Fatal(err)
			}
			args := []string{"--set", "prometheusRule.enabled=true,grafanaDashboards.enabled=true"}
			for _, s := range c.set {
				args = append(args, "--set", s)
			}
			objs := mustRender(t, c.release, c.ns, args...)
			prs := ofKind(objs, "PrometheusRule")
			if len(prs) != 1 {
				t.Fatalf("%d PrometheusRules, want one", len(prs))
			}
			var pr monitoringv1.PrometheusRule
			into(t, prs[0], &pr)
			if !equality.Semantic.DeepEqual(pr.Spec, generated.Spec) {
				t.Errorf("the PrometheusRule's spec differs from the mixin's (exporterURL %q)", c.exporterURL)
			}
			checkRuleLinks(t, pr, c.exporterURL)
			cms := ofKind(objs, "ConfigMap")
			if len(cms) == 0 {
				t.Fatal("no dashboard ConfigMap")
			}
			for _, o := range cms {
				var cm corev1.ConfigMap
				into(t, o, &cm)
				for file, data := range cm.Data {
					want, err := os.ReadFile(filepath.Join(c.generated, "dashboards", file))
					if err != nil {
						t.Errorf("ConfigMap %s holds %s, which the mixin does not generate: %v", cm.Name, file, err)
						continue
					}
					if data != string(want) {
						t.Errorf("ConfigMap %s: %s differs from the mixin's (exporterURL %q)", cm.Name, file, c.exporterURL)
					}
					checkDashboardURLs(t, cm.Name+" "+file, data, c.exporterURL)
				}
			}
		})
	}
}

// chartDifferences are where the chart's default install differs from
// `kubectl apply -k deploy/` on purpose; TestChartMatchesKustomize checks
// everything else is the same.
var chartDifferences = []struct{ what, why string }{
	{"labels: the chart adds helm.sh/chart, app.kubernetes.io/instance, app.kubernetes.io/version and app.kubernetes.io/managed-by",
		"Helm's and the prometheus-community charts' conventions; every label deploy/ sets is also there with the same value (checked), so selectors written for deploy/ still match"},
	{"selectors (Deployment, Service, NetworkPolicy podSelector): app.kubernetes.io/name + instance instead of name + component",
		"two releases of the chart in one namespace must not select each other's pods"},
	{"ServiceMonitor selector: name + instance + component instead of name + component",
		"the same, for the scrape; only when both install one (not in the default install)"},
}

// The chart's default install and deploy/ render the same objects: the
// same kinds and names in the same namespace, the same RBAC rules and
// bindings, the same pod spec (image, args, ports, probes, resources,
// securityContext, scheduling), the same Service ports and NetworkPolicy
// rules; labels may only add to deploy/'s. chartDifferences lists the rest.
// The chart's namespaced variant and deploy/overlays/namespaced grant the
// same Roles in the same namespaces; podMetrics.enabled and
// components/pod-metrics the same metrics.k8s.io rule with the same flag,
// kueue.enabled and components/kueue the same kueue.x-k8s.io rule.
func TestChartMatchesKustomize(t *testing.T) {
	for _, d := range chartDifferences {
		t.Logf("differs on purpose: %s: %s", d.what, d.why)
	}
	kust := build(t, deployDir())
	chart := mustRender(t, chartRelease, "monitoring")
	key := func(o *unstructured.Unstructured) string {
		return o.GetKind() + " " + o.GetNamespace() + "/" + o.GetName()
	}
	var kk, ck []string
	for _, o := range kust {
		kk = append(kk, key(o))
	}
	for _, o := range chart {
		ck = append(ck, key(o))
	}
	slices.Sort(kk)
	slices.Sort(ck)
	if !slices.Equal(kk, ck) {
		t.Fatalf("objects differ:\ndeploy/: %v\nchart:   %v", kk, ck)
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	same := func(what string, k, c any) {
		t.Helper()
		if !equality.Semantic.DeepEqual(k, c) {
			t.Errorf("%s differs:\ndeploy/: %s\nchart:   %s", what, js(k), js(c))
		}
	}
	for _, ko := range kust {
		co := find(t, chart, ko.GetKind(), ko.GetName())
		for k, v := range ko.GetLabels() {
			if co.GetLabels()[k] != v {
				t.Errorf("%s: deploy/ labels it %s=%q, the chart %q", key(ko), k, v, co.GetLabels()[k])
			}
		}
		switch ko.GetKind() {
		case "ClusterRole":
			var kr, cr rbacv1.ClusterRole
			into(t, ko, &kr)
			into(t, co, &cr)
			same("ClusterRole rules", kr.Rules, cr.Rules)
		case "ClusterRoleBinding":
			var kb, cb rbacv1.ClusterRoleBinding
			into(t, ko, &kb)
			into(t, co, &cb)
			same("ClusterRoleBinding roleRef", kb.RoleRef, cb.RoleRef)
			same("ClusterRoleBinding subjects", kb.Subjects, cb.Subjects)
		case "ServiceAccount":
			var ks, cs corev1.ServiceAccount
			into(t, ko, &ks)
			into(t, co, &cs)
			same("ServiceAccount automountServiceAccountToken", ks.AutomountServiceAccountToken, cs.AutomountServiceAccountToken)
		case "Deployment":
			var kd, cd appsv1.Deployment
			into(t, ko, &kd)
			into(t, co, &cd)
			same("Deployment replicas", kd.Spec.Replicas, cd.Spec.Replicas)
			same("Deployment revisionHistoryLimit", kd.Spec.RevisionHistoryLimit, cd.Spec.RevisionHistoryLimit)
			same("Deployment strategy", kd.Spec.Strategy, cd.Spec.Strategy)
			for k, v := range kd.Spec.Template.Labels {
				if cd.Spec.Template.Labels[k] != v {
					t.Errorf("pod label %s: deploy/ %q, chart %q", k, v, cd.Spec.Template.Labels[k])
				}
			}
			same("pod annotations", kd.Spec.Template.Annotations, cd.Spec.Template.Annotations)
			kc, cc := kd.Spec.Template.Spec.Containers, cd.Spec.Template.Spec.Containers
			if len(kc) != 1 || len(cc) != 1 {
				t.Fatalf("containers: deploy/ %d, chart %d", len(kc), len(cc))
			}
			if kc[0].Image != cc[0].Image {
				t.Errorf("image: deploy/ %s, chart %s: the chart's appVersion must be deploy/base's newTag without the v (a release bumps both)", kc[0].Image, cc[0].Image)
			}
			same("container args", kc[0].Args, cc[0].Args)
			same("container ports", kc[0].Ports, cc[0].Ports)
			same("liveness probe", kc[0].LivenessProbe, cc[0].LivenessProbe)
			same("readiness probe", kc[0].ReadinessProbe, cc[0].ReadinessProbe)
			same("startup probe", kc[0].StartupProbe, cc[0].StartupProbe)
			same("container securityContext", kc[0].SecurityContext, cc[0].SecurityContext)
			same("pod securityContext", kd.Spec.Template.Spec.SecurityContext, cd.Spec.Template.Spec.SecurityContext)
			same("resources", kc[0].Resources, cc[0].Resources)
			// And the rest of the pod spec, whole: anything else one of
			// them sets (env, volumes, scheduling, service account, token
			// mount, service links, grace period) must be in the other.
			same("pod spec", kd.Spec.Template.Spec, cd.Spec.Template.Spec)
		case "Service":
			var ks, cs corev1.Service
			into(t, ko, &ks)
			into(t, co, &cs)
			same("Service type", ks.Spec.Type, cs.Spec.Type)
			same("Service ports", ks.Spec.Ports, cs.Spec.Ports)
		case "NetworkPolicy":
			var kn, cn networkingv1.NetworkPolicy
			into(t, ko, &kn)
			into(t, co, &cn)
			same("NetworkPolicy policyTypes", kn.Spec.PolicyTypes, cn.Spec.PolicyTypes)
			same("NetworkPolicy ingress", kn.Spec.Ingress, cn.Spec.Ingress)
			same("NetworkPolicy egress", kn.Spec.Egress, cn.Spec.Egress)
		default:
			t.Errorf("%s: no comparison for kind %s: add one", key(ko), ko.GetKind())
		}
	}

	// The namespaced variant (ci/namespaced-values.yaml) and
	// deploy/overlays/namespaced, podMetrics.enabled and
	// components/pod-metrics, and both at once: the same Roles,
	// RoleBindings and ClusterRoles (rules included) in the same
	// namespaces, and the same flags.
	namespaced := chartVariant{name: "namespaced"}.args()
	for _, c := range []struct {
		name  string
		kust  []*unstructured.Unstructured
		chart []string
	}{
		{"namespaced", build(t, deployDir("overlays", "namespaced")), namespaced},
		{"pod-metrics", kustomizeWith(t, "", []string{deployDir()}, deployDir("components", "pod-metrics")),
			[]string{"--set", "podMetrics.enabled=true"}},
		{"namespaced+pod-metrics", kustomizeWith(t, "", []string{deployDir("overlays", "namespaced")}, deployDir("components", "pod-metrics")),
			append([]string{"--set", "podMetrics.enabled=true"}, namespaced...)},
		{"kueue", kustomizeWith(t, "", []string{deployDir()}, deployDir("components", "kueue")),
			[]string{"--set", "kueue.enabled=true"}},
		{"namespaced+pod-metrics+kueue", kustomizeWith(t, "", []string{deployDir("overlays", "namespaced")},
			deployDir("components", "pod-metrics"), deployDir("components", "kueue")),
			append([]string{"--set", "podMetrics.enabled=true", "--set", "kueue.enabled=true"}, namespaced...)},
	} {
		sameRBAC(t, c.name, c.kust, mustRender(t, chartRelease, "monitoring", c.chart...))
	}
}

// sameRBAC: kustomize's kust and the chart's chart render the same Roles,
// RoleBindings, ClusterRoles and ClusterRoleBindings (names, namespaces,
// rules, roleRefs, subjects) and the same container args.
func sameRBAC(t *testing.T, what string, kust, chart []*unstructured.Unstructured) {
	t.Helper()
	key := func(o *unstructured.Unstructured) string {
		return o.GetKind() + " " + o.GetNamespace() + "/" + o.GetName()
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	same := func(field string, k, c any) {
		t.Helper()
		if !equality.Semantic.DeepEqual(k, c) {
			t.Errorf("%s: %s differs:\nkustomize: %s\nchart:     %s", what, field, js(k), js(c))
		}
	}
	kinds := []string{"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}
	for _, kind := range kinds {
		var kk, ck []string
		for _, o := range ofKind(kust, kind) {
			kk = append(kk, key(o))
		}
		for _, o := range ofKind(chart, kind) {
			ck = append(ck, key(o))
		}
		slices.Sort(kk)
		slices.Sort(ck)
		if !slices.Equal(kk, ck) {
			t.Errorf("%s: %ss differ:\nkustomize: %v\nchart:     %v", what, kind, kk, ck)
		}
	}
	for _, ko := range ofKind(kust, kinds...) {
		var co *unstructured.Unstructured
		for _, o := range ofKind(chart, ko.GetKind()) {
			if o.GetNamespace() == ko.GetNamespace() && o.GetName() == ko.GetName() {
				co = o
			}
		}
		if co == nil {
			continue // reported above
		}
		// A Role and a ClusterRole, a RoleBinding and a ClusterRoleBinding
		// have the same fields.
		if strings.HasSuffix(ko.GetKind(), "Role") {
			var kr, cr rbacv1.ClusterRole
			into(t, ko, &kr)
			into(t, co, &cr)
			same(key(ko)+" rules", kr.Rules, cr.Rules)
		} else {
			var kb, cb rbacv1.RoleBinding
			into(t, ko, &kb)
			into(t, co, &cb)
			same(key(ko)+" roleRef", kb.RoleRef, cb.RoleRef)
			same(key(ko)+" subjects", kb.Subjects, cb.Subjects)
		}
	}
	same("container args", deployment(t, kust).Spec.Template.Spec.Containers[0].Args, deployment(t, chart).Spec.Template.Spec.Containers[0].Args)
}

// valuesRow is a key in the Values table of the chart's README.
var valuesRow = regexp.MustCompile("(?m)^\\| `([^`]+)` \\|")

// The chart's README documents every key of values.yaml, and no key that
// is not there. An object is documented key by key where the chart reads
// its keys (values.schema.json lists its properties); one the chart passes
// to Kubernetes verbatim (resources, affinity, ...: no properties in the
// schema) is documented as a whole.
func TestChartValuesDocumented(t *testing.T) {
	readme, err := os.ReadFile(chartDir("README.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range valuesRow.FindAllStringSubmatch(string(readme), -1) {
		documented[m[1]] = true
	}
	var values map[string]any
	raw, err := os.ReadFile(chartDir("values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatal(err)
	}
	var schema schemaNode
	raw, err = os.ReadFile(chartDir("values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var walk func(prefix string, v map[string]any, s *schemaNode)
	walk = func(prefix string, v map[string]any, s *schemaNode) {
		for k, val := range v {
			path := prefix + k
			seen[path] = true
			var ps *schemaNode
			if s != nil {
				ps = s.Properties[k]
			}
			if ps == nil {
				t.Errorf("values.yaml key %s is not in values.schema.json", path)
			}
			if m, ok := val.(map[string]any); ok && ps != nil && len(ps.Properties) > 0 {
				walk(path+".", m, ps)
				continue
			}
			if !documented[path] {
				t.Errorf("values.yaml key %s is not documented in %s/README.md (a row \"| `%s` | default | description |\")", path, chartRel, path)
			}
		}
	}
	walk("", values, &schema)
	for k := range documented {
		if !seen[k] {
			t.Errorf("%s/README.md documents %s, which is not in values.yaml", chartRel, k)
		}
	}
	if len(documented) < 50 {
		t.Errorf("only %d documented keys found: is the README's Values table still in the \"| `key` | default | description |\" form?", len(documented))
	}
}

type schemaNode struct {
	Properties map[string]*schemaNode `json:"properties"`
}
