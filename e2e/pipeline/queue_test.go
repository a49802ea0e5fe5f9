package pipeline

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	kueue "sigs.k8s.io/kueue/apis/kueue/v1beta2"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// Kueue's alerts, paged through a Prometheus and an Alertmanager of their
// own: they scrape an exporter with --collector.kueue, started once
// Kueue's CRDs (v0.17.0, harness/kueue.go) are installed, and evaluate the
// mixin with the queue alerts' limits shortened (queueMixinConfig). The
// suite's own pipeline runs the mixin as the other tests need it.

// queueMixinConfig: a Job waiting 5s for admission is too long here
// (3600s), an admitted Job still suspended after 3s too (10m); their
// `for` (1m) and keep_firing_for (2m) shortened as the suite's.
var queueMixinConfig = map[string]any{
	"queueWaitLimitSeconds": 5, "queueWaitFor": "2s",
	"queueAdmittedNotStartedFor": "3s",
	"keepFiringForAtRisk":        keepFiringFor.String(),
}

// TestKueueAlerts: a Job waiting on GPU quota pages
// KubeJobWaitingForAdmission with its queue, ClusterQueue, cause and the
// command that shows it, and a live report with Kueue's message; admitted
// but not started, KubeJobAdmittedNotStarted; started, both resolve. A Job
// a person suspended (no queue label) pages nothing.
func TestKueueAlerts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	start := time.Now()
	version, err := harness.InstallKueueCRDs(ctx, cluster.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	k, err := harness.NewKueue(cluster.RESTConfig(), cluster.Client())
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(filepath.Dir(cluster.WorkDir()), "kueue")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	bin, err := harness.BuildExporter(ctx, work, nil)
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(work, "exporter.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	initial, maxBackoff := cluster.JobBackoff()
	exp, err := harness.StartExporter(ctx, harness.ExporterOptions{
		Binary: bin, Kubeconfig: cluster.Kubeconfig(), BackoffInitial: initial, BackoffMax: maxBackoff,
		Output: logf, Args: []string{"--collector.kueue"},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups, not defers: they run after the parallel subtests.
	t.Cleanup(func() { exp.Stop() })
	amConfig, err := harness.ExampleAlertmanagerConfig()
	if err != nil {
		t.Fatal(err)
	}
	p, err := harness.StartPipeline(ctx, harness.PipelineOptions{
		ExporterAddr: exp.Addr(), WorkDir: filepath.Join(work, "pipeline"),
		PrometheusBinary: pipe.PrometheusBinary, AlertmanagerBinary: pipe.AlertmanagerBinary,
		MixinConfig: queueMixinConfig, AlertmanagerConfigFile: amConfig,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop() })
	t.Logf("the CRDs of Kueue %s, an exporter with --collector.kueue, Prometheus and Alertmanager up in %s", version, time.Since(start).Round(time.Millisecond))

	t.Run("WaitingForAdmission", func(t *testing.T) { testWaitingForAdmissionPages(t, k, exp, p) })
	t.Run("PersonSuspendedNoPage", func(t *testing.T) { testPersonSuspendedNoPage(t, p) })
}

func testWaitingForAdmissionPages(t *testing.T, k *harness.Kueue, exp *harness.Exporter, p *harness.Pipeline) {
	t.Parallel()
	e := newEnv(t, "p30-kueue-wait")
	gpus := func(n int64) corev1.ResourceList {
		return corev1.ResourceList{"nvidia.com/gpu": *resource.NewQuantity(n, resource.DecimalSI)}
	}
	flavor, cq := "a100-"+e.NS, "gpus-"+e.NS
	if err := k.ResourceFlavor(e.Ctx, flavor); err != nil {
		t.Fatal(err)
	}
	if err := k.ClusterQueue(e.Ctx, cq, flavor, gpus(2)); err != nil {
		t.Fatal(err)
	}
	if err := k.LocalQueue(e.Ctx, e.NS, "team-gpus", cq); err != nil {
		t.Fatal(err)
	}
	job := harness.QueuedJob(e.NewJob("train", "run=forever"), "team-gpus")
	job.Spec.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: gpus(4), Limits: gpus(4)}
	j := e.Create(job)
	wl, err := k.CreateWorkloadFor(e.Ctx, j, 0)
	if err != nil {
		t.Fatal(err)
	}
	msg := "couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor " + flavor + ", 2 more needed"
	if wl, err = k.Pending(e.Ctx, wl, msg); err != nil {
		t.Fatal(err)
	}

	want := map[string]string{"alertname": "KubeJobWaitingForAdmission", "namespace": e.NS, "job_name": "train", "queue": "team-gpus", "severity": "warning"}
	a, err := p.Webhook.WaitAlert(e.Ctx, pageWindow+10*time.Second, alertMatch("firing", want), inNamespace(e.NS))
	if err != nil {
		t.Fatalf("KubeJobWaitingForAdmission: %v", err)
	}
	t.Logf("paged %s after the Workload's creation: %s", a.Received.Sub(wl.CreationTimestamp.Time).Round(10*time.Millisecond), a)
	for ann, says := range map[string][]string{
		"summary":     {"Job " + e.NS + "/train has waited ", "for Kueue to admit it to queue team-gpus (ClusterQueue " + cq + "): InsufficientQuota."},
		"description": {"until Kueue admits its Workload", "kubectl describe clusterqueue " + cq},
	} {
		for _, s := range says {
			if !strings.Contains(a.Annotations[ann], s) {
				t.Errorf("%s lacks %q:\n%s", ann, s, a.Annotations[ann])
			}
		}
		if m := unresolvedQuery.FindString(a.Annotations[ann]); m != "" {
			t.Errorf("%s has an unanswered template query (%q):\n%s", ann, m, a.Annotations[ann])
		}
	}
	if a.Receiver != jobReceiver {
		t.Errorf("receiver %q, want %q", a.Receiver, jobReceiver)
	}
	liveReport(e.Ctx, t, exp, a, "team-gpus", cq, "InsufficientQuota", msg)
	since := j.CreationTimestamp.Add(-10 * time.Second)
	d := drillDown(t, p, e.NS, "train", since)
	d.instant("Queue state/A", nil, 1) // Waiting
	d.instant("Why it waits/A", map[string]string{"cause": "InsufficientQuota"}, -1)
	d.instant("Waiting for/A", nil, -1)
	d.has("Queue/A", map[string]string{"queue": "team-gpus", "cluster_queue": cq})
	d.empty("Admitted, suspended for/A")

	// Quota raised, admitted, not started: the other alert; started: both go.
	if err := k.SetClusterQueueQuota(e.Ctx, cq, flavor, gpus(4)); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Admit(e.Ctx, wl, cq, flavor); err != nil {
		t.Fatal(err)
	}
	admitted := time.Now()
	notStarted := map[string]string{"alertname": "KubeJobAdmittedNotStarted", "namespace": e.NS, "job_name": "train", "queue": "team-gpus"}
	if _, err := p.Webhook.WaitAlert(e.Ctx, pageWindow, alertMatch("firing", notStarted), inNamespace(e.NS)); err != nil {
		t.Fatalf("KubeJobAdmittedNotStarted: %v", err)
	}
	d = drillDown(t, p, e.NS, "train", since)
	d.instant("Queue state/A", nil, 2) // Admitted, not started
	d.instant("Admitted, suspended for/A", nil, -1)
	d.empty("Waiting for/A")
	started := time.Now()
	if err := k.StartJob(e.Ctx, e.NS, "train"); err != nil {
		t.Fatal(err)
	}
	e.WaitJob("train", "an active pod", func(j *batchv1.Job) bool { return j.Status.Active == 1 })
	// Each resolves once its series is gone (admitted: no longer waiting;
	// started: no longer suspended) and keep_firing_for has passed.
	for _, c := range []struct {
		labels map[string]string
		since  time.Time
		what   string
	}{{want, admitted, "the admission"}, {notStarted, started, "the start"}} {
		r, err := p.Webhook.WaitAlert(e.Ctx, keepFiringFor+pageWindow, alertMatch("resolved", c.labels), inNamespace(e.NS))
		if err != nil {
			t.Fatalf("%s not resolved after %s: %v", c.labels["alertname"], c.what, err)
		}
		d := r.Received.Sub(c.since)
		t.Logf("%s resolved %s after %s", c.labels["alertname"], d.Round(10*time.Millisecond), c.what)
		if d < keepFiringFor {
			t.Errorf("%s resolved %s after %s, before keep_firing_for (%s)", c.labels["alertname"], d, c.what, keepFiringFor)
		}
	}
	d = drillDown(t, p, e.NS, "train", since)
	d.instant("Queue state/A", nil, 3) // Admitted, running

	// Preempted while it runs: the drill-down shows its owner's eviction
	// by reason.
	if _, err := k.Evict(e.Ctx, wl, kueue.WorkloadEvictedByPreemption, kueue.InClusterQueueReason, "Preempted to accommodate a workload"); err != nil {
		t.Fatal(err)
	}
	waitPrometheusOf(t, p.Prometheus, fmt.Sprintf(`kubejob_owner_queue_evictions_total{namespace=%q,owner_name="train",reason=%q}`, e.NS, kueue.InClusterQueueReason), pageWindow)
	drillDown(t, p, e.NS, "train", since).instant("Owner's evictions by reason/A", map[string]string{"reason": kueue.InClusterQueueReason}, 1)
}

// jobDrillDown is the Job drill-down's panels as Grafana would show them
// for one Job.
type jobDrillDown struct {
	t       *testing.T
	answers map[string]panelAnswer
}

// drillDown runs the Job drill-down of p's mixin for the Job ns/name over
// the time from since to now.
func drillDown(t *testing.T, p *harness.Pipeline, ns, name string, since time.Time) jobDrillDown {
	t.Helper()
	vars := map[string]string{"datasource": "prometheus", "namespace": ns, "cronjob": ".*", "job": name}
	return jobDrillDown{t, panelAnswers(t, p.Prometheus, p.DashboardDir, "kube-job-exporter-job.json", vars, since, time.Now())}
}

// instant: the panel target key shows one value, with labels among its
// labels, equal to want (want < 0: any value above 0).
func (d jobDrillDown) instant(key string, labels map[string]string, want float64) {
	d.t.Helper()
	a := d.answers[key]
	if a.res == nil || len(a.res.Samples) != 1 {
		d.t.Errorf("panel %s: want one value, got %v\n  %s", key, a.res, a.expr)
		return
	}
	s := a.res.Samples[0]
	if !hasLabels(s.Metric, labels) {
		d.t.Errorf("panel %s: %v, want labels %v\n  %s", key, s.Metric, labels, a.expr)
	}
	if (want < 0 && s.Value <= 0) || (want >= 0 && s.Value != want) {
		d.t.Errorf("panel %s = %v, want %v\n  %s", key, s.Value, want, a.expr)
	}
}

// has: the panel target key shows a series with labels among its labels.
func (d jobDrillDown) has(key string, labels map[string]string) {
	d.t.Helper()
	a := d.answers[key]
	if a.res != nil {
		for _, s := range a.res.Samples {
			if hasLabels(s.Metric, labels) {
				return
			}
		}
	}
	d.t.Errorf("panel %s: no series with %v: %v\n  %s", key, labels, a.res, a.expr)
}

// empty: the panel target key shows no value.
func (d jobDrillDown) empty(key string) {
	d.t.Helper()
	if a := d.answers[key]; a.res == nil || len(a.res.Samples) != 0 {
		d.t.Errorf("panel %s: want no value, got %v\n  %s", key, a.res, a.expr)
	}
}

// liveReport: live_report_url leads to exp's runbook page of the alert
// with the Job's report, which says each of says (HTML-escaped).
func liveReport(ctx context.Context, t *testing.T, exp *harness.Exporter, a harness.ReceivedAlert, says ...string) {
	t.Helper()
	raw := a.Annotations["live_report_url"]
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		t.Errorf("live_report_url %q: %v", raw, err)
		return
	}
	if want := "http://" + exp.Addr() + "/runbooks/" + a.Labels["alertname"]; u.Scheme+"://"+u.Host+u.Path != want {
		t.Errorf("live_report_url %q, want %s?...", raw, want)
	}
	code, body, err := httpGet(ctx, raw)
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET live_report_url %s: %d %v", raw, code, err)
	}
	for _, s := range says {
		if !strings.Contains(body, html.EscapeString(s)) {
			t.Errorf("live report %s does not say %q:\n%.4000s", raw, s, body)
		}
	}
}

// A Job suspended by a person (no queue label) while the exporter reads
// Kueue: no page, no alert pending, on the Kueue pipeline.
func testPersonSuspendedNoPage(t *testing.T, p *harness.Pipeline) {
	t.Parallel()
	e := newEnv(t, "p31-kueue-suspended")
	job := e.NewJob("paused", "succeed")
	job.Spec.Suspend = ptr(true)
	e.Create(job)
	waitPrometheusOf(t, p.Prometheus, fmt.Sprintf(`kubejob_suspended{namespace=%q,job_name="paused"} == 1`, e.NS), pageWindow)
	// Longer than the wait limit, its `for` and an evaluation.
	if a, err := p.Webhook.WaitAlert(e.Ctx, pageWindow, inNamespace(e.NS), nil); err == nil {
		t.Fatalf("paged for a Job a person suspended: %s", a)
	}
	r, err := p.Prometheus.Query(e.Ctx, fmt.Sprintf(`ALERTS{namespace=%q}[10m]`, e.NS), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range r.Samples {
		t.Errorf("alert went %s for a Job a person suspended: %v", s.Metric["alertstate"], s.Metric)
	}
	r, err = p.Prometheus.Query(e.Ctx, fmt.Sprintf(`kubejob_queue_info{namespace=%q}`, e.NS), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Samples) > 0 {
		t.Errorf("queue series for a Job without a queue label: %v", r.Samples)
	}
}
