package exporter

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	kubeversion "k8s.io/apimachinery/pkg/version"
	fakediscovery "k8s.io/client-go/discovery/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube/kubefake"
	"github.com/kube-job-exporter/kube-job-exporter/metricstore"
)

// refused is the error client-go returns when nothing listens at the API
// server's address.
var refused = &url.Error{Op: "Get", URL: "https://10.96.0.1:443/version", Err: &net.OpError{
	Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}}

// unreachableCluster is the fixture cluster behind an API server that
// refuses connections until reachable is set; it reports v1.37.2 then.
func unreachableCluster(t *testing.T) (*kubefake.Client, *atomic.Bool) {
	t.Helper()
	client := kubefake.New(fixture.Cluster()...)
	client.Discovery().(*fakediscovery.FakeDiscovery).FakedServerVersion = &kubeversion.Info{Major: "1", Minor: "37", GitVersion: "v1.37.2"}
	reachable := &atomic.Bool{}
	client.PrependReactor("*", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		if reachable.Load() {
			return false, nil, nil
		}
		return true, nil, refused
	})
	return client, reachable
}

// fastRetries keep the unit tests quick: the attempts are what is
// asserted, never how long they took.
var fastRetries = wait.Backoff{Duration: time.Millisecond, Factor: 2, Steps: 1 << 30, Cap: 4 * time.Millisecond}

// TestStartsWithoutAPIServer: started while the API server refuses
// connections, the exporter serves: /healthz ok, /readyz 503 saying it
// cannot reach the API server and why (without the address on the
// unauthenticated listener), /metrics with its own metrics and the
// watches down, unreachable, and no Job series. It retries, logging the
// trouble once, not per attempt. When the server answers it takes the
// backoff for the server's version, watches, becomes ready, and renders
// what an exporter started with the server up renders.
func TestStartsWithoutAPIServer(t *testing.T) {
	client, reachable := unreachableCluster(t)
	var logs strings.Builder
	var mu sync.Mutex
	var asked []kubeversion.Info
	chosen := job.Backoff{Initial: 10 * time.Second, Max: 10 * time.Minute}
	exp, base := serveExporter(t, Config{Client: client, Events: true, CronJobs: true,
		Backoff: job.Backoff{Initial: time.Second, Max: time.Minute}, // what BackoffFor replaces
		BackoffFor: func(v kubeversion.Info) (job.Backoff, error) {
			mu.Lock()
			defer mu.Unlock()
			asked = append(asked, v)
			return chosen, nil
		},
		ConnectBackoff: fastRetries, Logger: newTestLogger(&logs)})
	probes := httptest.NewServer(exp.HealthHandler())
	defer probes.Close()

	waitFor(t, "three failed attempts", func() bool {
		return testutil.ToFloat64(exp.self.watchErrors.WithLabelValues("jobs", "unreachable")) >= 3
	})
	if resp, body := get(t, base+"/healthz", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %d %q, want 200: the process is fine, a restart would not help", resp.StatusCode, body)
	}
	resp, body := get(t, base+"/readyz", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "not ready: cannot reach the Kubernetes API server: unreachable: ") ||
		!strings.Contains(string(body), "connection refused") {
		t.Errorf("/readyz: %d %q, want 503 saying the API server is unreachable, with the client's error", resp.StatusCode, body)
	}
	resp, body = get(t, probes.URL+"/readyz", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || strings.TrimSpace(string(body)) != "not ready: cannot reach the Kubernetes API server: unreachable" {
		t.Errorf("health listener /readyz: %d %q, want 503 with the reason only", resp.StatusCode, body)
	}
	resp, body = get(t, base+"/metrics", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %q", resp.StatusCode, body)
	}
	families := familiesOf(t, body)
	if families["kubejob_exporter_build_info"] == 0 {
		t.Error("/metrics lacks kubejob_exporter_build_info")
	}
	if families["kubejob_exporter_kube_apiserver_info"] != 0 {
		t.Error("kubejob_exporter_kube_apiserver_info before the API server answered")
	}
	for name := range families {
		if strings.HasPrefix(name, "kubejob_") && !strings.HasPrefix(name, "kubejob_exporter_") {
			t.Errorf("/metrics has %s before the API server answered", name)
		}
	}
	for _, r := range []string{"jobs", "pods", "events", "cronjobs"} {
		if v := testutil.ToFloat64(exp.self.watchUp.WithLabelValues(r)); v != 0 {
			t.Errorf("kubejob_exporter_watch_up{resource=%q} = %v, want 0", r, v)
		}
		if v := testutil.ToFloat64(exp.self.watchErrors.WithLabelValues(r, "unreachable")); v < 3 {
			t.Errorf("kubejob_exporter_watch_errors_total{resource=%q,reason=unreachable} = %v, want every attempt", r, v)
		}
	}
	if n := strings.Count(logs.String(), "cannot reach the Kubernetes API server"); n != 1 {
		t.Errorf("the refusal logged %d times over %v attempts, want once:\n%s", n,
			testutil.ToFloat64(exp.self.watchErrors.WithLabelValues("jobs", "unreachable")), logs.String())
	}
	mu.Lock()
	if len(asked) != 0 {
		t.Errorf("BackoffFor called before the server answered: %v", asked)
	}
	mu.Unlock()

	reachable.Store(true)
	jobs := fixtureJobs()
	waitFor(t, "ready, every Job rendered", func() bool {
		return exp.ready(false) == nil && exp.jobs.Store.Len() == jobs && exp.watcher.Pending() == 0 && exp.crons.Objects()
	})
	if resp, body := get(t, base+"/readyz", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz after the API server answered: %d %q", resp.StatusCode, body)
	}
	mu.Lock()
	if len(asked) != 1 || asked[0].GitVersion != "v1.37.2" {
		t.Errorf("BackoffFor asked with %v, want once with the server's v1.37.2", asked)
	}
	mu.Unlock()
	if got := exp.watcher.Options().Backoff; got != chosen {
		t.Errorf("the Summaries use backoff %+v, want BackoffFor's %+v", got, chosen)
	}
	_, body = get(t, base+"/metrics", nil)
	if !strings.Contains(string(body), `kubejob_exporter_kube_apiserver_info{git_version="v1.37.2",minor="37"} 1`) {
		t.Error("no kubejob_exporter_kube_apiserver_info for v1.37.2 after the server answered")
	}
	if strings.Count(logs.String(), "the Kubernetes API server answered") != 1 {
		t.Errorf("the answer not logged once:\n%s", logs.String())
	}

	// An exporter that never waited, against the same cluster, renders the
	// same.
	client.Discovery().(*fakediscovery.FakeDiscovery).FakedServerVersion = &kubeversion.Info{Major: "1", Minor: "37", GitVersion: "v1.37.2"}
	fresh, err := New(Config{Client: client, Events: true, CronJobs: true, Backoff: chosen})
	if err != nil {
		t.Fatal(err)
	}
	runExporter(t, fresh)
	waitFor(t, "the fresh exporter ready", func() bool {
		return fresh.ready(false) == nil && fresh.jobs.Store.Len() == jobs && fresh.watcher.Pending() == 0 && fresh.crons.Objects()
	})
	for i, pair := range [][2]*metricstore.Store{{fresh.jobs.Store, exp.jobs.Store}, {fresh.crons.Store, exp.crons.Store}} {
		want, got := sortedLines(pair[0]), sortedLines(pair[1])
		if want != got || want == "" {
			t.Errorf("store %d: the exporter that waited renders\n%s\nwant (a fresh exporter's)\n%s", i, got, want)
		}
	}
}

// sortedLines is a store's exposition, its lines sorted: two stores fed
// the same objects in another order hold the same series in another order.
func sortedLines(s *metricstore.Store) string {
	var b bytes.Buffer
	_, _ = s.WriteTo(&b)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func familiesOf(t *testing.T, body []byte) map[string]int {
	t.Helper()
	mfs, err := parseBody(body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, mf := range mfs {
		out[mf.GetName()] = len(mf.GetMetric())
	}
	return out
}

// TestConnectTimeout: with --kube.connect-timeout set, Run gives up when
// the API server has not answered by then, saying why; without it, Run
// waits until it is stopped, and then returns no error (a shutdown).
func TestConnectTimeout(t *testing.T) {
	client, _ := unreachableCluster(t)
	exp, err := New(Config{Client: client, Backoff: job.DefaultBackoff, ConnectTimeout: 50 * time.Millisecond, ConnectBackoff: fastRetries})
	if err != nil {
		t.Fatal(err)
	}
	err = exp.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot reach the Kubernetes API server: no answer within --kube.connect-timeout (50ms)") ||
		!errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Run: %v; want no answer within the timeout, wrapping the refusal", err)
	}
	if exp.jobs.Store.Len() != 0 {
		t.Error("Jobs rendered without an API server")
	}

	exp, err = New(Config{Client: client, Backoff: job.DefaultBackoff, ConnectBackoff: fastRetries})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- exp.Run(ctx) }()
	waitFor(t, "failed attempts", func() bool {
		return testutil.ToFloat64(exp.self.watchErrors.WithLabelValues("jobs", "unreachable")) >= 2
	})
	select {
	case err := <-done:
		t.Fatalf("Run ended while the API server is away, with no timeout: %v", err)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run stopped while waiting: %v, want nil (a shutdown)", err)
	}
}

// TestBackoffForRefuses: a version the backoff flags cannot work with (an
// --job.backoff-initial above that version's cap) is a configuration error:
// Run stops with it and watches nothing.
func TestBackoffForRefuses(t *testing.T) {
	client := kubefake.New(fixture.Cluster()...)
	refusal := errors.New("need 0 < --job.backoff-initial (8m0s) <= --job.backoff-max (6m0s)")
	exp, err := New(Config{Client: client, BackoffFor: func(kubeversion.Info) (job.Backoff, error) { return job.Backoff{}, refusal }})
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Run(context.Background()); !errors.Is(err, refusal) {
		t.Errorf("Run: %v, want the refusal", err)
	}
	if exp.jobs.Store.Len() != 0 {
		t.Error("Jobs rendered with a refused backoff")
	}
}
