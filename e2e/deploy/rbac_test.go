package deploy

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

const metricsTimeout = 2 * time.Minute

// applyBaseRBAC applies (for real) the ServiceAccount, ClusterRole and
// ClusterRoleBinding exactly as deploy/ renders them, in the namespace the
// user creates (docs/deploy.md#install).
func applyBaseRBAC(t *testing.T, a *applier) []*unstructured.Unstructured {
	t.Helper()
	return applyRBAC(t, a, build(t, deployDir()))
}

// applyRBAC applies (for real) the ServiceAccount, ClusterRole and
// ClusterRoleBinding of objs, and waits until the API server authorizes
// with them.
func applyRBAC(t *testing.T, a *applier, objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	t.Helper()
	ensureNamespace(t, saNamespace, nil)
	rbac := ofKind(objs, "ServiceAccount", "ClusterRole", "ClusterRoleBinding")
	for _, o := range rbac {
		if err := a.apply(context.Background(), o, false); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []string{"list", "watch"} {
		waitCan(t, v, "batch", "jobs", "", true)
		waitCan(t, v, "", "pods", "", true)
	}
	waitCan(t, "list", "metrics.k8s.io", "pods", "", hasFlag(t, objs, "--collector.pod-metrics"))
	return rbac
}

// podMetricsGrid: what the ServiceAccount may do on metrics.k8s.io in ns
// ("" cluster-wide) with the collector's rule (granted) or without it:
// list pods, exactly then; never get or watch (the poll only lists; the
// API has no watch), never nodes.
func podMetricsGrid(t *testing.T, ns string, granted bool) {
	t.Helper()
	for _, c := range []struct {
		verb, res string
		want      bool
	}{
		{"list", "pods", granted},
		{"get", "pods", false},
		{"watch", "pods", false},
		{"list", "nodes", false},
		{"get", "nodes", false},
	} {
		if got := can(t, c.verb, "metrics.k8s.io", c.res, "", ns); got != c.want {
			t.Errorf("%s metrics.k8s.io/%s in %q (rule granted: %v): allowed=%v, want %v", c.verb, c.res, ns, granted, got, c.want)
		}
	}
}

// kueueGrid: what the ServiceAccount may do on kueue.x-k8s.io in ns (""
// cluster-wide) with the Kueue collector's rule (granted) or without it:
// list and watch workloads and localqueues, exactly then; never get (the
// informers read their caches), never their status or a write, never
// clusterqueues (cluster-scoped: the ClusterQueue is read from the
// Workload or the LocalQueue).
func kueueGrid(t *testing.T, ns string, granted bool) {
	t.Helper()
	for _, c := range []struct {
		verb, res, sub string
		want           bool
	}{
		{"list", "workloads", "", granted},
		{"watch", "workloads", "", granted},
		{"list", "localqueues", "", granted},
		{"watch", "localqueues", "", granted},
		{"get", "workloads", "", false},
		{"get", "localqueues", "", false},
		{"patch", "workloads", "", false},
		{"update", "workloads", "status", false},
		{"delete", "workloads", "", false},
		{"list", "clusterqueues", "", false},
		{"list", "resourceflavors", "", false},
	} {
		if got := can(t, c.verb, "kueue.x-k8s.io", c.res, c.sub, ns); got != c.want {
			t.Errorf("%s kueue.x-k8s.io/%s %s in %q (rule granted: %v): allowed=%v, want %v", c.verb, c.res, c.sub, ns, granted, got, c.want)
		}
	}
}

// can asks the API server whether the ServiceAccount may do verb on
// resource (group "" for core) in namespace.
func can(t *testing.T, verb, group, res, sub, ns string) bool {
	t.Helper()
	r, err := cluster.Client().AuthorizationV1().SubjectAccessReviews().Create(context.Background(), &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   saUser,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + saNamespace, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: verb, Group: group, Resource: res, Subresource: sub, Namespace: ns,
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Status.Allowed
}

// waitCan waits until the API server's answer to "may the ServiceAccount
// do verb on resource in ns" is want.
func waitCan(t *testing.T, verb, group, res, ns string, want bool) {
	t.Helper()
	err := harness.Eventually(context.Background(), 30*time.Second, func(context.Context) (bool, string, error) {
		return can(t, verb, group, res, "", ns) == want, fmt.Sprintf("%s %s/%s in %q: allowed != %v", verb, group, res, ns, want), nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// scenario is one failure kind of e2e/scenarios, reduced to the Job and the
// series that prove the exporter saw it.
type scenario struct {
	name    string
	outcome string
	mutate  func(*batchv1.Job)
	want    func(m *harness.Metrics, sel func(kv ...string) harness.Labels) (bool, string)
}

func has(m *harness.Metrics, name string, l harness.Labels, want float64) (bool, string) {
	v, ok := m.Value(name, l)
	if !ok || v != want {
		return false, fmt.Sprintf("want %s%v = %v, got %v (present %v)", name, l, want, v, ok)
	}
	return true, ""
}

func all(checks ...func() (bool, string)) (bool, string) {
	for _, c := range checks {
		if ok, why := c(); !ok {
			return false, why
		}
	}
	return true, ""
}

var scenarios = []scenario{
	{name: "oom", outcome: "oom", mutate: func(j *batchv1.Job) {
		j.Spec.BackoffLimit = ptr(int32(1))
		j.Spec.Template.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}
	}, want: func(m *harness.Metrics, sel func(...string) harness.Labels) (bool, string) {
		return all(
			func() (bool, string) { return has(m, "kubejob_failed", sel("reason", "BackoffLimitExceeded"), 1) },
			func() (bool, string) {
				return has(m, "kubejob_pod_failures", sel("container", "main", "reason", "OOMKilled", "exit_code", "137"), 2)
			},
			func() (bool, string) {
				return has(m, "kubejob_container_memory_limit_bytes", sel("container", "main"), 64<<20)
			},
		)
	}},
	{name: "exit-127", outcome: "exit=127", mutate: func(j *batchv1.Job) { j.Spec.BackoffLimit = ptr(int32(0)) },
		want: func(m *harness.Metrics, sel func(...string) harness.Labels) (bool, string) {
			return has(m, "kubejob_pod_failures", sel("container", "main", "reason", "Error", "exit_code", "127"), 1)
		}},
	{name: "flaky", outcome: "attempt=1 exit=1; succeed", mutate: func(j *batchv1.Job) { j.Spec.BackoffLimit = ptr(int32(3)) },
		want: func(m *harness.Metrics, sel func(...string) harness.Labels) (bool, string) {
			return all(
				func() (bool, string) { return has(m, "kubejob_complete", sel(), 1) },
				func() (bool, string) { return has(m, "kubejob_retries", sel(), 1) },
			)
		}},
	{name: "deadline", outcome: "run=forever", mutate: func(j *batchv1.Job) { j.Spec.ActiveDeadlineSeconds = ptr(int64(3)) },
		want: func(m *harness.Metrics, sel func(...string) harness.Labels) (bool, string) {
			return has(m, "kubejob_failed", sel("reason", "DeadlineExceeded"), 1)
		}},
	{name: "policy", outcome: "exit=42", mutate: func(j *batchv1.Job) {
		j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
			Action:      batchv1.PodFailurePolicyActionFailJob,
			OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{ContainerName: ptr("main"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}},
		}}}
	}, want: func(m *harness.Metrics, sel func(...string) harness.Labels) (bool, string) {
		return has(m, "kubejob_failed", sel("reason", "PodFailurePolicy"), 1)
	}},
	{name: "indexed", outcome: "index=1 exit=3", mutate: func(j *batchv1.Job) {
		j.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
		j.Spec.Completions, j.Spec.Parallelism = ptr(int32(2)), ptr(int32(2))
		j.Spec.BackoffLimitPerIndex = ptr(int32(0))
	}, want: func(m *harness.Metrics, sel func(...string) harness.Labels) (bool, string) {
		return all(
			func() (bool, string) { return has(m, "kubejob_failed", sel("reason", "FailedIndexes"), 1) },
			func() (bool, string) { return has(m, "kubejob_index_failures", sel("index", "1"), 1) },
		)
	}},
	{name: "onfailure", outcome: "exit=1", mutate: func(j *batchv1.Job) {
		j.Spec.BackoffLimit = ptr(int32(1))
		j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	}, want: func(m *harness.Metrics, sel func(...string) harness.Labels) (bool, string) {
		return has(m, "kubejob_failed", sel("reason", "BackoffLimitExceeded"), 1)
	}},
	{name: "image-pull", outcome: "image-pull",
		want: func(m *harness.Metrics, sel func(...string) harness.Labels) (bool, string) {
			return has(m, "kubejob_pods_waiting", sel("reason", "ImagePullBackOff"), 1)
		}},
	{name: "suspended", outcome: "succeed", mutate: func(j *batchv1.Job) { j.Spec.Suspend = ptr(true) },
		want: func(m *harness.Metrics, sel func(...string) harness.Labels) (bool, string) {
			return has(m, "kubejob_suspended", sel(), 1)
		}},
}

func newJob(ns, name, outcome string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr(int32(2)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{harness.OutcomeAnnotation: outcome}},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "main", Image: "registry.example/batch/worker:1.0", Command: []string{"/bin/worker"}}},
				},
			},
		},
	}
}

// createScenarios creates every scenario's Job in ns, plus a CronJob-owned
// failed Job, and returns a condition over a scrape that holds once all
// their metrics are there.
func createScenarios(t *testing.T, ns string) func(m *harness.Metrics) (bool, string) {
	t.Helper()
	ctx := context.Background()
	ensureNamespace(t, ns, nil)
	jobs := cluster.Client().BatchV1().Jobs(ns)
	for _, s := range scenarios {
		j := newJob(ns, s.name, s.outcome)
		if s.mutate != nil {
			s.mutate(j)
		}
		if _, err := jobs.Create(ctx, j, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create %s: %v", s.name, err)
		}
	}
	cj, err := cluster.Client().BatchV1().CronJobs(ns).Create(ctx,
		harness.SuspendedCronJob(ns, "nightly", "0 3 * * *", newJob(ns, "x", "succeed").Spec), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	owned := harness.RunOf(newJob(ns, "nightly-1", "exit=1"), cj)
	owned.Spec.BackoffLimit = ptr(int32(0))
	if _, err := jobs.Create(ctx, owned, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return func(m *harness.Metrics) (bool, string) {
		for _, s := range scenarios {
			sel := func(kv ...string) harness.Labels {
				l := harness.Labels{"namespace": ns, "job_name": s.name}
				for i := 0; i+1 < len(kv); i += 2 {
					l[kv[i]] = kv[i+1]
				}
				return l
			}
			if ok, why := s.want(m, sel); !ok {
				return false, s.name + ": " + why
			}
		}
		if !m.Has("kubejob_info", harness.Labels{"namespace": ns, "job_name": "nightly-1", "owner_kind": "CronJob", "owner_name": "nightly"}) {
			return false, "nightly-1: no kubejob_info{owner_kind=CronJob}"
		}
		if !m.Has("kubejob_cronjob_last_failure_timestamp_seconds", harness.Labels{"namespace": ns, "cronjob": "nightly"}) {
			return false, "no kubejob_cronjob_last_failure_timestamp_seconds for nightly"
		}
		return true, ""
	}
}

func waitMetrics(t *testing.T, p *proc, what string, cond func(m *harness.Metrics) (bool, string)) *harness.Metrics {
	t.Helper()
	var last *harness.Metrics
	err := harness.Eventually(context.Background(), metricsTimeout, func(ctx context.Context) (bool, string, error) {
		select {
		case <-p.Exited():
			return false, "", fmt.Errorf("exporter exited: %v", p.Err())
		default:
		}
		m, err := p.scrape(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		last = m
		ok, why := cond(m)
		return ok, why, nil
	})
	if err != nil {
		t.Fatalf("%s: %v\nexporter log:\n%s", what, err, tail(p.Logs(), 4000))
	}
	return last
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// noWatchErrors: the exporter's own metrics say its watches work.
func noWatchErrors(m *harness.Metrics) (bool, string) {
	for _, r := range harness.WatchedResources {
		if ok, why := has(m, "kubejob_exporter_watch_up", harness.Labels{"resource": r}, 1); !ok {
			return false, why
		}
		if ok, why := has(m, "kubejob_exporter_watch_synced", harness.Labels{"resource": r}, 1); !ok {
			return false, why
		}
		for _, reason := range []string{"forbidden", "unauthorized"} {
			if v := m.Sum("kubejob_exporter_watch_errors_total", harness.Labels{"resource": r, "reason": reason}); v != 0 {
				return false, fmt.Sprintf("kubejob_exporter_watch_errors_total{resource=%q,reason=%q} = %v", r, reason, v)
			}
		}
	}
	return true, ""
}

// waitReady polls /readyz until it answers want (200 or 503) with a body
// that contains every one of says, and returns that body. A 503 may first
// give another reason (the API server's first answer not yet in): says
// waits for the one asked about.
func waitReady(t *testing.T, p *proc, want int, says ...string) string {
	t.Helper()
	var body string
	err := harness.Eventually(context.Background(), metricsTimeout, func(ctx context.Context) (bool, string, error) {
		code, b, err := get(ctx, plainHTTP, "http://"+p.Addr()+"/readyz")
		if err != nil {
			return false, err.Error(), nil
		}
		body = b
		ok := code == want
		for _, s := range says {
			ok = ok && strings.Contains(b, s)
		}
		return ok, fmt.Sprintf("/readyz answered %d: %s (want %d saying %q)", code, strings.TrimSpace(b), want, says), nil
	})
	if err != nil {
		t.Fatalf("/readyz: %v\nexporter log:\n%s", err, tail(p.Logs(), 4000))
	}
	return body
}

// The ClusterRole of deploy/ is all the exporter needs, and it grants
// nothing else; a missing permission is reported, not hidden.
func TestRBACLeastPrivilege(t *testing.T) {
	a := newApplier(t)
	rbac := applyBaseRBAC(t, a)
	t.Cleanup(func() { applyBaseRBAC(t, a) })
	kubeconfig := saKubeconfig(t)

	t.Run("grants only list and watch on jobs, cronjobs, pods and events", func(t *testing.T) {
		for _, c := range []struct {
			verb, group, res, sub, ns string
			want                      bool
		}{
			{"list", "batch", "jobs", "", "", true},
			{"watch", "batch", "jobs", "", "", true},
			{"list", "", "pods", "", "any-ns", true},
			{"watch", "", "pods", "", "", true},
			{"get", "batch", "jobs", "", "default", false},
			{"get", "", "pods", "", "default", false},
			{"get", "", "pods", "log", "default", false},
			{"create", "batch", "jobs", "", "default", false},
			{"delete", "", "pods", "", "default", false},
			{"patch", "batch", "jobs", "", "default", false},
			{"list", "", "secrets", "", "", false},
			{"get", "", "secrets", "", "default", false},
			{"list", "", "configmaps", "", "", false},
			{"list", "batch", "cronjobs", "", "", true},
			{"watch", "batch", "cronjobs", "", "any-ns", true},
			{"get", "batch", "cronjobs", "", "default", false},
			{"patch", "batch", "cronjobs", "", "default", false},
			{"list", "", "events", "", "any-ns", true},
			{"watch", "", "events", "", "", true},
			{"get", "", "events", "", "default", false},
			{"create", "", "events", "", "default", false},
			{"create", "", "pods", "exec", "default", false},
		} {
			if got := can(t, c.verb, c.group, c.res, c.sub, c.ns); got != c.want {
				t.Errorf("%s %s/%s %s in %q: allowed=%v, want %v", c.verb, c.group, c.res, c.sub, c.ns, got, c.want)
			}
		}
		// The pod metrics collector is off by default: nothing on
		// metrics.k8s.io.
		podMetricsGrid(t, "", false)
		podMetricsGrid(t, "any-ns", false)
		// So is the Kueue collector: nothing on kueue.x-k8s.io.
		kueueGrid(t, "", false)
		kueueGrid(t, "any-ns", false)
	})

	// components/kueue, which passes --collector.kueue, grants exactly
	// the list and watch its informers need, cluster-wide.
	t.Run("the Kueue collector's rule", func(t *testing.T) {
		withKueue := kustomizeWith(t, "", []string{deployDir()}, deployDir("components", "kueue"))
		if !hasFlag(t, withKueue, "--collector.kueue") {
			t.Fatal("components/kueue does not pass --collector.kueue")
		}
		applyRBAC(t, a, withKueue)
		t.Cleanup(func() { applyBaseRBAC(t, a) })
		waitCan(t, "watch", "kueue.x-k8s.io", "workloads", "", true)
		kueueGrid(t, "", true)
		kueueGrid(t, "any-ns", true)
		podMetricsGrid(t, "", false)
	})

	t.Run("every scenario's metrics as the ServiceAccount", func(t *testing.T) {
		cond := createScenarios(t, "rbac-scenarios")
		blocked := createQuotaBlocked(t, "rbac-quota")
		p := startProc(t, kubeconfig)
		waitReady(t, p, http.StatusOK)
		waitMetrics(t, p, "scenarios as "+saUser, func(m *harness.Metrics) (bool, string) {
			if ok, why := noWatchErrors(m); !ok {
				return false, why
			}
			if quota := (harness.Labels{"namespace": blocked["namespace"], "job_name": blocked["job_name"], "cause": "Quota"}); !m.Has("kubejob_pod_create_failure_timestamp_seconds", quota) {
				return false, fmt.Sprintf("no kubejob_pod_create_failure_timestamp_seconds%v", quota)
			}
			return cond(m)
		})
		if strings.Contains(p.Logs(), "forbidden") {
			t.Errorf("the exporter logged a forbidden error with the full ClusterRole:\n%s", p.Logs())
		}
	})

	// --collector.pod-metrics reads metrics.k8s.io through the API
	// server's aggregation layer (a stand-in for metrics-server behind a
	// real APIService). With deploy/ as shipped (the collector off, no
	// rule) an exporter given the flag says the read is forbidden and
	// keeps serving the rest; components/pod-metrics, which passes the
	// flag, grants exactly the list its poll needs.
	ms, err := harness.StartMetricsServer(context.Background(), cluster)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ms.Stop(); err != nil {
			t.Error(err)
		}
	})
	t.Run("pod metrics through the aggregation layer", func(t *testing.T) {
		ctx := context.Background()
		ns := "rbac-pod-metrics"
		ensureNamespace(t, ns, nil)
		j := newJob(ns, "busy", "run=forever")
		j.Spec.Template.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}
		if _, err := cluster.Client().BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { // it would run forever; the pod driver deletes its pod
			bg := metav1.DeletePropagationBackground
			if err := cluster.Client().BatchV1().Jobs(ns).Delete(ctx, "busy", metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil {
				t.Error(err)
			}
		})
		pod, err := harness.WaitRunningPod(ctx, cluster.Client(), ns, "busy")
		if err != nil {
			t.Fatal(err)
		}
		ms.SetPodUsage(ns, pod, map[string]int64{"main": 48 << 20})
		working := harness.Labels{"namespace": ns, "job_name": "busy", "container": "main"}
		// The component's args (the listen address is the test's), and a
		// short poll.
		withPodMetrics := kustomizeWith(t, "", []string{deployDir()}, deployDir("components", "pod-metrics"))
		args := []string{"--collector.pod-metrics.interval=1s"}
		for _, arg := range deployment(t, withPodMetrics).Spec.Template.Spec.Containers[0].Args {
			if !strings.HasPrefix(arg, "--web.listen-address=") {
				args = append(args, arg)
			}
		}

		// deploy/ as shipped: the flag alone is not enough.
		waitCan(t, "list", "metrics.k8s.io", "pods", "", false)
		q := startProc(t, kubeconfig, args...)
		waitReady(t, q, http.StatusOK) // the Jobs are served all the same
		waitMetrics(t, q, "pod metrics forbidden", func(m *harness.Metrics) (bool, string) {
			if m.Has("kubejob_container_memory_working_set_bytes", working) {
				return false, "a working set without permission to read it"
			}
			return has(m, "kubejob_exporter_pod_metrics_up", nil, 0)
		})
		// The warning, once: the gauge reads 0 from the start, so wait for
		// the line, and count once the exporter has stopped (its log
		// complete). podmetrics' TestNoMetricsServer proves it stays one
		// over many polls.
		forbidden := func(l string) bool {
			return strings.Contains(l, "cannot read pod metrics") && strings.Contains(l, "forbidden") && strings.Contains(l, "metrics.k8s.io")
		}
		if err := harness.Eventually(ctx, metricsTimeout, func(context.Context) (bool, string, error) {
			return slices.ContainsFunc(strings.Split(q.Logs(), "\n"), forbidden), "no log line says the pod metrics read is forbidden", nil
		}); err != nil {
			t.Errorf("%v:\n%s", err, tail(q.Logs(), 4000))
		}
		q.Stop()
		var lines []string
		for _, l := range strings.Split(q.Logs(), "\n") {
			if forbidden(l) {
				lines = append(lines, l)
			}
		}
		if len(lines) != 1 || !strings.Contains(lines[0], "level=WARN") {
			t.Errorf("%d log lines saying the pod metrics read is forbidden, want one warning:\n%s", len(lines), tail(q.Logs(), 4000))
		} else {
			t.Logf("exporter log: %s", lines[0])
		}

		// components/pod-metrics: its ClusterRole, its flag.
		applyRBAC(t, a, withPodMetrics)
		t.Cleanup(func() { applyBaseRBAC(t, a) })
		podMetricsGrid(t, "", true)
		podMetricsGrid(t, "any-ns", true)
		p := startProc(t, kubeconfig, args...)
		waitReady(t, p, http.StatusOK)
		waitMetrics(t, p, "pod metrics as "+saUser, func(m *harness.Metrics) (bool, string) {
			if ok, why := has(m, "kubejob_exporter_pod_metrics_up", nil, 1); !ok {
				return false, why
			}
			return has(m, "kubejob_container_memory_working_set_bytes", working, 48<<20)
		})
		if strings.Contains(p.Logs(), "forbidden") {
			t.Errorf("the exporter logged a forbidden error with components/pod-metrics' ClusterRole:\n%s", tail(p.Logs(), 4000))
		}
	})

	// Permissions removed from the ClusterRole: the exporter says which
	// verb on which resource it lacks, in its log, its metrics and /readyz.
	for _, c := range []struct {
		name      string
		rules     []any
		verb, res string
	}{
		{"without watch on pods", []any{rule("batch", "jobs", "list", "watch"), rule("", "pods", "list")}, "watch", "pods"},
		{"without watch on jobs", []any{rule("batch", "jobs", "list"), rule("", "pods", "list", "watch")}, "watch", "jobs"},
		// Neither verb: client-go's informers start with a streaming list
		// (a watch with sendInitialEvents), so watch is the first refused.
		{"without pods", []any{rule("batch", "jobs", "list", "watch")}, "watch", "pods"},
		// Not tested: "without list". Against an API server with streaming
		// lists (WatchList, on by default) the informers sync through the
		// watch verb alone; list stays in the ClusterRole for API servers
		// and client paths that fall back to a plain LIST.
	} {
		t.Run(c.name, func(t *testing.T) {
			cr := find(t, rbac, "ClusterRole", "kube-job-exporter").DeepCopy()
			cr.Object["rules"] = c.rules
			if err := a.apply(context.Background(), cr, false); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { applyBaseRBAC(t, a) })
			// The RBAC authorizer reads roles from an informer cache: wait
			// until the API server applies the change.
			waitCan(t, c.verb, map[string]string{"jobs": "batch", "pods": ""}[c.res], c.res, "", false)
			p := startProc(t, kubeconfig)
			// /readyz names the resource and forbidden (else this fails).
			waitReady(t, p, http.StatusServiceUnavailable, c.res, "forbidden")
			waitMetrics(t, p, "watch metrics", func(m *harness.Metrics) (bool, string) {
				if ok, why := has(m, "kubejob_exporter_watch_up", harness.Labels{"resource": c.res}, 0); !ok {
					return false, why
				}
				if v := m.Sum("kubejob_exporter_watch_errors_total", harness.Labels{"resource": c.res, "reason": "forbidden"}); v < 1 {
					return false, fmt.Sprintf("kubejob_exporter_watch_errors_total{resource=%q,reason=\"forbidden\"} = %v", c.res, v)
				}
				return true, ""
			})
			// One log line names the verb and the resource it may not use.
			want := fmt.Sprintf("cannot %s %s", c.verb, c.res)
			var line string
			for _, l := range strings.Split(p.Logs(), "\n") {
				if strings.Contains(l, want) && strings.Contains(l, "level=ERROR") {
					line = l
				}
			}
			if line == "" {
				t.Errorf("no ERROR log line with %q:\n%s", want, tail(p.Logs(), 4000))
			} else {
				t.Logf("exporter log: %s", line)
			}
		})
	}

	// Without events: the exporter stays ready and serves every Job (a Job
	// whose pods a quota refuses shows as one without pods), warns once in
	// its log that it may not watch events, and watch_up{events} is 0.
	t.Run("without events", func(t *testing.T) {
		cr := find(t, rbac, "ClusterRole", "kube-job-exporter").DeepCopy()
		cr.Object["rules"] = []any{rule("batch", "jobs", "list", "watch"), rule("", "pods", "list", "watch")}
		if err := a.apply(context.Background(), cr, false); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { applyBaseRBAC(t, a) })
		waitCan(t, "watch", "", "events", "", false)
		cond := createScenarios(t, "rbac-no-events")
		blocked := createQuotaBlocked(t, "rbac-no-events-quota")
		p := startProc(t, kubeconfig)
		waitReady(t, p, http.StatusOK)
		waitMetrics(t, p, "every Job without events", func(m *harness.Metrics) (bool, string) {
			for _, c := range []struct {
				name string
				l    harness.Labels
				v    float64
			}{
				{"kubejob_exporter_watch_up", harness.Labels{"resource": "events"}, 0},
				{"kubejob_exporter_watch_up", harness.Labels{"resource": "jobs"}, 1},
				{"kubejob_exporter_watch_up", harness.Labels{"resource": "pods"}, 1},
				{"kubejob_without_pods", blocked, 1},
			} {
				if ok, why := has(m, c.name, c.l, c.v); !ok {
					return false, why
				}
			}
			if v := m.Sum("kubejob_exporter_watch_errors_total", harness.Labels{"resource": "events", "reason": "forbidden"}); v < 1 {
				return false, fmt.Sprintf("kubejob_exporter_watch_errors_total{resource=\"events\",reason=\"forbidden\"} = %v", v)
			}
			return cond(m)
		})
		var lines []string
		for _, l := range strings.Split(p.Logs(), "\n") {
			if strings.Contains(l, "events") && (strings.Contains(l, "forbidden") || strings.Contains(l, "denies")) {
				lines = append(lines, l)
			}
		}
		if len(lines) != 1 || !strings.Contains(lines[0], "level=WARN") {
			t.Errorf("%d log lines about events, want one warning:\n%s", len(lines), tail(p.Logs(), 4000))
		} else {
			t.Logf("exporter log: %s", lines[0])
		}
	})

	// deploy/overlays/namespaced: only Roles in the listed namespaces, the
	// exporter with the overlay's own --watch.namespaces flag.
	t.Run("namespaced overlay", func(t *testing.T) {
		ctx := context.Background()
		for _, o := range ofKind(rbac, "ClusterRoleBinding", "ClusterRole") {
			if err := a.delete(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() { applyBaseRBAC(t, a) })
		// As shipped the Roles grant nothing on metrics.k8s.io; with
		// components/pod-metrics (the variant the exporter runs below)
		// they grant its list, in those namespaces only.
		shipped := build(t, deployDir("overlays", "namespaced"))
		objs := kustomizeWith(t, "", []string{deployDir("overlays", "namespaced")}, deployDir("components", "pod-metrics"))
		namespaces := strings.Split(flagValue(t, objs, "--watch.namespaces"), ",")
		for _, ns := range namespaces {
			ensureNamespace(t, ns, nil)
		}
		for _, variant := range [][]*unstructured.Unstructured{shipped, objs} {
			granted := hasFlag(t, variant, "--collector.pod-metrics")
			for _, o := range ofKind(variant, "Role", "RoleBinding") {
				if err := a.apply(ctx, o, false); err != nil {
					t.Fatal(err)
				}
			}
			for _, ns := range namespaces {
				waitCan(t, "list", "metrics.k8s.io", "pods", ns, granted)
				podMetricsGrid(t, ns, granted)
			}
			podMetricsGrid(t, "", false)
			podMetricsGrid(t, "no-role-here", false)
		}
		// Neither grants anything on kueue.x-k8s.io; with components/kueue
		// the Roles grant its list and watch, in those namespaces only.
		// The Roles of objs are applied again for the exporter below.
		for _, ns := range namespaces {
			kueueGrid(t, ns, false)
		}
		withKueue := kustomizeWith(t, "", []string{deployDir("overlays", "namespaced")}, deployDir("components", "pod-metrics"), deployDir("components", "kueue"))
		for _, variant := range [][]*unstructured.Unstructured{withKueue, objs} {
			granted := hasFlag(t, variant, "--collector.kueue")
			for _, o := range ofKind(variant, "Role", "RoleBinding") {
				if err := a.apply(ctx, o, false); err != nil {
					t.Fatal(err)
				}
			}
			for _, ns := range namespaces {
				waitCan(t, "watch", "kueue.x-k8s.io", "workloads", ns, granted)
				kueueGrid(t, ns, granted)
				podMetricsGrid(t, ns, true)
			}
			kueueGrid(t, "", false)
			kueueGrid(t, "no-role-here", false)
		}
		for _, ns := range namespaces {
			j := newJob(ns, "oom", "oom")
			j.Spec.BackoffLimit = ptr(int32(0))
			if _, err := cluster.Client().BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		waitCan(t, "list", "", "pods", "", false)
		for _, ns := range namespaces {
			waitCan(t, "watch", "", "pods", ns, true)
			waitCan(t, "list", "batch", "jobs", ns, true)
		}
		// The container's args, as the overlay with components/pod-metrics
		// renders them (the listen address is the test's): the pod metrics
		// poll lists metrics.k8s.io pods in each namespace under the Roles.
		args := []string{"--collector.pod-metrics.interval=1s"}
		for _, arg := range deployment(t, objs).Spec.Template.Spec.Containers[0].Args {
			if !strings.HasPrefix(arg, "--web.listen-address=") {
				args = append(args, arg)
			}
		}
		p := startProc(t, kubeconfig, args...)
		waitReady(t, p, http.StatusOK)
		waitMetrics(t, p, "namespaced", func(m *harness.Metrics) (bool, string) {
			if ok, why := noWatchErrors(m); !ok {
				return false, why
			}
			for _, ns := range namespaces {
				if ok, why := has(m, "kubejob_pod_failures", harness.Labels{"namespace": ns, "job_name": "oom", "reason": "OOMKilled"}, 1); !ok {
					return false, why
				}
			}
			return has(m, "kubejob_exporter_pod_metrics_up", nil, 1)
		})
		p.Stop()

		// A namespace without a Role: named in /readyz and the log.
		q := startProc(t, kubeconfig, "--watch.namespaces="+namespaces[0]+",no-role-here")
		// /readyz names forbidden and the namespace (else this fails).
		waitReady(t, q, http.StatusServiceUnavailable, "forbidden", "no-role-here")
	})
}

// createQuotaBlocked creates namespace ns with a ResourceQuota that allows
// no pod, and a Job there; it returns the Job's labels.
func createQuotaBlocked(t *testing.T, ns string) harness.Labels {
	t.Helper()
	ensureNamespace(t, ns, nil)
	ctx := context.Background()
	if err := harness.ZeroPodQuota(ctx, cluster.Client(), ns); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Client().BatchV1().Jobs(ns).Create(ctx, newJob(ns, "blocked", "succeed"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return harness.Labels{"namespace": ns, "job_name": "blocked"}
}

func rule(group, res string, verbs ...string) map[string]any {
	vs := make([]any, len(verbs))
	for i, v := range verbs {
		vs[i] = v
	}
	return map[string]any{"apiGroups": []any{group}, "resources": []any{res}, "verbs": vs}
}
