package pipeline

import (
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// TestMemoryNearLimit: a running Job's container whose working set, as
// metrics.k8s.io reports it through the API server's aggregation layer,
// is above 90% of its memory limit pages KubeJobMemoryNearLimit; one at
// half its limit does not. Nothing but the metrics API tells the exporter
// the usage: the pods' status is the same for both.
func TestMemoryNearLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "p22-memory")
	limit := resource.MustParse("64Mi")
	usage := map[string]int64{"hungry": 60 << 20, "calm": 32 << 20} // 93.75% and 50%
	for name := range usage {
		job := e.NewJob(name, "run=forever")
		job.Spec.Template.Spec.Containers[0].Resources.Limits = v1.ResourceList{v1.ResourceMemory: limit}
		e.Create(job)
		// They would run forever: gone with the test, and their pods
		// with them (the pod driver deletes a deleted Job's pods).
		t.Cleanup(func() {
			bg := metav1.DeletePropagationBackground
			if err := e.Client.BatchV1().Jobs(e.NS).Delete(e.Ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil {
				t.Error(err)
			}
		})
	}
	for name, bytes := range usage {
		pod, err := harness.WaitRunningPod(e.Ctx, e.Client, e.NS, name)
		if err != nil {
			t.Fatal(err)
		}
		metrics.SetPodUsage(e.NS, pod, map[string]int64{"main": bytes})
		t.Cleanup(func() { metrics.SetPodUsage(e.NS, pod, nil) })
	}

	want := map[string]string{"alertname": "KubeJobMemoryNearLimit", "namespace": e.NS, "job_name": "hungry", "container": "main", "severity": "warning"}
	// The exporter polls every podMetricsInterval, Prometheus scrapes
	// every 2s and the rule waits its (shortened) `for` of 5s.
	a, err := pipe.Webhook.WaitAlert(e.Ctx, pageWindow+podMetricsInterval+5*time.Second, alertMatch("firing", want), inNamespace(e.NS))
	if err != nil {
		t.Fatalf("%v\nPrometheus alerts: %s\nmetrics.k8s.io requests: %s", err, promAlertState(e.NS), metricsRequests())
	}
	if s, w := a.Annotations["summary"], "Container main of Job "+e.NS+"/hungry uses 93.75% of its memory limit."; s != w {
		t.Errorf("summary %q, want %q", s, w)
	}
	if d := a.Annotations["description"]; !strings.Contains(d, "OOMKilled, exit code 137") || !strings.Contains(d, "resources.limits.memory") {
		t.Errorf("description %q: want the OOM kill it warns of and the limit to raise", d)
	}
	checkRunbook(t, e.Ctx, a, "KubeJobMemoryNearLimit", map[string]string{"namespace": e.NS, "job_name": "hungry"}, []string{"Job " + e.NS + "/hungry: RUNNING"})

	// Prometheus has the calm Job's working set from the same scrapes, and
	// no alert for it.
	waitPrometheus(t, fmt.Sprintf(`kubejob_container_memory_working_set_bytes{namespace=%q,job_name="calm",container="main"} == %d`, e.NS, usage["calm"]), pageWindow)
	r, err := pipe.Prometheus.Query(e.Ctx, fmt.Sprintf(`ALERTS{namespace=%q,job_name="calm"}`, e.NS), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Samples) > 0 || len(pipe.Webhook.Alerts(alertMatch("firing", map[string]string{"namespace": e.NS, "job_name": "calm"}))) > 0 {
		t.Errorf("the Job at 50%% of its limit has alerts: %s", promAlertState(e.NS))
	}

	// The Job dashboard's memory panel shows the working set against the
	// limit, as Grafana would query it.
	vars := map[string]string{"datasource": "prometheus", "namespace": e.NS, "cronjob": ".*", "job": "hungry"}
	var panel bool
	for _, p := range loadDashboard(t, pipe.DashboardDir, "kube-job-exporter-job.json").Panels {
		if p.Title != "Memory working set vs limit" {
			continue
		}
		panel = true
		want := map[string]float64{"A": float64(usage["hungry"]), "B": float64(limit.Value())}
		for _, tg := range p.Targets {
			expr := substitute(tg.Expr, vars)
			r, err := pipe.Prometheus.Query(e.Ctx, expr, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Samples) != 1 || r.Samples[0].Value != want[tg.RefID] || r.Samples[0].Metric["container"] != "main" {
				t.Errorf("panel %q target %s: %v, want main = %v\n  %s", p.Title, tg.RefID, r.Samples, want[tg.RefID], expr)
			}
		}
	}
	if !panel {
		t.Error(`the Job dashboard has no "Memory working set vs limit" panel`)
	}

	// The exporter's reads went through kube-apiserver: the stand-in
	// answers only the aggregator, which names the authenticated client;
	// the exporter's user agent comes along.
	var seen bool
	for _, req := range metrics.Requests() {
		if strings.HasPrefix(req.UserAgent, "kube-job-exporter") && req.Status == 200 && strings.HasSuffix(req.Path, "/pods") && req.User != "" {
			seen = true
		}
	}
	if !seen {
		t.Errorf("no pod metrics list by the exporter through the aggregator: %s", metricsRequests())
	}
}

// metricsRequests lists the last requests the metrics.k8s.io stand-in
// answered, for failure messages.
func metricsRequests() string {
	reqs := metrics.Requests()
	if len(reqs) > 10 {
		reqs = reqs[len(reqs)-10:]
	}
	var b strings.Builder
	for _, r := range reqs {
		fmt.Fprintf(&b, "\n  %d %s?%s user=%q agent=%q", r.Status, r.Path, r.Query, r.User, r.UserAgent)
	}
	return b.String()
}
