package job

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

const secret = "hunter2-SECRET"

// TestRecordsDropSecrets: the records keep the facts and nothing a tenant
// may have put a secret in (env, args, the rest of a command, labels,
// annotations, messages, volumes, managed fields).
func TestRecordsDropSecrets(t *testing.T) {
	jb := fixture.Job("batch", "secretive").Command("/bin/run", "--password="+secret).Env("TOKEN", secret).
		MemoryLimit("app", "1Gi").InitContainer("init").OwnedByCronJob("nightly").Started(0).Status(0, 0, 0, 1).Failed("BackoffLimitExceeded", 9)
	j := jb.J
	c := &j.Spec.Template.Spec.Containers[0]
	c.Args = []string{secret}
	c.EnvFrom = []corev1.EnvFromSource{{Prefix: secret}}
	c.Resources.Limits[corev1.ResourceName("example.com/"+secret)] = c.Resources.Limits[corev1.ResourceMemory]
	c.Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: c.Resources.Limits[corev1.ResourceMemory]}
	c.Env = append(c.Env, corev1.EnvVar{Name: secret, Value: "x"})
	c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{secret}}}}
	c.WorkingDir = "/" + secret
	j.Spec.Template.Spec.InitContainers[0].Args = []string{secret}
	j.Spec.Template.Spec.InitContainers[0].Env = []corev1.EnvVar{{Name: "X", Value: secret}}
	j.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: secret}}
	j.Spec.Template.Labels = map[string]string{"a": secret}
	j.Spec.Template.Annotations = map[string]string{"a": secret}
	j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"x": secret}}
	j.Labels = map[string]string{"team": secret, secret: "v"}
	j.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"env":"` + secret + `"}`}
	j.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: secret, FieldsV1: metav1.NewFieldsV1(`{"f:` + secret + `":{}}`)}}
	j.Finalizers = []string{secret}
	j.OwnerReferences = append(j.OwnerReferences, metav1.OwnerReference{Kind: "Thing", Name: secret})
	j.Status.Conditions[0].Message = secret

	p := fixture.Pod(j, "a", 0).FailedWith("app", 1, "Error", 9).P
	p.Annotations = map[string]string{
		"note": secret, secret: "x",
		batchv1.JobCompletionIndexAnnotation:          secret, // 14 bytes: fits any length limit
		batchv1.JobIndexFailureCountAnnotation:        secret,
		batchv1.JobIndexIgnoredFailureCountAnnotation: "1" + secret,
	}
	p.Labels["junk"] = secret
	p.Labels[batchv1.JobCompletionIndexAnnotation] = secret
	p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "TOKEN", Value: secret}}
	p.Spec.Containers[0].Args = []string{secret}
	p.Spec.Containers[0].Command = []string{secret}
	p.Spec.Containers[0].Image = secret
	p.Spec.Volumes = []corev1.Volume{{Name: secret}}
	p.Spec.Hostname = secret
	p.Status.Message = secret
	p.Status.Reason = secret
	p.Status.Conditions = append(p.Status.Conditions,
		corev1.PodCondition{Type: "Custom", Status: corev1.ConditionTrue, Reason: secret, Message: secret},
		corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionFalse, Message: secret})
	cs := &p.Status.ContainerStatuses[0]
	cs.State.Terminated.Message = secret
	cs.State.Terminated.Reason = secret
	cs.Image, cs.ImageID, cs.ContainerID = secret, secret, secret
	cs.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, Message: secret}
	cs.Resources = &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceName(secret): c.Resources.Limits[corev1.ResourceMemory]}}
	p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "init", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "X", Message: secret}}}}

	jr := NewJobRecord(j)
	raw, err := json.Marshal(jr)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), secret) {
		t.Errorf("the Job record holds the secret: %s", raw)
	}
	pr := NewPodRecord(p)
	if bytes.Contains(pr.data, []byte(secret)) {
		t.Errorf("the pod record holds the secret: %q", pr.data)
	}

	// What is kept.
	if len(jr.Containers) != 2 || jr.Containers[1].Name != "app" || jr.Containers[1].Image == "" || jr.Containers[1].Executable != "/bin/run" ||
		jr.Containers[1].MemoryLimit != 1<<30 || jr.CronJob != "nightly" || jr.Name != j.Name || jr.UID != j.UID ||
		*jr.BackoffLimit != *j.Spec.BackoffLimit || jr.Failed != 1 || len(jr.Conditions) != len(j.Status.Conditions) {
		t.Errorf("the Job record lost what Summarize reads: %+v", jr)
	}
	f := pr.facts()
	if f.name != p.Name || f.phase != corev1.PodFailed || f.jobName != j.Name || f.jobUID != j.UID || f.failure == nil ||
		f.failure.exitCode != 1 || f.failure.reason != Other || f.index != -1 || f.indexFailures != -1 || f.indexIgnored != -1 {
		t.Errorf("the pod record lost what Summarize reads: %+v (failure %+v)", f, f.failure)
	}

	// Valid index annotations are read, whatever their form.
	q := fixture.Pod(j, "b", 0).Index(3, 2).P
	q.Annotations[batchv1.JobIndexIgnoredFailureCountAnnotation] = "+07"
	if f := NewPodRecord(q).facts(); f.index != 3 || f.indexFailures != 2 || f.indexIgnored != 7 {
		t.Errorf("annotations read as index %d, failures %d, ignored %d", f.index, f.indexFailures, f.indexIgnored)
	}
}

func TestRecordsPassOtherObjectsThrough(t *testing.T) {
	pod := fixture.Pod(fixture.Job("a", "b").J, "c", 0).P
	job := fixture.Job("a", "b").J
	tomb := cache.DeletedFinalStateUnknown{Key: "a/b", Obj: pod}
	cm := &corev1.ConfigMap{Data: map[string]string{"k": secret}}
	for _, tt := range []struct {
		name   string
		record func(any) (any, error)
		in     any
	}{
		{"RecordPod job", RecordPod, job},
		{"RecordPod tombstone", RecordPod, tomb},
		{"RecordPod configmap", RecordPod, cm},
		{"RecordPod string", RecordPod, "x"},
		{"RecordPod nil", RecordPod, nil},
		{"RecordJob pod", RecordJob(""), pod},
		{"RecordJob tombstone", RecordJob(""), tomb},
		{"RecordJob nil", RecordJob(""), nil},
	} {
		got, err := tt.record(tt.in)
		if err != nil {
			t.Errorf("%s: error %v", tt.name, err)
		}
		if !reflect.DeepEqual(got, tt.in) {
			t.Errorf("%s: changed to %#v", tt.name, got)
		}
		if p, ok := tt.in.(*corev1.Pod); ok && got.(*corev1.Pod) != p {
			t.Errorf("%s: not the same pointer", tt.name)
		}
	}
}

// TestPodRecordRoundTrip: the pod cache's record decodes to exactly the
// pod's facts, for every fixture pod and for edge cases of each field the
// encoding treats specially (absent, zero, negative, pointers).
func TestPodRecordRoundTrip(t *testing.T) {
	var pods []*corev1.Pod
	for _, o := range fixture.Cluster() {
		if p, ok := o.(*corev1.Pod); ok {
			pods = append(pods, p)
		}
	}
	odd := fixture.Pod(fixture.Job("batch", "odd").J, "x", 5).FailedWith("app", -1, "Ünïcode\xff", 9).P
	odd.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 5)}
	odd.DeletionGracePeriodSeconds = ptr.To(int64(-3))
	odd.Spec.InitContainers = []corev1.Container{{Name: "sidecar", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)}}
	odd.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "sidecar", RestartCount: 7, Ready: true,
		State:                corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
		LastTerminationState: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}
	odd.Status.Conditions = append(odd.Status.Conditions, corev1.PodCondition{Type: "Custom", Status: "Unknown"})
	restarting := fixture.Pod(fixture.Job("batch", "odd").J, "y", 5).Running(6).Restarted("app", 3, "OOMKilled", 137, 5).P
	notJobs := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "rs-pod", Namespace: "ns", OwnerReferences: []metav1.OwnerReference{
		{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5d8f", UID: "uid-rs", Controller: ptr.To(true)}}}}
	pods = append(pods, odd, restarting, notJobs, &corev1.Pod{}, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bare", Namespace: "ns"}})
	for _, p := range pods {
		want := factsOf(p, nil)
		rec := NewPodRecord(p)
		if got := rec.facts(); !reflect.DeepEqual(utcFacts(got), utcFacts(want)) {
			t.Errorf("pod %s/%s: record decodes to\n%+v\nwant\n%+v", p.Namespace, p.Name, got, want)
		}
		key, ok := rec.ControllerJobKey()
		if ref := metav1.GetControllerOfNoCopy(p); (ref != nil && ref.Kind == "Job") != ok || ok && key != p.Namespace+"/"+ref.Name {
			t.Errorf("pod %s/%s: ControllerJobKey = %q, %v", p.Namespace, p.Name, key, ok)
		}
		if sk := rec.Skeleton().facts(); sk.name != p.Name || sk.jobName != want.jobName || sk.jobUID != want.jobUID || sk.phase != "" || sk.failure != nil {
			t.Errorf("pod %s/%s: skeleton %+v", p.Namespace, p.Name, sk)
		}
	}
	if f := NewPodRecord(restarting).facts(); len(f.restarts) != 1 || f.restarts[0].Count != 3 {
		t.Errorf("restarts %+v", f.restarts)
	}
}

// TestPodRecordHeldBytes measures what the resource-time facts (start,
// last run, requests) add to a pod record, for docs/scale.md: a running
// pod's start and requests, and a GPU pod's of restartPolicy OnFailure
// with restarts (its last run's start and one extended resource too).
func TestPodRecordHeldBytes(t *testing.T) {
	j := fixture.Job("batch", "train").OnFailure()
	j.J.Spec.Template.Spec.Containers[0].Resources.Requests = corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("512Mi")}
	plain := fixture.Pod(j.J, "a", 0).Running(10).P
	gpu := fixture.Pod(j.J, "b", 0).Running(10).Restarted("app", 2, "Error", 1, 9).P
	gpu.Spec.Containers[0].Resources.Requests = corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("8"), corev1.ResourceMemory: resource.MustParse("64Gi"), "nvidia.com/gpu": resource.MustParse("1")}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		max  int
	}{{"running pod", plain, 16}, {"OnFailure GPU pod with restarts", gpu, 48}} {
		start := fixture.At(10)
		tc.pod.Status.StartTime = &start
		f := factsOf(tc.pod, nil)
		var e encoder
		e.held(&f)
		t.Logf("%s: record of %d B, %d B of them for what it held", tc.name, len(encodeFacts(&f)), len(e.b))
		if len(e.b) > tc.max {
			t.Errorf("%s: %d B for what it held, want at most %d", tc.name, len(e.b), tc.max)
		}
	}
}
