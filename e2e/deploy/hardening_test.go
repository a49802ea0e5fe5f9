package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// metricsPort is the only port anyone but the kubelet may reach: /metrics
// and /runbooks/ (http-metrics).
const metricsPort = 9847

// source is a client pod: its labels and its namespace's labels.
type source struct {
	name      string
	nsName    string
	podLabels map[string]string
}

func (s source) nsLabels() map[string]string {
	// The API server sets kubernetes.io/metadata.name on every namespace.
	return map[string]string{corev1.LabelMetadataName: s.nsName}
}

// A kube-prometheus-stack Prometheus pod, labelled as prometheus-operator
// labels the pods of its StatefulSet.
var prometheusPod = map[string]string{
	"app.kubernetes.io/name":       "prometheus",
	"app.kubernetes.io/instance":   "kube-prometheus-stack-prometheus",
	"app.kubernetes.io/managed-by": "prometheus-operator",
	"app.kubernetes.io/version":    "3.5.0",
	"operator.prometheus.io/name":  "kube-prometheus-stack-prometheus",
	"operator.prometheus.io/shard": "0",
	"prometheus":                   "kube-prometheus-stack-prometheus",
}

// admits says whether np lets src connect to port/protocol of a pod with
// podLabels in np's namespace. ok is false when np does not select that pod
// or does not isolate it for ingress (then np says nothing about it).
// Named ports resolve against ports, the pod's container ports.
func admits(t *testing.T, np *networkingv1.NetworkPolicy, podLabels map[string]string, ports []corev1.ContainerPort,
	src source, port int32, proto corev1.Protocol) (allowed, ok bool) {
	t.Helper()
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil {
		t.Fatalf("NetworkPolicy podSelector: %v", err)
	}
	if !sel.Matches(labels.Set(podLabels)) || !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
		return false, false
	}
	selects := func(ls *metav1.LabelSelector, l map[string]string) bool {
		s, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil {
			t.Fatalf("NetworkPolicy selector %v: %v", ls, err)
		}
		return s.Matches(labels.Set(l))
	}
	peerMatches := func(p networkingv1.NetworkPolicyPeer) bool {
		switch {
		case p.IPBlock != nil:
			return true // an address range admits pods we cannot name; checked separately
		case p.NamespaceSelector != nil && p.PodSelector != nil:
			return selects(p.NamespaceSelector, src.nsLabels()) && selects(p.PodSelector, src.podLabels)
		case p.NamespaceSelector != nil:
			return selects(p.NamespaceSelector, src.nsLabels())
		case p.PodSelector != nil:
			return src.nsName == np.Namespace && selects(p.PodSelector, src.podLabels)
		}
		return false
	}
	portMatches := func(p networkingv1.NetworkPolicyPort) bool {
		want := corev1.ProtocolTCP // the API's default for a port with no protocol
		if p.Protocol != nil {
			want = *p.Protocol
		}
		if want != proto {
			return false
		}
		if p.Port == nil {
			return true
		}
		lo := p.Port.IntVal
		if p.Port.StrVal != "" {
			lo = -1
			for _, cp := range ports {
				if cp.Name == p.Port.StrVal && cp.Protocol == proto {
					lo = cp.ContainerPort
				}
			}
		}
		hi := lo
		if p.EndPort != nil {
			hi = *p.EndPort
		}
		return port >= lo && port <= hi
	}
	for _, rule := range np.Spec.Ingress {
		fromOK := len(rule.From) == 0
		for _, p := range rule.From {
			fromOK = fromOK || peerMatches(p)
		}
		portOK := len(rule.Ports) == 0
		for _, p := range rule.Ports {
			portOK = portOK || portMatches(p)
		}
		if fromOK && portOK {
			return true, true
		}
	}
	return false, true
}

// Every kustomization ships a NetworkPolicy that isolates the exporter's
// pods (the Deployment's pod template labels) and admits port 9847 only
// from the Prometheus pods of namespace monitoring: not from other pods of
// that namespace, not from Prometheus elsewhere, not to any other port
// (the health port 9848 of components/web-config included; the kubelet's
// probes come from the node, which NetworkPolicy does not filter). Egress
// is left alone: the exporter must reach the API server.
func TestNetworkPolicy(t *testing.T) {
	for name, objs := range variants(t) {
		t.Run(strings.ReplaceAll(name, "/", "_"), func(t *testing.T) {
			nps := ofKind(objs, "NetworkPolicy")
			if len(nps) != 1 {
				t.Fatalf("%d NetworkPolicies, want one (deploy/base/networkpolicy.yaml)", len(nps))
			}
			var np networkingv1.NetworkPolicy
			into(t, nps[0], &np)
			d := deployment(t, objs)
			pod := d.Spec.Template.Labels
			ctr := d.Spec.Template.Spec.Containers[0]
			if np.Namespace != d.Namespace {
				t.Errorf("NetworkPolicy in %q, the Deployment in %q", np.Namespace, d.Namespace)
			}
			if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}) || len(np.Spec.Egress) != 0 {
				t.Errorf("policyTypes %v with %d egress rules: want [Ingress] only (egress to the API server must stay open)", np.Spec.PolicyTypes, len(np.Spec.Egress))
			}
			if len(np.Spec.PodSelector.MatchLabels)+len(np.Spec.PodSelector.MatchExpressions) == 0 {
				t.Errorf("NetworkPolicy podSelector is empty: it would isolate every pod of %s", np.Namespace)
			}
			if _, ok := admits(t, &np, pod, ctr.Ports, source{nsName: "monitoring", podLabels: prometheusPod}, metricsPort, corev1.ProtocolTCP); !ok {
				t.Fatalf("NetworkPolicy podSelector %v does not select the exporter's pods %v", np.Spec.PodSelector, pod)
			}
			// Only what the Deployment's own selector picks: not the
			// Prometheus pods or another app of the namespace.
			for _, other := range []map[string]string{prometheusPod, {"app.kubernetes.io/name": "grafana"}, {}} {
				if _, ok := admits(t, &np, other, nil, source{}, 0, corev1.ProtocolTCP); ok {
					t.Errorf("NetworkPolicy podSelector %v also selects pods labelled %v", np.Spec.PodSelector, other)
				}
			}
			// Every rule names its peers and its ports, and every port is 9847.
			for i, r := range np.Spec.Ingress {
				if len(r.From) == 0 || len(r.Ports) == 0 {
					t.Errorf("ingress rule %d admits from %d peers on %d ports: an empty list means everyone/every port", i, len(r.From), len(r.Ports))
				}
				for _, p := range r.From {
					if p.IPBlock != nil || p.NamespaceSelector == nil || p.PodSelector == nil {
						t.Errorf("ingress rule %d peer %+v: want a namespaceSelector and a podSelector together, no ipBlock", i, p)
					}
				}
			}
			for _, cp := range ctr.Ports {
				for _, proto := range []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP} {
					allowed, _ := admits(t, &np, pod, ctr.Ports, source{nsName: "monitoring", podLabels: prometheusPod}, cp.ContainerPort, proto)
					if want := cp.ContainerPort == metricsPort && proto == corev1.ProtocolTCP; allowed != want {
						t.Errorf("Prometheus → container port %s %d/%s: admitted %v, want %v", cp.Name, cp.ContainerPort, proto, allowed, want)
					}
				}
			}
			for _, c := range []struct {
				src  source
				port int32
				want bool
			}{
				{source{"prometheus in monitoring", "monitoring", prometheusPod}, metricsPort, true},
				{source{"prometheus-community chart server", "monitoring", map[string]string{"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/component": "server"}}, metricsPort, true},
				{source{"prometheus in monitoring, health port", "monitoring", prometheusPod}, 9848, false},
				{source{"prometheus in monitoring, other port", "monitoring", prometheusPod}, 8080, false},
				{source{"prometheus in another namespace", "default", prometheusPod}, metricsPort, false},
				{source{"prometheus in a team namespace", "team-a", prometheusPod}, metricsPort, false},
				{source{"grafana in monitoring", "monitoring", map[string]string{"app.kubernetes.io/name": "grafana"}}, metricsPort, false},
				{source{"alertmanager in monitoring", "monitoring", map[string]string{"app.kubernetes.io/name": "alertmanager", "app.kubernetes.io/managed-by": "prometheus-operator"}}, metricsPort, false},
				// kustomize's label transformers rewrite a matchLabels
				// from-podSelector into the exporter's own labels.
				{source{"another exporter pod", "monitoring", pod}, metricsPort, false},
				{source{"unlabelled pod in monitoring", "monitoring", nil}, metricsPort, false},
				{source{"a Job's pod", "team-a", map[string]string{"batch.kubernetes.io/job-name": "nightly"}}, metricsPort, false},
			} {
				if got, _ := admits(t, &np, pod, ctr.Ports, c.src, c.port, corev1.ProtocolTCP); got != c.want {
					t.Errorf("%s (namespace %s, labels %v) → %d: admitted %v, want %v", c.src.name, c.src.nsName, c.src.podLabels, c.port, got, c.want)
				}
			}
		})
	}
}

// warningCollector keeps the API server's warnings (PodSecurity's "would
// violate" for workloads in a namespace with a warn label).
type warningCollector struct {
	mu   sync.Mutex
	list []string
}

func (w *warningCollector) HandleWarningHeader(code int, _ string, text string) {
	if code != 299 || text == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func (w *warningCollector) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.list
	w.list = nil
	return l
}

// The Namespace of deploy/components/namespace, in every kustomization
// that adds it, enforces (and warns and audits) the restricted Pod
// Security Standard at the latest version, and the Deployment's pod is
// admitted there: the Namespace is applied as rendered
// to the real API server (PodSecurity admission on), then the Deployment's
// pod is created in it (dry run) and the Deployment applied (dry run)
// without any PodSecurity warning. Controls: a pod allowing privilege
// escalation is refused there, and the same Deployment draws a warning, so
// the labels really are in force.
func TestPodSecurityNamespace(t *testing.T) {
	ctx := context.Background()
	a := newApplier(t)
	installCRDs(t, a)
	for _, ns := range []string{"team-a", "team-b"} {
		ensureNamespace(t, ns, nil)
	}
	warns := &warningCollector{}
	cfg := cluster.RESTConfig()
	cfg.WarningHandler = warns
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	wa := &applier{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cluster.Client().Discovery()))}
	want := map[string]string{
		"pod-security.kubernetes.io/enforce":         "restricted",
		"pod-security.kubernetes.io/enforce-version": "latest",
		"pod-security.kubernetes.io/warn":            "restricted",
		"pod-security.kubernetes.io/warn-version":    "latest",
		"pod-security.kubernetes.io/audit":           "restricted",
		"pod-security.kubernetes.io/audit-version":   "latest",
	}
	tested := 0
	for name, objs := range variants(t) {
		if len(ofKind(objs, "Namespace")) == 0 {
			// The user creates the namespace (docs/deploy.md#install);
			// TestManifests checks the pod against restricted anyway.
			continue
		}
		tested++
		t.Run(strings.ReplaceAll(name, "/", "_"), func(t *testing.T) {
			d := deployment(t, objs)
			nsObj := find(t, objs, "Namespace", d.Namespace)
			for k, v := range want {
				if got := nsObj.GetLabels()[k]; got != v {
					t.Errorf("Namespace %s label %s=%q, want %q", nsObj.GetName(), k, got, v)
				}
			}
			if err := a.apply(ctx, nsObj, false); err != nil {
				t.Fatal(err)
			}
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{GenerateName: d.Name + "-", Namespace: d.Namespace, Labels: d.Spec.Template.Labels},
				Spec:       *d.Spec.Template.Spec.DeepCopy(),
			}
			bad := pod.DeepCopy()
			bad.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr(true)
			dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"}
			// PodSecurity reads namespaces from an informer: wait until the
			// control is refused, then the real pod must not be.
			err := harness.Eventually(ctx, 30*time.Second, func(ctx context.Context) (bool, string, error) {
				_, err := cluster.Client().CoreV1().Pods(d.Namespace).Create(ctx, bad, dry)
				return apierrors.IsForbidden(err), fmt.Sprintf("a pod allowing privilege escalation in %s: err %v, want Forbidden by PodSecurity", d.Namespace, err), nil
			})
			if err != nil {
				t.Fatalf("the Namespace's labels are not enforced: %v", err)
			}
			if _, err := cluster.Client().CoreV1().Pods(d.Namespace).Create(ctx, pod, dry); err != nil {
				t.Errorf("the Deployment's pod is refused in its own namespace %s: %v", d.Namespace, err)
			}
			dep := find(t, objs, "Deployment", d.Name)
			warns.take()
			if err := wa.apply(ctx, dep, true); err != nil {
				t.Fatalf("Deployment (dry run): %v", err)
			}
			for _, w := range warns.take() {
				if strings.Contains(w, "PodSecurity") {
					t.Errorf("applying the Deployment: %s", w)
				}
			}
			// A JSON round trip, not DeepCopy: kustomize's maps hold Go ints.
			raw, err := json.Marshal(dep.Object)
			if err != nil {
				t.Fatal(err)
			}
			badDep := &unstructured.Unstructured{}
			if err := json.Unmarshal(raw, &badDep.Object); err != nil {
				t.Fatal(err)
			}
			cs, _, _ := unstructured.NestedSlice(badDep.Object, "spec", "template", "spec", "containers")
			_ = unstructured.SetNestedField(cs[0].(map[string]any), true, "securityContext", "allowPrivilegeEscalation")
			_ = unstructured.SetNestedSlice(badDep.Object, cs, "spec", "template", "spec", "containers")
			if err := wa.apply(ctx, badDep, true); err != nil {
				t.Fatalf("Deployment allowing privilege escalation (dry run): %v", err)
			}
			if got := warns.take(); !slices.ContainsFunc(got, func(w string) bool { return strings.Contains(w, "allowPrivilegeEscalation") }) {
				t.Errorf("control: a Deployment allowing privilege escalation drew no PodSecurity warning (warnings %q)", got)
			}
		})
	}
	if tested == 0 {
		t.Error("no variant adds components/namespace")
	}
}

// semver is a release tag as the image and the git tag carry it.
var semver = regexp.MustCompile(`^v(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$`)

// changelogVersion is a released version's heading in CHANGELOG.md:
// "## v1.2.3", "## 1.2.3", "## [1.2.3]", optionally followed by a date.
var changelogVersion = regexp.MustCompile(`(?m)^## \[?v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)\]?(?:\s|$)`)

// The exporter's image is a release, never `latest` (or no tag, which is
// latest): every variant runs ghcr.io/kube-job-exporter/kube-job-exporter:vX.Y.Z,
// and once CHANGELOG.md has a released version, the newest one.
func TestImageVersion(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "CHANGELOG.md"))
	if err != nil {
		t.Fatal(err)
	}
	var released string
	if m := changelogVersion.FindSubmatch(raw); m != nil {
		released = string(m[1])
	}
	for name, objs := range variants(t) {
		d := deployment(t, objs)
		for _, c := range append(d.Spec.Template.Spec.InitContainers, d.Spec.Template.Spec.Containers...) {
			ref := c.Image
			if strings.Contains(ref, "@sha256:") {
				continue // pinned by digest
			}
			repo, tag := ref, ""
			if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
				repo, tag = ref[:i], ref[i+1:]
			}
			m := semver.FindStringSubmatch(tag)
			switch {
			case tag == "" || tag == "latest":
				t.Errorf("%s: container %s runs %q: a moving tag, not a release", name, c.Name, ref)
			case m == nil:
				t.Errorf("%s: container %s runs %q: want a release tag vX.Y.Z", name, c.Name, ref)
			case released != "" && m[1] != released:
				t.Errorf("%s: container %s runs %q, but the newest release in CHANGELOG.md is %s: bump newTag in deploy/base/kustomization.yaml", name, c.Name, ref, released)
			}
			if repo != "ghcr.io/kube-job-exporter/kube-job-exporter" {
				t.Errorf("%s: container %s runs image %q, want ghcr.io/kube-job-exporter/kube-job-exporter", name, c.Name, repo)
			}
		}
	}
}
