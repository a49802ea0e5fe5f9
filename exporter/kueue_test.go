package exporter

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubeversion "k8s.io/apimachinery/pkg/version"
	"k8s.io/utils/ptr"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
	"github.com/kube-job-exporter/kube-job-exporter/kube/kubefake"
)

// kueueJob is a Job Kueue manages in the LocalQueue team-a, and the
// Workload Kueue made for it.
func kueueJob(name string, suspended bool) (*batchv1.Job, *kube.Workload) {
	j := fixture.Job("batch", name).Started(0).J
	j.Spec.Suspend = ptr.To(suspended)
	j.Labels = map[string]string{job.QueueLabel: "team-a"}
	w := &kube.Workload{
		ObjectMeta: metav1.ObjectMeta{Namespace: "batch", Name: "job-" + name + "-1a2b3", UID: "wl-" + j.UID, CreationTimestamp: fixture.At(0),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: name, UID: j.UID, Controller: ptr.To(true)}}},
		Spec: kube.WorkloadSpec{QueueName: "team-a"},
	}
	return j, w
}

func setCondition(w *kube.Workload, typ string, status metav1.ConditionStatus, reason, message string, at int) {
	apimeta.SetStatusCondition(&w.Status.Conditions, metav1.Condition{Type: typ, Status: status, Reason: reason, Message: message, LastTransitionTime: fixture.At(at)})
}

func admit(w *kube.Workload, at int) {
	w.Status.Admission = &kube.WorkloadAdmission{ClusterQueue: "gpu"}
	setCondition(w, "QuotaReserved", metav1.ConditionTrue, "QuotaReserved", "Quota reserved in ClusterQueue gpu", at)
	setCondition(w, "Admitted", metav1.ConditionTrue, "Admitted", "The workload is admitted", at)
}

// withKueue serves Kueue's API in the fixture cluster and watches it
// (--collector.kueue): a Job waiting for quota, one admitted but still
// suspended, and one running that is preempted once the exporter
// watches (an eviction counted under its owner).
func withKueue(t *testing.T, cfg *Config, client *kubefake.Client) func(*Exporter) {
	t.Helper()
	cfg.Kueue = true
	client.InstallKueue("v1beta2")
	ctx := context.Background()
	waiting, waitingWL := kueueJob("queued-waiting", true)
	setCondition(waitingWL, "QuotaReserved", metav1.ConditionFalse, "Pending",
		"couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor a100, 3 more needed", 5)
	admitted, admittedWL := kueueJob("queued-admitted", true)
	admit(admittedWL, 5)
	running, runningWL := kueueJob("queued-preempted", false)
	admit(runningWL, 5)
	for _, j := range []*batchv1.Job{waiting, admitted, running} {
		if _, err := client.BatchV1().Jobs("batch").Create(ctx, j, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range []runtime.Object{waitingWL, admittedWL, runningWL,
		&kube.LocalQueue{ObjectMeta: metav1.ObjectMeta{Namespace: "batch", Name: "team-a"}, Spec: kube.LocalQueueSpec{ClusterQueue: "gpu"}}} {
		if err := client.CreateKueue(o.DeepCopyObject()); err != nil {
			t.Fatal(err)
		}
	}
	return func(exp *Exporter) {
		waitFor(t, "the queue series", func() bool {
			return bytes.Contains(storeText(exp.jobs.Store), []byte("kubejob_queue_admitted_suspended_since_timestamp_seconds"))
		})
		msg := "Preempted to accommodate a workload (UID: 9e1d) due to prioritization in the ClusterQueue"
		setCondition(runningWL, "Preempted", metav1.ConditionTrue, "InClusterQueue", msg, 30)
		setCondition(runningWL, "Evicted", metav1.ConditionTrue, "Preempted", msg, 30)
		if err := client.UpdateKueue(runningWL); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the eviction counted", func() bool {
			return bytes.Contains(storeText(exp.outcomes.Store), []byte(`kubejob_owner_queue_evictions_total{namespace="batch",owner_kind="Job",owner_name="queued-preempted",reason="InClusterQueue"} 1`))
		})
	}
}

func storeText(s interface {
	WriteTo(io.Writer) (int64, error)
}) []byte {
	var out bytes.Buffer
	_, _ = s.WriteTo(&out)
	return out.Bytes()
}

// TestKueueAPIMetric: kubejob_exporter_kueue_api says what discovery
// found, only with --collector.kueue; readiness never waits for Kueue.
func TestKueueAPIMetric(t *testing.T) {
	for _, tc := range []struct {
		name      string
		kueue     bool
		installed []string
		want      string // the series, "" for none
	}{
		{"off", false, []string{"v1beta2"}, ""},
		{"absent", true, nil, `kubejob_exporter_kueue_api{version=""} 0`},
		{"v1beta1 only", true, []string{"v1beta1"}, `kubejob_exporter_kueue_api{version="v1beta1"} 1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := kubefake.New(fixture.Job("batch", "etl").Started(0).J)
			client.InstallKueue(tc.installed...)
			exp, err := New(Config{Client: client, Backoff: job.DefaultBackoff, Kueue: tc.kueue, Version: "test",
				APIServer: kubeversion.Info{Major: "1", Minor: "37", GitVersion: "v1.37.2"}})
			if err != nil {
				t.Fatal(err)
			}
			runExporter(t, exp)
			waitFor(t, "ready", func() bool { return exp.health.Ready() == nil })
			h, err := exp.Handler()
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			var body []byte
			waitFor(t, "the Kueue API metric", func() bool {
				_, body = get(t, srv.URL+"/metrics", nil)
				return tc.want == "" || bytes.Contains(body, []byte(tc.want))
			})
			if tc.want == "" && bytes.Contains(body, []byte("kubejob_exporter_kueue_api")) {
				t.Error("kubejob_exporter_kueue_api without --collector.kueue")
			}
			if n := strings.Count(string(body), "kubejob_exporter_kueue_api{"); tc.want != "" && n != 1 {
				t.Errorf("%d kubejob_exporter_kueue_api series, want 1", n)
			}
			if resp, _ := get(t, srv.URL+"/readyz", nil); resp.StatusCode != http.StatusOK {
				t.Errorf("/readyz %d", resp.StatusCode)
			}
		})
	}
}
