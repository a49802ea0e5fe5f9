package job

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

func stripAll(t testing.TB, j *batchv1.Job, ps []*corev1.Pod) (*batchv1.Job, []*corev1.Pod) {
	t.Helper()
	sj, err := StripJob(j)
	if err != nil {
		t.Fatal(err)
	}
	var sps []*corev1.Pod
	for _, p := range ps {
		if p == nil {
			sps = append(sps, nil)
			continue
		}
		sp, err := StripPod(p)
		if err != nil {
			t.Fatal(err)
		}
		sps = append(sps, sp.(*corev1.Pod))
	}
	return sj.(*batchv1.Job), sps
}

// checkStripKeepsSummary asserts StripJob/StripPod keep everything
// Summarize reads, and that they do not modify their input.
func checkStripKeepsSummary(t testing.TB, j *batchv1.Job, ps []*corev1.Pod) {
	t.Helper()
	jBefore := j.DeepCopy()
	var psBefore []*corev1.Pod
	for _, p := range ps {
		psBefore = append(psBefore, p.DeepCopy())
	}
	opts := Options{Backoff: DefaultBackoff}
	want := Summarize(j, ps, nil, opts)
	sj, sps := stripAll(t, j, ps)
	if got := Summarize(sj, sps, nil, opts); !reflect.DeepEqual(got, want) {
		t.Errorf("Job %s/%s: Summarize of stripped objects differs\n got %+v\nwant %+v", j.Namespace, j.Name, got, want)
	}
	if !reflect.DeepEqual(j, jBefore) || !reflect.DeepEqual(ps, psBefore) {
		t.Errorf("Job %s/%s: stripping modified its input", j.Namespace, j.Name)
	}
	// The caches keep compact records; what they rebuild must summarize the
	// same.
	rj, rps := recordAll(t, j, ps)
	if got := Summarize(rj, rps, nil, opts); !reflect.DeepEqual(utcSummary(got), utcSummary(want)) {
		t.Errorf("Job %s/%s: Summarize of records differs\n got %+v\nwant %+v", j.Namespace, j.Name, got, want)
	}
}

// recordAll passes a Job and its pods through the informers' transforms
// and rebuilds them, as the watcher does.
func recordAll(t testing.TB, j *batchv1.Job, ps []*corev1.Pod) (*batchv1.Job, []*corev1.Pod) {
	t.Helper()
	rj, err := RecordJob(j)
	if err != nil {
		t.Fatal(err)
	}
	var out []*corev1.Pod
	for _, p := range ps {
		if p == nil {
			continue
		}
		rp, err := RecordPod(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rp.(*PodRecord).Pod())
	}
	return rj.(*JobRecord).Job(), out
}

// utcSummary puts a Summary's times in UTC: records rebuild instants, not
// the time zone they were decoded in.
func utcSummary(s Summary) Summary {
	for _, t := range []*time.Time{&s.LastFailure, &s.NextRetry, &s.FailedAt, &s.CompletedAt, &s.Deadline, &s.StartTime, &s.CompletionTime} {
		*t = t.UTC()
	}
	s.Attempts = slices.Clone(s.Attempts)
	for i := range s.Attempts {
		s.Attempts[i].FinishedAt = s.Attempts[i].FinishedAt.UTC()
	}
	return s
}

func TestStripKeepsSummaryOverFixtureCluster(t *testing.T) {
	var jobs []*batchv1.Job
	var all []*corev1.Pod
	for _, o := range fixture.Cluster() {
		switch o := o.(type) {
		case *batchv1.Job:
			jobs = append(jobs, o)
		case *corev1.Pod:
			all = append(all, o)
		}
	}
	if len(jobs) < 10 || len(all) < 20 {
		t.Fatalf("fixture cluster has %d jobs, %d pods", len(jobs), len(all))
	}
	for _, j := range jobs {
		// Every pod of the cluster: Summarize picks the Job's own.
		checkStripKeepsSummary(t, j, all)
	}
}

func TestStripKeepsSummaryEdgeCases(t *testing.T) {
	// Sidecars, a custom condition read by an onPodConditions rule,
	// index annotations in non-canonical but valid forms, and junk.
	j := fixture.Job("ml", "edge").Indexed(4, 4).PerIndex(3, -1).InitContainer("init").Started(0).Status(1, 0, 0, 2)
	j.J.Spec.Template.Spec.InitContainers = append(j.J.Spec.Template.Spec.InitContainers, corev1.Container{Name: "proxy", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)})
	j.J.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
		{Action: batchv1.PodFailurePolicyActionFailIndex, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: "ConfigIssue", Status: corev1.ConditionTrue}}},
		{Action: batchv1.PodFailurePolicyActionIgnore, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{ContainerName: ptr.To("proxy"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{143}}},
	}}
	a := fixture.Pod(j.J, "a", 0).Index(1, 0).FailedWith("app", 1, "Error", 10)
	a.P.Status.Conditions = append(a.P.Status.Conditions, corev1.PodCondition{Type: "ConfigIssue", Status: corev1.ConditionTrue, Message: "x"})
	b := fixture.Pod(j.J, "b", 11).Index(1, 1).FailedWith("app", 2, "Error", 20)
	b.P.Annotations[batchv1.JobCompletionIndexAnnotation] = "+0000000000000000001"
	b.P.Annotations[batchv1.JobIndexFailureCountAnnotation] = "00000000000000000001"
	b.P.Annotations[batchv1.JobIndexIgnoredFailureCountAnnotation] = "2"
	b.P.Status.InitContainerStatuses = []corev1.ContainerStatus{terminatedAt("init", 0, 12), terminatedAt("proxy", 143, 25)}
	c := fixture.Pod(j.J, "c", 21).Index(2, 0).Running(22).Restarted("app", 2, "OOMKilled", 137, 21)
	c.P.Annotations[batchv1.JobIndexFailureCountAnnotation] = "hunter2-SECRET"
	d := fixture.Pod(j.J, "d", 0).Index(3, 0).Waiting("ImagePullBackOff")
	d.P.Annotations[batchv1.JobCompletionIndexAnnotation] = "-3"
	checkStripKeepsSummary(t, j.J, []*corev1.Pod{a.P, b.P, c.P, d.P, nil})
}

const secret = "hunter2-SECRET"

func TestStripDropsSecrets(t *testing.T) {
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
	p.Spec.Volumes = []corev1.Volume{{Name: secret}}
	p.Spec.Hostname = secret
	p.Status.Message = secret
	p.Status.Conditions = append(p.Status.Conditions,
		corev1.PodCondition{Type: "Custom", Status: corev1.ConditionTrue, Reason: secret, Message: secret},
		corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionFalse, Message: secret})
	cs := &p.Status.ContainerStatuses[0]
	cs.State.Terminated.Message = secret
	cs.Image, cs.ImageID, cs.ContainerID = secret, secret, secret
	cs.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, Message: secret}
	cs.Resources = &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceName(secret): c.Resources.Limits[corev1.ResourceMemory]}}
	p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "init", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "X", Message: secret}}}}

	sj, err := StripJob(j)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := StripPod(p)
	if err != nil {
		t.Fatal(err)
	}
	for name, obj := range map[string]any{"job": sj, "pod": sp} {
		raw, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), secret) {
			t.Errorf("stripped %s holds the secret: %s", name, raw)
		}
	}

	// What is kept and what is dropped.
	gj, gp := sj.(*batchv1.Job), sp.(*corev1.Pod)
	gc := gj.Spec.Template.Spec.Containers[0]
	if gc.Name != "app" || gc.Image == "" || !reflect.DeepEqual(gc.Command, []string{"/bin/run"}) || gc.Args != nil || gc.Env != nil ||
		gc.EnvFrom != nil || gc.LivenessProbe != nil || gc.WorkingDir != "" || len(gc.Resources.Limits) != 1 || len(gc.Resources.Requests) != 1 {
		t.Errorf("stripped template container = %+v", gc)
	}
	if gj.Labels != nil || gj.Annotations != nil || gj.ManagedFields != nil || gj.Finalizers != nil || gj.Spec.Selector != nil ||
		len(gj.OwnerReferences) != 1 || gj.OwnerReferences[0].Name != "nightly" || gj.Spec.Template.Spec.Volumes != nil {
		t.Errorf("stripped job meta/spec = %+v", gj.ObjectMeta)
	}
	if gj.Name != j.Name || gj.Namespace != j.Namespace || gj.UID != j.UID || *gj.Spec.BackoffLimit != *j.Spec.BackoffLimit ||
		gj.Status.Failed != 1 || len(gj.Status.Conditions) != len(j.Status.Conditions) {
		t.Errorf("stripped job lost what Summarize reads: %+v", gj)
	}
	if gp.Labels != nil || gp.Annotations != nil || gp.Spec.Volumes != nil || gp.Spec.Hostname != "" || gp.Status.Message != "" ||
		gp.Spec.Containers[0].Env != nil || gp.Spec.Containers[0].Command != nil || gp.Finalizers != nil || gp.ManagedFields != nil {
		t.Errorf("stripped pod = %+v", gp)
	}
	if gp.Name != p.Name || gp.UID != "" || gp.Status.Phase != corev1.PodFailed || len(gp.OwnerReferences) != 1 ||
		gp.Status.ContainerStatuses[0].State.Terminated.ExitCode != 1 {
		t.Errorf("stripped pod lost what Summarize reads: %+v", gp)
	}

	// Valid index annotations are kept, in canonical form.
	q := fixture.Pod(j, "b", 0).Index(3, 2).P
	q.Annotations[batchv1.JobIndexIgnoredFailureCountAnnotation] = "+07"
	q.Annotations["other"] = "x"
	sq, _ := StripPod(q)
	want := map[string]string{batchv1.JobCompletionIndexAnnotation: "3", batchv1.JobIndexFailureCountAnnotation: "2", batchv1.JobIndexIgnoredFailureCountAnnotation: "7"}
	if got := sq.(*corev1.Pod).Annotations; !reflect.DeepEqual(got, want) {
		t.Errorf("kept annotations = %v, want %v", got, want)
	}
}

func TestStripPassesOtherObjectsThrough(t *testing.T) {
	pod := fixture.Pod(fixture.Job("a", "b").J, "c", 0).P
	job := fixture.Job("a", "b").J
	tomb := cache.DeletedFinalStateUnknown{Key: "a/b", Obj: pod}
	cm := &corev1.ConfigMap{Data: map[string]string{"k": secret}}
	for _, tt := range []struct {
		name  string
		strip func(any) (any, error)
		in    any
	}{
		{"StripPod job", StripPod, job},
		{"StripPod tombstone", StripPod, tomb},
		{"StripPod configmap", StripPod, cm},
		{"StripPod string", StripPod, "x"},
		{"StripPod nil", StripPod, nil},
		{"StripJob pod", StripJob, pod},
		{"StripJob tombstone", StripJob, tomb},
		{"StripJob nil", StripJob, nil},
	} {
		got, err := tt.strip(tt.in)
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

// TestPodRecordRoundTrip: the pod cache's compact record decodes to exactly
// the stripped pod, for every fixture pod and for edge cases of each field
// the encoding treats specially (absent, zero, negative, pointers).
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
	notJobs := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "rs-pod", Namespace: "ns", OwnerReferences: []metav1.OwnerReference{
		{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5d8f", UID: "uid-rs", Controller: ptr.To(true)}}}}
	pods = append(pods, odd, notJobs, &corev1.Pod{}, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bare", Namespace: "ns"}})
	for _, p := range pods {
		stripped, err := StripPod(p)
		if err != nil {
			t.Fatal(err)
		}
		want := stripped.(*corev1.Pod)
		rec := NewPodRecord(want)
		if got := rec.Pod(); !reflect.DeepEqual(utcPod(got), utcPod(want)) {
			t.Errorf("pod %s/%s: record decodes to\n%+v\nwant\n%+v", p.Namespace, p.Name, got, want)
		}
		key, ok := rec.ControllerJobKey()
		if ref := controllerRef(p.OwnerReferences); (ref != nil && ref.Kind == "Job") != ok || ok && key != p.Namespace+"/"+ref.Name {
			t.Errorf("pod %s/%s: ControllerJobKey = %q, %v", p.Namespace, p.Name, key, ok)
		}
		if sk := rec.Skeleton().Pod(); sk.Name != p.Name || !reflect.DeepEqual(sk.OwnerReferences, want.OwnerReferences) || sk.Status.Phase != "" {
			t.Errorf("pod %s/%s: skeleton %+v", p.Namespace, p.Name, sk)
		}
	}
}

// utcPod puts the pod's times in UTC: records keep instants, not zones.
func utcPod(p *corev1.Pod) *corev1.Pod {
	p = p.DeepCopy()
	utc := func(t *metav1.Time) {
		if t != nil && !t.IsZero() {
			t.Time = t.UTC()
		}
	}
	utc(&p.CreationTimestamp)
	utc(p.DeletionTimestamp)
	for i := range p.Status.Conditions {
		utc(&p.Status.Conditions[i].LastTransitionTime)
	}
	for _, ss := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for i := range ss {
			for _, st := range []corev1.ContainerState{ss[i].State, ss[i].LastTerminationState} {
				if st.Terminated != nil {
					utc(&st.Terminated.StartedAt)
					utc(&st.Terminated.FinishedAt)
				}
				if st.Running != nil {
					utc(&st.Running.StartedAt)
				}
			}
		}
	}
	return p
}
