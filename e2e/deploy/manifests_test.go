package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// variants are the kustomizations users apply: the shipped ones, and
// kustomizations written by the test the way docs/deploy.md tells users to
// write theirs: "all-components" adds every component to the base,
// "namespaced+pod-metrics" turns the pod metrics collector on in the
// namespaced overlay (its Roles, not a ClusterRole, get the rule), as
// "namespaced+kueue" the Kueue collector.
func variants(t *testing.T) map[string][]*unstructured.Unstructured {
	t.Helper()
	return map[string][]*unstructured.Unstructured{
		"deploy":                       build(t, deployDir()),
		"overlays/prometheus-operator": build(t, deployDir("overlays", "prometheus-operator")),
		"overlays/namespaced":          build(t, deployDir("overlays", "namespaced")),
		"all-components": kustomizeWith(t, "monitoring", []string{deployDir("base")},
			deployDir("components", "namespace"), deployDir("components", "prometheus-operator"),
			deployDir("components", "grafana-dashboards"), deployDir("components", "web-config"),
			deployDir("components", "pod-metrics"), deployDir("components", "kueue")),
		"namespaced+pod-metrics": kustomizeWith(t, "", []string{deployDir("overlays", "namespaced")},
			deployDir("components", "pod-metrics")),
		"namespaced+kueue": kustomizeWith(t, "", []string{deployDir("overlays", "namespaced")},
			deployDir("components", "kueue")),
	}
}

// kustomizeWith builds a kustomization, written to a temporary directory,
// of resources and components (absolute paths) and namespace ("": none).
func kustomizeWith(t *testing.T, namespace string, resources []string, components ...string) []*unstructured.Unstructured {
	t.Helper()
	dir := t.TempDir()
	list := func(paths []string) string {
		var b strings.Builder
		for _, p := range paths {
			r, err := filepath.Rel(dir, p)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "  - %s\n", r)
		}
		return b.String()
	}
	k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
	if namespace != "" {
		k += "namespace: " + namespace + "\n"
	}
	k += "resources:\n" + list(resources)
	if len(components) > 0 {
		k += "components:\n" + list(components)
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	return build(t, dir)
}

// installCRDs installs the prometheus-operator CRDs the components use
// (copied from the operator's module, the same version as the Go types in
// go.mod) and waits until they are served.
func installCRDs(t *testing.T, a *applier) {
	t.Helper()
	ctx := context.Background()
	files, _ := filepath.Glob("testdata/crds/*.yaml")
	if len(files) == 0 {
		t.Fatal("no CRDs in testdata/crds")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		if err := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096).Decode(&obj); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := a.apply(ctx, &unstructured.Unstructured{Object: obj}, false); err != nil {
			t.Fatalf("install CRD %s: %v", f, err)
		}
	}
	crd := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	for _, name := range []string{"servicemonitors.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com"} {
		err := harness.Eventually(ctx, time.Minute, func(ctx context.Context) (bool, string, error) {
			o, err := a.dyn.Resource(crd).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error(), nil
			}
			conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
			for _, c := range conds {
				m := c.(map[string]any)
				if m["type"] == "Established" && m["status"] == "True" {
					return true, "", nil
				}
			}
			return false, name + " not Established", nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	a.mapper.Reset()
}

func ensureNamespace(t *testing.T, name string, lbls map[string]string) {
	t.Helper()
	_, err := cluster.Client().CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// Every object of every kustomization is accepted by the API server
// (server-side apply, dry run, strict field validation), and the manifests
// say what docs/deploy.md promises.
func TestManifests(t *testing.T) {
	ctx := context.Background()
	a := newApplier(t)
	installCRDs(t, a)
	for _, ns := range []string{"monitoring", "team-a", "team-b"} {
		ensureNamespace(t, ns, nil)
	}
	all := variants(t)
	for name, objs := range all {
		t.Run(strings.ReplaceAll(name, "/", "_"), func(t *testing.T) {
			for _, o := range objs {
				if err := a.apply(ctx, o, true); err != nil {
					t.Errorf("server-side apply (dry run) rejected: %v", err)
				}
				// kubectl apply -k (client-side) copies each object into its
				// last-applied-configuration annotation; annotations are
				// limited to 256 KiB in total.
				if raw, _ := json.Marshal(o.Object); len(raw) > 200<<10 {
					t.Errorf("%s %s is %d KiB: too big for kubectl's client-side apply annotation (256 KiB)", o.GetKind(), o.GetName(), len(raw)>>10)
				}
			}
			checkRBAC(t, objs)
			checkWorkload(t, objs)
			checkRestricted(t, objs)
			if sm := ofKind(objs, "ServiceMonitor"); len(sm) > 0 {
				checkPrometheusOperator(t, objs)
			}
			if cms := ofKind(objs, "ConfigMap"); len(cms) > 0 {
				checkDashboards(t, cms)
			}
		})
	}

	kinds := func(objs []*unstructured.Unstructured) []string {
		var ks []string
		for _, o := range objs {
			ks = append(ks, o.GetKind())
		}
		slices.Sort(ks)
		return ks
	}
	if got, want := kinds(all["deploy"]), []string{"ClusterRole", "ClusterRoleBinding", "Deployment", "NetworkPolicy", "Service", "ServiceAccount"}; !slices.Equal(got, want) {
		t.Errorf("deploy/ renders %v, want %v", got, want)
	}
	// `kubectl delete -k` deletes what the kustomization renders: a
	// Namespace among it would take everything else in the namespace
	// (Prometheus, where they share it) with the exporter. Only the
	// namespace component, added on purpose, renders one, and nothing else.
	for name, objs := range all {
		ns := ofKind(objs, "Namespace")
		if want := strings.Contains(name, "all-components"); (len(ns) > 0) != want {
			t.Errorf("%s renders %d Namespaces, want them only with components/namespace", name, len(ns))
		}
	}
	if got := kinds(build(t, deployDir("base"))); slices.Contains(got, "Namespace") {
		t.Errorf("deploy/base renders a Namespace: %v", got)
	}
	// The collector and its RBAC come together (checkRBAC), off unless
	// components/pod-metrics is added: both ways are among the variants.
	for name, objs := range all {
		if want := strings.Contains(name, "pod-metrics") || name == "all-components"; hasFlag(t, objs, "--collector.pod-metrics") != want {
			t.Errorf("%s: --collector.pod-metrics set %v, want %v", name, !want, want)
		}
		if want := strings.Contains(name, "kueue") || name == "all-components"; hasFlag(t, objs, "--collector.kueue") != want {
			t.Errorf("%s: --collector.kueue set %v, want %v", name, !want, want)
		}
	}
	withNS := kustomizeWith(t, "", []string{deployDir()}, deployDir("components", "namespace"))
	if got, want := kinds(withNS), append(kinds(all["deploy"]), "Namespace"); !slices.Equal(got, sorted(want)) {
		t.Errorf("deploy/ with components/namespace renders %v, want deploy/'s objects and a Namespace: %v", got, want)
	} else if n := find(t, withNS, "Namespace", saNamespace); n.GetLabels()["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("components/namespace: Namespace %s labels %v, want it to enforce restricted", n.GetName(), n.GetLabels())
	}
	// An overlay's namespace: field moves the component's Namespace with
	// everything else, so the exporter never lands in one not created.
	moved := kustomizeWith(t, "observability", []string{deployDir("base")}, deployDir("components", "namespace"))
	var movedNS []string
	for _, o := range ofKind(moved, "Namespace") {
		movedNS = append(movedNS, o.GetName())
	}
	if d := deployment(t, moved); !slices.Equal(movedNS, []string{d.Namespace}) || d.Namespace != "observability" {
		t.Errorf("with namespace: observability the Namespaces are %v, the Deployment in %s", movedNS, d.Namespace)
	}
	if got := ofKind(all["overlays/prometheus-operator"], "ServiceMonitor", "PrometheusRule", "ConfigMap"); len(got) != 4 {
		t.Errorf("overlays/prometheus-operator: %d ServiceMonitor/PrometheusRule/ConfigMap objects, want 4", len(got))
	}
	// The namespaced overlay: no cluster-wide grant; a Role in each namespace
	// of --watch.namespaces, and nowhere else.
	ns := all["overlays/namespaced"]
	if got := ofKind(ns, "ClusterRole", "ClusterRoleBinding"); len(got) != 0 {
		t.Errorf("overlays/namespaced still has %d ClusterRole(Binding)s", len(got))
	}
	var roleNS, bindingNS []string
	for _, r := range ofKind(ns, "Role") {
		roleNS = append(roleNS, r.GetNamespace())
	}
	for _, r := range ofKind(ns, "RoleBinding") {
		bindingNS = append(bindingNS, r.GetNamespace())
	}
	slices.Sort(roleNS)
	slices.Sort(bindingNS)
	watched := strings.Split(flagValue(t, ns, "--watch.namespaces"), ",")
	slices.Sort(watched)
	if !slices.Equal(roleNS, watched) || !slices.Equal(bindingNS, watched) {
		t.Errorf("overlays/namespaced: Roles in %v, RoleBindings in %v, --watch.namespaces=%v: want the same namespaces", roleNS, bindingNS, watched)
	}
}

// checkRBAC: list and watch on jobs, cronjobs, pods and events, nothing
// else, bound to the exporter's ServiceAccount; and list on metrics.k8s.io
// pods (the pod metrics poll has no watch: the API has none) exactly when
// the exporter runs --collector.pod-metrics, list and watch on Kueue's
// workloads and localqueues exactly when it runs --collector.kueue; both
// are off by default.
func checkRBAC(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	listWatch := []string{"list", "watch"}
	allowed := map[string][]string{"batch/jobs": listWatch, "batch/cronjobs": listWatch, "/pods": listWatch, "/events": listWatch}
	podMetrics := hasFlag(t, objs, "--collector.pod-metrics")
	if podMetrics {
		allowed["metrics.k8s.io/pods"] = []string{"list"}
	}
	kueue := hasFlag(t, objs, "--collector.kueue")
	if kueue {
		allowed["kueue.x-k8s.io/workloads"] = listWatch
		allowed["kueue.x-k8s.io/localqueues"] = listWatch
	}
	for _, o := range ofKind(objs, "ClusterRole", "Role") {
		var r rbacv1.ClusterRole
		into(t, o, &r)
		seen := map[string]bool{}
		for _, rule := range r.Rules {
			if len(rule.NonResourceURLs) > 0 || len(rule.ResourceNames) > 0 {
				t.Errorf("%s %s: unexpected rule %+v", o.GetKind(), o.GetName(), rule)
			}
			for _, g := range rule.APIGroups {
				for _, res := range rule.Resources {
					want, ok := allowed[g+"/"+res]
					if !ok {
						t.Errorf("%s %s grants %q in group %q: the exporter reads only batch/jobs, batch/cronjobs, pods, events, with --collector.pod-metrics (%v here) metrics.k8s.io pods and with --collector.kueue (%v here) kueue.x-k8s.io workloads and localqueues", o.GetKind(), o.GetName(), res, g, podMetrics, kueue)
					} else if v := slices.Clone(rule.Verbs); !slices.Equal(sorted(v), want) {
						t.Errorf("%s %s: verbs %v on %s/%s, want exactly %v", o.GetKind(), o.GetName(), rule.Verbs, g, res, want)
					}
					seen[g+"/"+res] = true
				}
			}
		}
		for k := range allowed {
			if !seen[k] {
				t.Errorf("%s %s lacks %s (--collector.pod-metrics: %v, --collector.kueue: %v)", o.GetKind(), o.GetName(), k, podMetrics, kueue)
			}
		}
	}
	for _, o := range ofKind(objs, "ClusterRoleBinding", "RoleBinding") {
		var b rbacv1.RoleBinding
		into(t, o, &b)
		if len(b.Subjects) != 1 || b.Subjects[0].Kind != "ServiceAccount" || b.Subjects[0].Name != saName || b.Subjects[0].Namespace != saNamespace {
			t.Errorf("%s %s: subjects %+v, want only ServiceAccount %s/%s", o.GetKind(), o.GetName(), b.Subjects, saNamespace, saName)
		}
	}
}

func sorted(s []string) []string { slices.Sort(s); return s }

// deployment is the exporter's workload: its Deployment or, in the Helm
// chart's sharded mode (chart_test.go), its StatefulSet, returned as a
// Deployment with the StatefulSet's metadata, selector and pod template,
// which is all the checks read.
func deployment(t *testing.T, objs []*unstructured.Unstructured) *appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	if len(ofKind(objs, "Deployment")) == 0 && len(ofKind(objs, "StatefulSet")) > 0 {
		var s appsv1.StatefulSet
		into(t, find(t, objs, "StatefulSet", "kube-job-exporter"), &s)
		d.ObjectMeta, d.Spec.Selector, d.Spec.Template = s.ObjectMeta, s.Spec.Selector, s.Spec.Template
		return &d
	}
	into(t, find(t, objs, "Deployment", "kube-job-exporter"), &d)
	return &d
}

// flagValue is the value of a --flag=value argument of the exporter container.
func flagValue(t *testing.T, objs []*unstructured.Unstructured, flag string) string {
	t.Helper()
	for _, a := range deployment(t, objs).Spec.Template.Spec.Containers[0].Args {
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
	}
	return ""
}

// hasFlag says whether the exporter container has the boolean --flag
// (alone or =true).
func hasFlag(t *testing.T, objs []*unstructured.Unstructured, flag string) bool {
	t.Helper()
	return slices.ContainsFunc(deployment(t, objs).Spec.Template.Spec.Containers[0].Args, func(a string) bool {
		return a == flag || a == flag+"=true"
	})
}

// checkWorkload: the pod security settings, probes, resources and
// memory limit of docs/deploy.md, and a Service that reaches the container.
func checkWorkload(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	d := deployment(t, objs)
	ps := d.Spec.Template.Spec
	if ps.ServiceAccountName != saName || d.Namespace != saNamespace {
		t.Errorf("Deployment in %q runs as ServiceAccount %q, want %s/%s", d.Namespace, ps.ServiceAccountName, saNamespace, saName)
	}
	if psc := ps.SecurityContext; psc == nil || !deref(psc.RunAsNonRoot) || deref(psc.RunAsUser) == 0 ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext %+v: want runAsNonRoot, a non-zero runAsUser, seccomp RuntimeDefault", psc)
	}
	if len(ps.Containers) != 1 || len(ps.InitContainers) != 0 {
		t.Fatalf("want one container, got %d (+%d init)", len(ps.Containers), len(ps.InitContainers))
	}
	c := ps.Containers[0]
	sc := c.SecurityContext
	if sc == nil || !deref(sc.RunAsNonRoot) || !deref(sc.ReadOnlyRootFilesystem) || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		deref(sc.Privileged) || sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 ||
		sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container securityContext %+v: want runAsNonRoot, readOnlyRootFilesystem, no privilege escalation, drop ALL, seccomp RuntimeDefault", sc)
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			t.Errorf("no %s request", r)
		}
		if _, ok := c.Resources.Limits[r]; !ok {
			t.Errorf("no %s limit", r)
		}
	}
	if lim, req := c.Resources.Limits.Memory(), c.Resources.Requests.Memory(); lim.Cmp(*req) < 0 || lim.Value() < 128<<20 {
		t.Errorf("memory request %s, limit %s: the limit must hold ~120 MiB for 10k Jobs/100k Pods", req, lim)
	}
	for _, e := range c.Env {
		// GOMEMLIMIT would override the exporter's own 90% of the
		// container limit (--runtime.memory-limit-ratio) with the whole of it.
		if e.Name == "GOMEMLIMIT" {
			t.Errorf("env GOMEMLIMIT: the exporter derives its memory limit from the container's; this would override it")
		}
		if e.Value != "" || (e.ValueFrom != nil && (e.ValueFrom.SecretKeyRef != nil || e.ValueFrom.ConfigMapKeyRef != nil)) {
			t.Errorf("env %s: the exporter needs no configuration by environment", e.Name)
		}
	}
	if v := flagValue(t, objs, "--runtime.memory-limit-ratio"); v == "0" {
		t.Errorf("--runtime.memory-limit-ratio=0: the runtime would ignore the container's memory limit")
	}
	if c.Ports[0].Name != "http-metrics" || c.Ports[0].ContainerPort != 9847 {
		t.Errorf("container ports %+v, want http-metrics 9847 first", c.Ports)
	}
	probe := func(name string, p *corev1.Probe, path, port string) {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path || p.HTTPGet.Port.String() != port {
			t.Errorf("%s probe %+v, want GET %s on %s", name, p, path, port)
		}
	}
	if flagValue(t, objs, "--web.config.file") == "" {
		if len(c.Ports) != 1 {
			t.Errorf("container ports %+v, want only http-metrics", c.Ports)
		}
		probe("liveness", c.LivenessProbe, "/healthz", "http-metrics")
		probe("readiness", c.ReadinessProbe, "/readyz", "http-metrics")
	} else {
		// The web config protects every path; the kubelet cannot
		// authenticate, so the probes use the health-only listener.
		if len(c.Ports) != 2 || c.Ports[1].Name != "health" || c.Ports[1].ContainerPort != 9848 || flagValue(t, objs, "--web.health-listen-address") != ":9848" {
			t.Errorf("with --web.config.file: ports %+v and --web.health-listen-address %q, want health 9848", c.Ports, flagValue(t, objs, "--web.health-listen-address"))
		}
		probe("liveness", c.LivenessProbe, "/healthz", "health")
		probe("readiness", c.ReadinessProbe, "/readyz", "health")
		var mounted bool
		for _, m := range c.VolumeMounts {
			mounted = mounted || strings.HasPrefix(flagValue(t, objs, "--web.config.file"), m.MountPath+"/") && m.ReadOnly
		}
		if !mounted {
			t.Errorf("--web.config.file %s is not on a read-only volume mount", flagValue(t, objs, "--web.config.file"))
		}
	}
	var svc corev1.Service
	into(t, find(t, objs, "Service", "kube-job-exporter"), &svc)
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "http-metrics" || svc.Spec.Ports[0].TargetPort.String() != "http-metrics" {
		t.Errorf("Service ports %+v, want http-metrics → http-metrics", svc.Spec.Ports)
	}
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) || len(svc.Spec.Selector) == 0 {
		t.Errorf("Service selector %v does not select the pod labels %v", svc.Spec.Selector, d.Spec.Template.Labels)
	}
	if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("Deployment selector %v does not match its template labels %v", d.Spec.Selector, d.Spec.Template.Labels)
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// checkRestricted creates (dry run) the Deployment's pod in a namespace
// that enforces the "restricted" Pod Security Standard; the PodSecurity
// admission plugin rejects any violation. A privileged variant must be
// rejected, which shows the namespace really enforces.
func checkRestricted(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	const ns = "psa-restricted"
	ensureNamespace(t, ns, map[string]string{
		"pod-security.kubernetes.io/enforce":         "restricted",
		"pod-security.kubernetes.io/enforce-version": "latest",
	})
	d := deployment(t, objs)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "kube-job-exporter-", Namespace: ns, Labels: d.Spec.Template.Labels},
		Spec:       *d.Spec.Template.Spec.DeepCopy(),
	}
	ctx := context.Background()
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"}
	if _, err := cluster.Client().CoreV1().Pods(ns).Create(ctx, pod, dry); err != nil {
		t.Errorf("the Deployment's pod violates the restricted Pod Security Standard: %v", err)
	}
	bad := pod.DeepCopy()
	bad.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr(true)
	if _, err := cluster.Client().CoreV1().Pods(ns).Create(ctx, bad, dry); !apierrors.IsForbidden(err) {
		t.Errorf("control: a pod allowing privilege escalation was not rejected by PodSecurity (err %v)", err)
	}
}

// checkPrometheusOperator decodes the ServiceMonitor and PrometheusRule
// strictly into the operator's Go types and checks the scrape reaches the
// Service with honorLabels.
func checkPrometheusOperator(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	var sm monitoringv1.ServiceMonitor
	into(t, find(t, objs, "ServiceMonitor", "kube-job-exporter"), &sm)
	var svc corev1.Service
	into(t, find(t, objs, "Service", "kube-job-exporter"), &svc)
	if len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("ServiceMonitor endpoints %+v", sm.Spec.Endpoints)
	}
	ep := sm.Spec.Endpoints[0]
	if !ep.HonorLabels {
		t.Errorf("ServiceMonitor endpoint without honorLabels: true: the Job namespace label would become exported_namespace")
	}
	if ep.Port != svc.Spec.Ports[0].Name {
		t.Errorf("ServiceMonitor port %q, want the Service's %q", ep.Port, svc.Spec.Ports[0].Name)
	}
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(svc.Labels)) || sm.Namespace != svc.Namespace {
		t.Errorf("ServiceMonitor %s/%s selector %v does not select Service %s/%s labels %v", sm.Namespace, sm.Name, sm.Spec.Selector, svc.Namespace, svc.Name, svc.Labels)
	}
	if sm.Spec.JobLabel == "" || svc.Labels[sm.Spec.JobLabel] != "kube-job-exporter" {
		t.Errorf("ServiceMonitor jobLabel %q gives job=%q, the mixin selects job=\"kube-job-exporter\"", sm.Spec.JobLabel, svc.Labels[sm.Spec.JobLabel])
	}
	var pr monitoringv1.PrometheusRule
	into(t, find(t, objs, "PrometheusRule", "kube-job-exporter"), &pr)
	var alerts int
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				alerts++
			}
		}
	}
	if alerts == 0 || pr.Namespace != "monitoring" {
		t.Errorf("PrometheusRule in %q with %d alerts", pr.Namespace, alerts)
	}
}

func checkDashboards(t *testing.T, cms []*unstructured.Unstructured) {
	t.Helper()
	for _, o := range cms {
		var cm corev1.ConfigMap
		into(t, o, &cm)
		if cm.Labels["grafana_dashboard"] != "1" {
			t.Errorf("ConfigMap %s without label grafana_dashboard: \"1\"", cm.Name)
		}
		if len(cm.Data) != 1 {
			t.Errorf("ConfigMap %s: %d files, want one dashboard", cm.Name, len(cm.Data))
		}
		for file, data := range cm.Data {
			var d struct {
				UID    string `json:"uid"`
				Panels []any  `json:"panels"`
			}
			if err := json.Unmarshal([]byte(data), &d); err != nil || d.UID == "" || len(d.Panels) == 0 {
				t.Errorf("ConfigMap %s/%s is no dashboard (uid %q, %d panels, %v)", cm.Name, file, d.UID, len(d.Panels), err)
			}
		}
	}
}
