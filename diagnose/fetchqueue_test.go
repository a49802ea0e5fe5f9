package diagnose

import (
	"context"
	"errors"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
	"github.com/kube-job-exporter/kube-job-exporter/kube/kubefake"
)

// queuedJob is a suspended Job labelled for LocalQueue team-a.
func queuedJob() *batchv1.Job {
	b := fixture.Job("ml", "train").Suspend()
	b.J.Labels = map[string]string{job.QueueLabel: "team-a"}
	return b.J
}

// pendingWorkload is a Workload of the Job ml/jobName (its controller) that
// Kueue could not reserve quota for, as its scheduler writes it
// (workload.UnsetQuotaReservationWithCondition: QuotaReserved False,
// reason Pending, the flavor assigner's message).
func pendingWorkload(name, jobName string) *kube.Workload {
	return &kube.Workload{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: name, CreationTimestamp: fixture.At(1),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: jobName, UID: types.UID("uid-ml-" + jobName), Controller: ptr.To(true)}}},
		Spec: kube.WorkloadSpec{QueueName: "team-a"},
		Status: kube.WorkloadStatus{Conditions: []metav1.Condition{{Type: "QuotaReserved", Status: metav1.ConditionFalse, Reason: "Pending",
			Message: quotaMessage, LastTransitionTime: fixture.At(2)}}},
	}
}

// TestFetchQueue: for a Job in a Kueue queue, Fetch reads the Workload the
// Job controls (not another Job's of the namespace) and its LocalQueue,
// and the Summary says where the Job stands: waiting, the cause, Kueue's
// message, the ClusterQueue from the LocalQueue.
func TestFetchQueue(t *testing.T) {
	client := kubefake.New(queuedJob())
	client.InstallKueue(kube.KueueVersions...)
	for _, obj := range []runtime.Object{
		pendingWorkload("job-train-a1", "train"),
		pendingWorkload("job-other-b2", "other"), // another Job's
		&kube.LocalQueue{ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: "team-a"}, Spec: kube.LocalQueueSpec{ClusterQueue: "gpu-cq"}},
		&kube.LocalQueue{ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: "team-b"}, Spec: kube.LocalQueueSpec{ClusterQueue: "cpu-cq"}},
	} {
		if err := client.CreateKueue(obj); err != nil {
			t.Fatal(err)
		}
	}
	ev, err := Fetch(context.Background(), client, "ml", "train", job.Options{Backoff: job.DefaultBackoff, Now: fixture.At(3600).Time})
	if err != nil {
		t.Fatal(err)
	}
	q := ev.Summary.Queue
	if q == nil || ev.QueueNote != "" {
		t.Fatalf("queue %+v, note %q", q, ev.QueueNote)
	}
	if q.Name != "team-a" || q.ClusterQueue != "gpu-cq" || q.Workload != "job-train-a1" || q.State != job.QueueWaiting ||
		q.Cause != job.QueueCauseInsufficientQuota || q.Message != quotaMessage {
		t.Errorf("queue %+v, want team-a/gpu-cq, Workload job-train-a1, waiting for quota", q)
	}
	r := FromSummary(ev.Summary, fixture.At(3600).Time, DefaultLimits)
	if r.Health != Queued || r.Alert != AlertWaitingForAdmission {
		t.Errorf("report: health %s alert %q", r.Health, r.Alert)
	}
}

// TestFetchQueueBestEffort: Kueue absent, a list forbidden or failing:
// the Job's report stands without its queue, with a note saying why; a
// Job without a queue label reads nothing of Kueue.
func TestFetchQueueBestEffort(t *testing.T) {
	forbid := func(resource string) func(c *kubefake.Client) {
		return func(c *kubefake.Client) {
			c.InstallKueue(kube.KueueVersions...)
			c.PrependReactor("list", resource, func(a k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: kube.KueueGroup, Resource: resource}, "", errors.New("RBAC"))
			})
		}
	}
	for _, tt := range []struct {
		name  string
		setup func(c *kubefake.Client)
		queue bool // the Summary has a Queue all the same
		note  string
	}{
		{"Kueue absent", func(*kubefake.Client) {}, false, "Kueue's API (kueue.x-k8s.io) is not served"},
		{"Workloads forbidden", forbid(kube.KueueWorkloads), false, "Kueue's Workloads in namespace ml could not be read"},
		{"LocalQueue forbidden", forbid(kube.KueueLocalQueues), true, "LocalQueue team-a could not be read"},
		{"discovery fails", func(c *kubefake.Client) {
			c.PrependReactor("get", "", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if a.GetResource().Group == kube.KueueGroup {
					return true, nil, errors.New("connection reset")
				}
				return false, nil, nil
			})
		}, false, "Kueue's API could not be looked up: connection reset"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			client := kubefake.New(queuedJob())
			tt.setup(client)
			ev, err := Fetch(context.Background(), client, "ml", "train", job.Options{Backoff: job.DefaultBackoff, Now: fixture.At(60).Time})
			if err != nil {
				t.Fatalf("Fetch failed: %v", err)
			}
			if (ev.Summary.Queue != nil) != tt.queue || !strings.Contains(ev.QueueNote, tt.note) {
				t.Errorf("queue %+v, note %q; want queue %v, a note saying %q", ev.Summary.Queue, ev.QueueNote, tt.queue, tt.note)
			}
		})
	}

	plain := fixture.Job("ml", "plain").Suspend().J
	client := kubefake.New(plain)
	client.InstallKueue(kube.KueueVersions...)
	ev, err := Fetch(context.Background(), client, "ml", "plain", job.Options{Backoff: job.DefaultBackoff})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Summary.Queue != nil || ev.QueueNote != "" {
		t.Errorf("a Job without a queue label: queue %+v, note %q", ev.Summary.Queue, ev.QueueNote)
	}
	for _, a := range client.Actions() {
		if a.GetResource().Group == kube.KueueGroup {
			t.Errorf("a Job without a queue label read Kueue's API: %v", a)
		}
	}
}

// TestFetchQueueListsByJobUID: the Workloads are listed by the label Kueue
// sets with the Job's UID, one small list; only when that finds none (a
// Workload made without the label) is the whole namespace listed.
func TestFetchQueueListsByJobUID(t *testing.T) {
	for _, tc := range []struct {
		name      string
		labelled  bool
		wantLists int
	}{{"labelled by Kueue", true, 1}, {"without the label", false, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			client := kubefake.New(queuedJob())
			client.InstallKueue(kube.KueueVersions...)
			wl := pendingWorkload("job-train-a1", "train")
			if tc.labelled {
				wl.Labels = map[string]string{workloadJobUIDLabel: "uid-ml-train"}
			}
			if err := client.CreateKueue(wl); err != nil {
				t.Fatal(err)
			}
			ev, err := Fetch(context.Background(), client, "ml", "train", job.Options{Backoff: job.DefaultBackoff, Now: fixture.At(3600).Time})
			if err != nil {
				t.Fatal(err)
			}
			if q := ev.Summary.Queue; q == nil || q.Workload != "job-train-a1" {
				t.Fatalf("queue %+v, want Workload job-train-a1", q)
			}
			var selectors []string
			for _, a := range client.KueueActions() {
				if l, ok := a.(k8stesting.ListAction); ok && a.GetResource().Resource == "workloads" {
					selectors = append(selectors, l.GetListRestrictions().Labels.String())
				}
			}
			if len(selectors) != tc.wantLists || selectors[0] != workloadJobUIDLabel+"=uid-ml-train" {
				t.Errorf("Workload lists by label selector %q, want %d, the first by the Job's UID", selectors, tc.wantLists)
			}
		})
	}
}
