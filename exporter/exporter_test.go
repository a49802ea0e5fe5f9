package exporter

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubeversion "k8s.io/apimachinery/pkg/version"

	"github.com/kube-job-exporter/kube-job-exporter/collectors"
	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube/kubefake"
	"github.com/kube-job-exporter/kube-job-exporter/metricstore"
)

var update = flag.Bool("update", false, "rewrite testdata/metrics.golden from the current output")

// prometheusAccept is the Accept header Prometheus 3 sends by default.
const prometheusAccept = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1"

// startFixture runs an exporter against the fixture cluster on a fake
// clientset and waits until every Job event has reached the metrics.
func startFixture(t *testing.T) (*Exporter, *httptest.Server) {
	t.Helper()
	return startFixtureWith(t, nil)
}

// startFixtureWith is startFixture with more: before the exporter starts,
// more changes the configuration and adds objects to the cluster; after
// the fixture's own changes, its returned function (if any) plays more
// and waits for it.
func startFixtureWith(t *testing.T, more func(*testing.T, *Config, *kubefake.Client) func(*Exporter)) (*Exporter, *httptest.Server) {
	t.Helper()
	client := kubefake.New(fixture.Cluster()...)
	cfg := Config{
		Client:       client,
		Backoff:      job.DefaultBackoff,
		StartTimeout: job.DefaultStartTimeout,
		Events:       true,
		CronJobs:     true,
		Collectors:   collectors.Options{MaxIndexSeries: 50},
		PodMetrics:   fixture.PodMetricsClient().MetricsV1beta1(),
		Runbooks:     os.DirFS("testdata/runbooks"),
		Version:      "test",
		// A build of v1.37.2 whose /version says so, as a real cluster's.
		APIServer: kubeversion.Info{Major: "1", Minor: "37", GitVersion: "v1.37.2"},
	}
	var after func(*Exporter)
	if more != nil {
		after = more(t, &cfg, client)
	}
	exp, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runExporter(t, exp)
	waitFor(t, "caches synced, all events processed, pod metrics read, CronJob objects watched", func() bool {
		return exp.health.Ready() == nil && exp.watcher.Pending() == 0 && exp.podMemory.Store.Len() > 0 && exp.crons.Objects()
	})
	failAndDelete(t, exp, client)
	waitFor(t, "the outcome of the Job that failed and went", func() bool {
		var out bytes.Buffer
		_, _ = exp.outcomes.Store.WriteTo(&out)
		return strings.Contains(out.String(), `kubejob_owner_jobs_finished_total{namespace="batch",owner_kind="Job",owner_name="gone",outcome="failed"`) &&
			strings.Contains(out.String(), `kubejob_owner_pod_failures_total{namespace="batch",owner_kind="Job",owner_name="gone"`) &&
			strings.Contains(out.String(), `kubejob_attempt_resource_seconds_total{namespace="batch",owner_kind="Job",owner_name="gone"`) &&
			!exp.jobs.Store.Has("batch/gone-fast") && exp.watcher.Pending() == 0
	})
	if after != nil {
		after(exp)
	}
	h, err := exp.Handler()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return exp, srv
}

// failAndDelete plays, after the initial list, what outlives its Job: a
// Job whose pod exits 1 fails at backoffLimit 0 and is deleted at once (a
// ttlSecondsAfterFinished of 0), so its outcome and its pod's failure are
// counted although the Job is gone.
func failAndDelete(t *testing.T, exp *Exporter, client *kubefake.Client) {
	t.Helper()
	ctx := context.Background()
	j := fixture.Job("batch", "gone-fast").BackoffLimit(0).Started(0)
	j.J.GenerateName = "gone-"
	// It holds 1 GiB (its limit, no request) from its start at 1 s to
	// its failure at 4 s: kubejob_attempt_resource_seconds_total.
	held := func(p *fixture.PodBuilder) *corev1.Pod {
		start := fixture.At(1)
		p.P.Status.StartTime = &start
		p.P.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}
		return p.P
	}
	pod := fixture.Pod(j.J, "a", 0).Running(1)
	held(pod)
	// The pod informer and the Job informer run apart: the pod fails only
	// once the Job is known, as in a cluster, where the controller
	// creates pods for a Job it has read.
	pods := exp.watcher.Pods()
	if _, err := client.BatchV1().Jobs("batch").Create(ctx, j.J, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new Job", func() bool { return exp.watcher.Tracks("batch/gone-fast") })
	if _, err := client.CoreV1().Pods("batch").Create(ctx, pod.P, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "its pod", func() bool { return exp.watcher.Pods() > pods })
	if _, err := client.CoreV1().Pods("batch").UpdateStatus(ctx, held(fixture.Pod(j.J, "a", 0).FailedWith("app", 1, "Error", 4)), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	failed := fixture.Job("batch", "gone-fast").BackoffLimit(0).Started(0).Status(0, 0, 0, 1).Failed("BackoffLimitExceeded", 5).J
	failed.GenerateName = "gone-"
	if _, err := client.BatchV1().Jobs("batch").UpdateStatus(ctx, failed, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := client.CoreV1().Pods("batch").Delete(ctx, pod.P.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := client.BatchV1().Jobs("batch").Delete(ctx, "gone-fast", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func get(t *testing.T, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req) // no transparent gzip
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// stableFamilies drops what varies between runs and machines: Go runtime
// and process metrics, build info, latency histograms.
func stableFamilies(t *testing.T, body []byte) []byte {
	t.Helper()
	mfs, err := metricstore.ParseText(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	var out bytes.Buffer
	enc := expfmt.NewEncoder(&out, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		name := mf.GetName()
		switch {
		case !strings.HasPrefix(name, "kubejob_"),
			name == "kubejob_exporter_build_info",
			name == "kubejob_exporter_event_processing_delay_seconds",
			name == "kubejob_exporter_scrape_duration_seconds":
			continue
		}
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

// TestGolden compares the whole /metrics output for the fixture cluster with
// testdata/metrics.golden (regenerate: make golden-update).
func TestGolden(t *testing.T) {
	_, srv := startFixture(t)
	resp, body := get(t, srv.URL+"/metrics", map[string]string{"Accept": prometheusAccept})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	got := stableFamilies(t, body)
	const golden = "testdata/metrics.golden"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run make golden-update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("/metrics differs from %s; diff it after make golden-update:\n%s", golden, lineDiff(string(want), string(got)))
	}
}

// lineDiff lists lines only in want (-) or only in got (+).
func lineDiff(want, got string) string {
	inWant, inGot := map[string]bool{}, map[string]bool{}
	for _, l := range strings.Split(want, "\n") {
		inWant[l] = true
	}
	for _, l := range strings.Split(got, "\n") {
		inGot[l] = true
	}
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if !inGot[l] {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if !inWant[l] {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}

// TestScrapeFormats checks what a scraper gets: Prometheus's default Accept
// header gets the text format, which parses; gzip when asked for.
func TestScrapeFormats(t *testing.T) {
	_, srv := startFixture(t)
	resp, plain := get(t, srv.URL+"/metrics", map[string]string{"Accept": prometheusAccept})
	if ct := resp.Header.Get("Content-Type"); expfmt.ResponseFormat(resp.Header).FormatType() != expfmt.TypeTextPlain {
		t.Fatalf("Content-Type %q is not the text format", ct)
	}
	if _, err := metricstore.ParseText(bytes.NewReader(plain)); err != nil {
		t.Fatalf("plain body does not parse: %v", err)
	}
	resp, zipped := get(t, srv.URL+"/metrics", map[string]string{"Accept": prometheusAccept, "Accept-Encoding": "gzip"})
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("no gzip encoding: %v", resp.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stableFamilies(t, unzipped), stableFamilies(t, plain)) {
		t.Fatal("gzip and plain bodies differ")
	}
	resp, _ = get(t, srv.URL+"/metrics", map[string]string{"Accept-Encoding": "gzip;q=0"})
	if resp.Header.Get("Content-Encoding") != "" {
		t.Fatal("gzip served although refused with q=0")
	}
}

func TestHealthAndLanding(t *testing.T) {
	_, srv := startFixture(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		if resp, body := get(t, srv.URL+path, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
	resp, body := get(t, srv.URL+"/", nil)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`href="./metrics"`)) {
		t.Errorf("landing page: %d, links to /metrics: %v", resp.StatusCode, bytes.Contains(body, []byte("/metrics")))
	}
}

// TestDeletedJobSeriesDisappear deletes Jobs and checks their series go,
// while the CronJob's series stay as long as the CronJob object does (its
// memory of a deleted run, and the controller's last success), and go with
// the object.
func TestDeletedJobSeriesDisappear(t *testing.T) {
	exp, srv := startFixture(t)
	client := exp.cfg.Client.(*kubefake.Client)
	ctx := context.Background()
	lastFailure := []byte(`kubejob_cronjob_last_failure_timestamp_seconds{namespace="batch",cronjob="nightly",reason="BackoffLimitExceeded"}`)
	for _, name := range []string{"nightly-29000000", "nightly-28999999"} {
		if err := client.BatchV1().Jobs("batch").Delete(ctx, name, metav1DeleteOptions()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the deleted Job's series to go", func() bool { return !exp.jobs.Store.Has("batch/" + name) })
	}
	_, body := get(t, srv.URL+"/metrics", nil)
	if bytes.Contains(body, []byte(`job_name="nightly-29000000"`)) {
		t.Error("series of the deleted Job still exposed")
	}
	if !bytes.Contains(body, lastFailure) {
		t.Error("the CronJob's last failure was forgotten with its runs, while the CronJob exists")
	}
	if err := client.BatchV1().CronJobs("batch").Delete(ctx, "nightly", metav1DeleteOptions()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the CronJob's series to go with it", func() bool { return !exp.crons.Store.Has("batch/nightly") })
	_, body = get(t, srv.URL+"/metrics", nil)
	if bytes.Contains(body, []byte(`cronjob="nightly"`)) {
		t.Error("series of the deleted CronJob still exposed")
	}
}

// TestCronJobsFromRunsAlone: without the CronJob objects (not watched, or
// denied) a CronJob is reported from its runs while one is present, and
// goes with the last.
func TestCronJobsFromRunsAlone(t *testing.T) {
	client := kubefake.New(fixture.Cluster()...)
	exp, err := New(Config{Client: client, Backoff: job.DefaultBackoff})
	if err != nil {
		t.Fatal(err)
	}
	ctx := runExporter(t, exp)
	waitFor(t, "caches synced", func() bool { return exp.health.Ready() == nil && exp.watcher.Pending() == 0 })
	if !exp.crons.Store.Has("batch/nightly") || exp.crons.Store.Has("batch/hourly") {
		t.Fatalf("CronJobs reported from runs: %v, want batch/nightly only (hourly has no run present)", exp.crons.Store.Keys())
	}
	for _, name := range []string{"nightly-29000000", "nightly-28999999"} {
		if err := client.BatchV1().Jobs("batch").Delete(ctx, name, metav1DeleteOptions()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the CronJob's series to go with its last Job", func() bool { return exp.crons.Len() == 0 })
}

// TestRunbookShowsLiveEvidence: the runbook link of a page opens with that
// Job's diagnosis from the exporter's cache, escaped, and says so when the
// Job is unknown.
func TestRunbookShowsLiveEvidence(t *testing.T) {
	_, srv := startFixture(t)
	resp, body := get(t, srv.URL+"/runbooks/KubeJobTest?namespace=batch&job_name=oom", nil)
	page := string(body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, page)
	}
	for _, want := range []string{"This Job now", "Job batch/oom: FAILED (BackoffLimitExceeded)", "memory limit 512Mi hit", "kubectl describe job oom -n batch"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	_, body = get(t, srv.URL+"/runbooks/KubeJobTest?namespace=batch&job_name=gone", nil)
	if !strings.Contains(string(body), "is not in the exporter's cache") {
		t.Errorf("unknown Job not explained:\n%s", body)
	}
}

// TestRunbookShowsCronJob: a CronJob alert's page (namespace and cronjob,
// no Job) shows the CronJob: its schedule, its runs, the diagnosis of its
// newest failed run; a CronJob whose run is held back says which run
// holds it; an unknown one says so.
func TestRunbookShowsCronJob(t *testing.T) {
	_, srv := startFixture(t)
	for cj, wants := range map[string][]string{
		"nightly": {"This CronJob now", "CronJob batch/nightly: ", "<dt>Schedule</dt><dd><code>0 12 * * *</code>", "nightly-28999999", "<dt>Failed</dt><dd>2026-11-01T12:00:40Z (BackoffLimitExceeded)",
			"<h4>The newest failed run</h4>", "Job batch/nightly-29000000 (CronJob nightly): FAILED (BackoffLimitExceeded)"},
		"hourly": {"CronJob batch/hourly: STUCK", "run hourly-29000000 is still active and concurrencyPolicy is Forbid"},
	} {
		_, body := get(t, srv.URL+"/runbooks/KubeCronJobLastRunFailed?namespace=batch&cronjob="+cj, nil)
		for _, w := range wants {
			if !strings.Contains(string(body), w) {
				t.Errorf("%s: page lacks %q:\n%s", cj, w, body)
			}
		}
	}
	_, body := get(t, srv.URL+"/runbooks/KubeCronJobLastRunFailed?namespace=batch&cronjob=weekly", nil)
	if !strings.Contains(string(body), "CronJob <code>batch/weekly</code> is not reported by this exporter now") {
		t.Errorf("unknown CronJob not explained:\n%s", body)
	}
}

// TestRunbookShowsWhyPodsCannotBeCreated: for a Job whose pods a quota
// refuses, the page alone names the quota as the cause, shows the Job
// controller's event (read for the request) and the command that shows the
// quota.
func TestRunbookShowsWhyPodsCannotBeCreated(t *testing.T) {
	_, srv := startFixture(t)
	_, body := get(t, srv.URL+"/runbooks/KubeJobTest?namespace=quota&job_name=blocked", nil)
	page := string(body)
	for _, want := range []string{
		"Job quota/blocked: STUCK",
		"<code>Quota</code> ×7",
		"<h4>Events (newest first)</h4>",
		"exceeded quota: pods-zero",
		"kubectl describe resourcequota -n quota",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
}

// TestHealthHandlerAlone: the probe-only handler (for a listener without
// auth) answers the probes and nothing else.
func TestHealthHandlerAlone(t *testing.T) {
	exp, _ := startFixture(t)
	srv := httptest.NewServer(exp.HealthHandler())
	defer srv.Close()
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 404, "/runbooks/KubeJobTest": 404, "/": 404} {
		if resp, _ := get(t, srv.URL+path, nil); resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}
