package exporter

import (
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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// TestForbiddenListIsReported: without permission to list Jobs the exporter
// does not serve an empty page that looks healthy. /readyz fails naming the
// verb and resource, the watch metrics say why, and once the permission is
// back it recovers without a restart.
func TestForbiddenListIsReported(t *testing.T) {
	client := fake.NewClientset(fixture.Cluster()...)
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
	exp, err := New(Config{Client: client, Backoff: job.DefaultBackoff, Logger: newTestLogger(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); exp.Run(ctx) }()
	defer func() { cancel(); <-done }()
	h, err := exp.Handler()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	waitFor(t, "the forbidden list to be recorded", func() bool {
		return testutil.ToFloat64(exp.Self.watchErrors.WithLabelValues("jobs", "forbidden")) > 0
	})
	resp, body := get(t, srv.URL+"/readyz", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "list jobs: forbidden") {
		t.Errorf("/readyz: %d %q, want 503 naming list jobs: forbidden", resp.StatusCode, body)
	}
	if v := testutil.ToFloat64(exp.Self.watchUp.WithLabelValues("jobs")); v != 0 {
		t.Errorf("kubejob_exporter_watch_up{resource=jobs} = %v, want 0", v)
	}
	if !strings.Contains(logs.String(), "cannot list jobs: forbidden") {
		t.Errorf("no clear log line; logs:\n%s", logs.String())
	}
	if n := strings.Count(logs.String(), "cannot list jobs"); n != 1 {
		t.Errorf("logged %d times, want once per outage", n)
	}

	forbid.Store(false)
	waitFor(t, "recovery after the permission is restored", func() bool {
		return exp.Self.Ready() == nil && exp.Jobs.Store.Len() == 14
	})
	if v := testutil.ToFloat64(exp.Self.watchUp.WithLabelValues("jobs")); v != 1 {
		t.Errorf("kubejob_exporter_watch_up{resource=jobs} = %v after recovery, want 1", v)
	}
}

// TestPermissionLossAtRuntime: RBAC revoked while the watches stay open
// (as they do on a real API server) is caught by the periodic access
// review: watch_up 0, a forbidden error counted, one log line naming what
// is denied, /readyz failing; allowed again, it recovers without restart.
func TestPermissionLossAtRuntime(t *testing.T) {
	client := fake.NewClientset(fixture.Cluster()...)
	var denyPodWatch atomic.Bool
	client.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		review := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
		attrs := review.Spec.ResourceAttributes
		review.Status.Allowed = !(denyPodWatch.Load() && attrs.Resource == "pods" && attrs.Verb == "watch")
		return true, review, nil
	})
	var logs strings.Builder
	exp, err := New(Config{Client: client, Backoff: job.DefaultBackoff, Logger: newTestLogger(&logs), PermissionCheckInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); exp.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "ready", func() bool { return exp.Self.Ready() == nil })

	denyPodWatch.Store(true)
	waitFor(t, "the denial to be reported", func() bool { return exp.Self.Ready() != nil })
	if err := exp.Self.Ready(); !strings.Contains(err.Error(), "RBAC denies: watch pods cluster-wide") {
		t.Errorf("readiness error %q does not name the denied permission", err)
	}
	if v := testutil.ToFloat64(exp.Self.watchUp.WithLabelValues("pods")); v != 0 {
		t.Errorf("watch_up{pods} = %v, want 0", v)
	}
	if v := testutil.ToFloat64(exp.Self.watchUp.WithLabelValues("jobs")); v != 1 {
		t.Errorf("watch_up{jobs} = %v, want 1: jobs are still allowed", v)
	}
	if v := testutil.ToFloat64(exp.Self.watchErrors.WithLabelValues("pods", "forbidden")); v != 1 {
		t.Errorf("watch_errors_total{pods,forbidden} = %v, want 1 (once per denial)", v)
	}
	denyPodWatch.Store(false)
	waitFor(t, "recovery", func() bool { return exp.Self.Ready() == nil })
	if v := testutil.ToFloat64(exp.Self.watchUp.WithLabelValues("pods")); v != 1 {
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
		exp, err := New(Config{Client: fake.NewClientset(), Backoff: job.DefaultBackoff, Pprof: on})
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
