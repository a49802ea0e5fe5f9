package exporter

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube/kubefake"
)

// TestForbiddenListIsReported: without permission to list Jobs the exporter
// does not serve an empty page that looks healthy. /readyz fails naming the
// verb and resource, the watch metrics say why, and once the permission is
// back it recovers without a restart.
func TestForbiddenListIsReported(t *testing.T) {
	client := kubefake.New(fixture.Cluster()...)
	var forbid atomic.Bool
	forbid.Store(true)
	client.PrependReactor("list", "jobs", func(k8stesting.Action) (bool, runtime.Object, error) {
		if forbid.Load() {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "batch", Resource: "jobs"}, "",
				errors.New(`User "system:serviceaccount:monitoring:kube-job-exporter" cannot list resource "jobs" in API group "batch" at the cluster scope`))
		}
		return false, nil, nil
	})
	var logs strings.Builder
	exp, base := serveExporter(t, Config{Client: client, Backoff: job.DefaultBackoff, Logger: newTestLogger(&logs)})

	waitFor(t, "the forbidden list to be recorded", func() bool {
		return testutil.ToFloat64(exp.self.watchErrors.WithLabelValues("jobs", "forbidden")) > 0
	})
	resp, body := get(t, base+"/readyz", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "list jobs: forbidden") {
		t.Errorf("/readyz: %d %q, want 503 naming list jobs: forbidden", resp.StatusCode, body)
	}
	if !strings.Contains(string(body), "serviceaccount") {
		t.Errorf("/readyz of the main listener lost the server's message, which its operators read: %q", body)
	}
	// The unauthenticated health listener says as much, without the API
	// server's text (here the service account's name).
	probes := httptest.NewServer(exp.HealthHandler())
	defer probes.Close()
	resp, body = get(t, probes.URL+"/readyz", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "list jobs: forbidden") || strings.Contains(string(body), "serviceaccount") {
		t.Errorf("health listener /readyz: %d %q, want 503 naming list jobs: forbidden and nothing of the server's message", resp.StatusCode, body)
	}
	if v := testutil.ToFloat64(exp.self.watchUp.WithLabelValues("jobs")); v != 0 {
		t.Errorf("kubejob_exporter_watch_up{resource=jobs} = %v, want 0", v)
	}
	if !strings.Contains(logs.String(), "cannot list jobs: forbidden") {
		t.Errorf("no clear log line; logs:\n%s", logs.String())
	}
	if n := strings.Count(logs.String(), "cannot list jobs"); n != 1 {
		t.Errorf("logged %d times, want once per outage", n)
	}

	forbid.Store(false)
	jobs := fixtureJobs()
	waitFor(t, "recovery after the permission is restored", func() bool {
		return exp.health.Ready() == nil && exp.jobs.Store.Len() == jobs
	})
	if v := testutil.ToFloat64(exp.self.watchUp.WithLabelValues("jobs")); v != 1 {
		t.Errorf("kubejob_exporter_watch_up{resource=jobs} = %v after recovery, want 1", v)
	}
}

// fixtureJobs is the number of Jobs in the fixture cluster.
func fixtureJobs() int {
	n := 0
	for _, o := range fixture.Cluster() {
		if _, ok := o.(*batchv1.Job); ok {
			n++
		}
	}
	return n
}

// TestEventsDeniedKeepsServing: events only add why pods cannot be created.
// Without permission to list them the exporter stays ready and renders every
// Job, says once in the log that events are forbidden and reports
// watch_up{resource="events"} 0; the Jobs whose pods cannot be created still
// show kubejob_without_pods.
func TestEventsDeniedKeepsServing(t *testing.T) {
	client := kubefake.New(fixture.Cluster()...)
	client.PrependReactor("list", "events", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "events"}, "",
			errors.New(`User "system:serviceaccount:monitoring:kube-job-exporter" cannot list resource "events" in API group "" at the cluster scope`))
	})
	checked := make(chan struct{}, 100)
	client.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		review := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
		review.Status.Allowed = review.Spec.ResourceAttributes.Resource != "events"
		select {
		case checked <- struct{}{}:
		default:
		}
		return true, review, nil
	})
	var logs strings.Builder
	exp, err := New(Config{Client: client, Backoff: job.DefaultBackoff, Events: true, Logger: newTestLogger(&logs), PermissionCheckInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runExporter(t, exp)
	jobs := fixtureJobs()
	waitFor(t, "ready with every Job rendered and the events denial recorded", func() bool {
		return exp.health.Ready() == nil && exp.jobs.Store.Len() == jobs && exp.watcher.Pending() == 0 &&
			testutil.ToFloat64(exp.self.watchErrors.WithLabelValues("events", "forbidden")) > 0
	})
	if v := testutil.ToFloat64(exp.self.watchUp.WithLabelValues("events")); v != 0 {
		t.Errorf("kubejob_exporter_watch_up{resource=events} = %v, want 0", v)
	}
	if v := testutil.ToFloat64(exp.self.watchSynced.WithLabelValues("events")); v != 0 {
		t.Errorf("kubejob_exporter_watch_synced{resource=events} = %v, want 0", v)
	}
	for _, r := range []string{"jobs", "pods"} {
		if v := testutil.ToFloat64(exp.self.watchUp.WithLabelValues(r)); v != 1 {
			t.Errorf("kubejob_exporter_watch_up{resource=%s} = %v, want 1", r, v)
		}
	}
	for i := 0; i < 20; i++ { // several permission checks (6 reviews each) have run
		select {
		case <-checked:
		case <-time.After(30 * time.Second):
			t.Fatal("the permission checks stopped")
		}
	}
	var lines []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "events") && (strings.Contains(l, "forbidden") || strings.Contains(l, "denies")) {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "level=WARN") || !strings.Contains(lines[0], "--no-watch.events") {
		t.Errorf("%d log lines about events, want one warning saying what the exporter does without them:\n%s", len(lines), logs.String())
	}
	var body bytes.Buffer
	if _, err := exp.jobs.Store.WriteTo(&body); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body.String(), `kubejob_without_pods{namespace="quota",job_name="blocked"} 1`) {
		t.Errorf("a Job without pods is not shown without its events:\n%s", body.String())
	}
	if strings.Contains(body.String(), "kubejob_pod_create_failure_timestamp_seconds{") {
		t.Errorf("creation failures rendered although events are denied")
	}
}

// TestPermissionLossAtRuntime: RBAC revoked while the watches stay open
// (as they do on a real API server) is caught by the periodic access
// review: watch_up 0, a forbidden error counted, one log line naming what
// is denied, /readyz failing; allowed again, it recovers without restart.
func TestPermissionLossAtRuntime(t *testing.T) {
	client := kubefake.New(fixture.Cluster()...)
	var denyPodWatch atomic.Bool
	client.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		review := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
		attrs := review.Spec.ResourceAttributes
		review.Status.Allowed = !denyPodWatch.Load() || attrs.Resource != "pods" || attrs.Verb != "watch"
		return true, review, nil
	})
	var logs strings.Builder
	exp, err := New(Config{Client: client, Backoff: job.DefaultBackoff, Logger: newTestLogger(&logs), PermissionCheckInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runExporter(t, exp)
	waitFor(t, "ready", func() bool { return exp.health.Ready() == nil })

	denyPodWatch.Store(true)
	waitFor(t, "the denial to be reported", func() bool { return exp.health.Ready() != nil })
	if err := exp.health.Ready(); !strings.Contains(err.Error(), "forbidden, RBAC denies: watch pods cluster-wide") {
		t.Errorf("readiness error %q does not name the denied permission", err)
	}
	if v := testutil.ToFloat64(exp.self.watchUp.WithLabelValues("pods")); v != 0 {
		t.Errorf("watch_up{pods} = %v, want 0", v)
	}
	if v := testutil.ToFloat64(exp.self.watchUp.WithLabelValues("jobs")); v != 1 {
		t.Errorf("watch_up{jobs} = %v, want 1: jobs are still allowed", v)
	}
	if v := testutil.ToFloat64(exp.self.watchErrors.WithLabelValues("pods", "forbidden")); v != 1 {
		t.Errorf("watch_errors_total{pods,forbidden} = %v, want 1 (once per denial)", v)
	}
	denyPodWatch.Store(false)
	waitFor(t, "recovery", func() bool { return exp.health.Ready() == nil })
	if v := testutil.ToFloat64(exp.self.watchUp.WithLabelValues("pods")); v != 1 {
		t.Errorf("watch_up{pods} = %v after recovery, want 1", v)
	}
	if n := strings.Count(logs.String(), "RBAC denies the exporter: cannot watch pods cluster-wide"); n != 1 {
		t.Errorf("denial logged %d times, want 1:\n%s", n, logs.String())
	}
}

// TestPprofOnlyWhenEnabled: the runtime profiles are served with
// --web.enable-pprof and nowhere else (they expose the process's innards).
func TestPprofOnlyWhenEnabled(t *testing.T) {
	for _, on := range []bool{false, true} {
		exp, err := New(Config{Client: kubefake.New(), Backoff: job.DefaultBackoff, Pprof: on})
		if err != nil {
			t.Fatal(err)
		}
		h, err := exp.Handler()
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/pprof/heap?debug=1", nil))
		served := rec.Code == http.StatusOK && strings.Contains(rec.Body.String(), "# HeapAlloc = ")
		if served != on {
			t.Errorf("Pprof %v: GET /debug/pprof/heap answered %d, profile served: %v", on, rec.Code, served)
		}
	}
}

// TestPendingPodReachesStartTimeout: a pod pending in ContainerCreating is
// a normal start until --job.pod-start-timeout; then the Job is rendered
// again by itself (no watch event comes) and the pod counts as waiting.
func TestPendingPodReachesStartTimeout(t *testing.T) {
	now := time.Now()
	j := fixture.Job("web", "mount").Status(1, 0, 0, 0)
	j.J.Status.StartTime = &metav1.Time{Time: now}
	p := fixture.Pod(j.J, "a", 0).Waiting("ContainerCreating")
	p.P.CreationTimestamp = metav1.Time{Time: now}
	// Long enough that the exporter is ready well before the pod reaches it
	// (so the first check below sees the pod before the timeout).
	const timeout = 2 * time.Second
	exp, err := New(Config{Client: kubefake.New(j.J, p.P), Backoff: job.DefaultBackoff, StartTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	runExporter(t, exp)
	waitFor(t, "ready", func() bool { return exp.health.Ready() == nil })
	metrics := func() string {
		var b bytes.Buffer
		if _, err := exp.jobs.Store.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	const waiting = `kubejob_pods_waiting{namespace="web",job_name="mount",reason="ContainerCreating"} 1`
	if m := metrics(); time.Since(now) < timeout && strings.Contains(m, waiting) {
		t.Fatalf("counted as waiting before the timeout:\n%s", m)
	}
	waitFor(t, "the pod to count as waiting once pending for the timeout", func() bool { return strings.Contains(metrics(), waiting) })
	if time.Since(now) < timeout {
		t.Errorf("counted after %s, before the %s timeout", time.Since(now), timeout)
	}
}

// TestPodMetricsFollowJobFilters: memory usage is reported only for Jobs
// the exporter reports, whatever filter leaves a Job out (an excluded
// namespace, a Job selector).
func TestPodMetricsFollowJobFilters(t *testing.T) {
	for _, tt := range []struct {
		what string
		cfg  func(*Config)
		want int
	}{
		{"no filter", func(*Config) {}, 1},
		{"namespace excluded", func(c *Config) { c.ExcludeNamespaces = []string{"batch"} }, 0},
		{"Job selector", func(c *Config) { c.JobSelector = "team=none" }, 0},
	} {
		cfg := Config{Client: kubefake.New(fixture.Cluster()...), Backoff: job.DefaultBackoff,
			PodMetrics: fixture.PodMetricsClient().MetricsV1beta1(), PodMetricsInterval: time.Hour}
		tt.cfg(&cfg)
		exp, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); exp.Run(ctx) }()
		waitFor(t, "caches synced", func() bool { return exp.health.Ready() == nil && exp.watcher.Pending() == 0 })
		exp.podMetrics.Poll(ctx)
		if got := exp.podMemory.Store.Len(); got != tt.want {
			t.Errorf("%s: memory reported for %d Jobs, want %d: %v", tt.what, got, tt.want, exp.podMemory.Store.Keys())
		}
		cancel()
		<-done
	}
}
