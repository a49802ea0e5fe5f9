package job

import (
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The informers keep only what Summarize and the diagnosis read. Each
// Strip function builds a fresh, small object (so nothing keeps the decoded
// object's large backing arrays alive) and drops everything else: managed
// fields, labels, most annotations, env, args, volumes, probes, messages.
// The exporter never holds a container's environment or arguments, so a
// secret placed there can never reach its memory or its output.

// keptPodAnnotations are the only pod annotations read, each a
// non-negative integer (annotationInt). StripPod keeps each one
// re-rendered from the value parsed from it, and drops it when that parse
// fails (which Summarize reads the same as a missing annotation), so no
// user-written text survives and the value stays short.
var keptPodAnnotations = []string{
	batchv1.JobCompletionIndexAnnotation,
	batchv1.JobIndexFailureCountAnnotation,
	batchv1.JobIndexIgnoredFailureCountAnnotation,
}

// StripPod is the pod informer's transform. Objects of other types (such as
// tombstones) pass through unchanged.
func StripPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	out := &corev1.Pod{
		ObjectMeta: stripMeta(&p.ObjectMeta),
		Spec: corev1.PodSpec{
			InitContainers: stripContainers(p.Spec.InitContainers, false),
			Containers:     stripContainers(p.Spec.Containers, false),
		},
		Status: corev1.PodStatus{
			Phase:                 p.Status.Phase,
			Reason:                p.Status.Reason,
			Conditions:            stripPodConditions(p.Status.Conditions),
			InitContainerStatuses: stripStatuses(p.Status.InitContainerStatuses),
			ContainerStatuses:     stripStatuses(p.Status.ContainerStatuses),
		},
	}
	out.DeletionGracePeriodSeconds = p.DeletionGracePeriodSeconds
	out.UID = "" // nothing reads a pod's own UID (its owner's is kept)
	for _, key := range keptPodAnnotations {
		n, ok := annotationInt(p, key)
		if !ok {
			continue
		}
		if out.Annotations == nil {
			out.Annotations = make(map[string]string, len(keptPodAnnotations))
		}
		out.Annotations[key] = strconv.FormatInt(int64(n), 10)
	}
	return out, nil
}

// StripJob is the Job informer's transform.
func StripJob(obj any) (any, error) {
	j, ok := obj.(*batchv1.Job)
	if !ok {
		return obj, nil
	}
	spec := j.Spec
	spec.Selector = nil
	spec.Template = corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		RestartPolicy:  j.Spec.Template.Spec.RestartPolicy,
		InitContainers: stripContainers(j.Spec.Template.Spec.InitContainers, true),
		Containers:     stripContainers(j.Spec.Template.Spec.Containers, true),
	}}
	status := j.Status
	status.Conditions = nil
	for _, c := range j.Status.Conditions {
		status.Conditions = append(status.Conditions, batchv1.JobCondition{
			Type: c.Type, Status: c.Status, Reason: c.Reason, LastTransitionTime: c.LastTransitionTime,
		})
	}
	return &batchv1.Job{ObjectMeta: stripMeta(&j.ObjectMeta), Spec: spec, Status: status}, nil
}

func stripMeta(m *metav1.ObjectMeta) metav1.ObjectMeta {
	out := metav1.ObjectMeta{
		Name:              m.Name,
		Namespace:         m.Namespace,
		UID:               m.UID,
		ResourceVersion:   m.ResourceVersion,
		CreationTimestamp: m.CreationTimestamp,
		DeletionTimestamp: m.DeletionTimestamp,
	}
	// A Job's owner matters only as its CronJob (CronJobOwner); a pod's
	// as its Job, matched by UID.
	if ref := controllerRef(m.OwnerReferences); ref != nil && (ref.Kind == "Job" || isCronJobOwner(m.OwnerReferences)) {
		out.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: ref.APIVersion, Kind: ref.Kind, Name: ref.Name, UID: ref.UID, Controller: ref.Controller,
		}}
	}
	return out
}

// stripContainers keeps name, image and restart policy; for the Job's
// template also the memory request and limit and the executable (the
// program of command, which exit code 127 is about: Executable). Never env,
// args or the rest of the command.
func stripContainers(cs []corev1.Container, template bool) []corev1.Container {
	if len(cs) == 0 {
		return nil
	}
	out := make([]corev1.Container, len(cs))
	for i := range cs {
		c := &cs[i]
		out[i] = corev1.Container{Name: c.Name, Image: c.Image, RestartPolicy: c.RestartPolicy}
		if !template {
			continue
		}
		if exe := Executable(c.Command); exe != "" {
			out[i].Command = []string{exe}
		}
		out[i].Resources.Limits = memoryOnly(c.Resources.Limits)
		out[i].Resources.Requests = memoryOnly(c.Resources.Requests)
	}
	return out
}

func memoryOnly(l corev1.ResourceList) corev1.ResourceList {
	q, ok := l[corev1.ResourceMemory]
	if !ok {
		return nil
	}
	return corev1.ResourceList{corev1.ResourceMemory: resource.NewQuantity(q.Value(), q.Format).DeepCopy()}
}

// stripPodConditions keeps every condition without its message: Ready
// (finish time), PodScheduled (Unschedulable) and DisruptionTarget
// (pod-level failures) are read directly, and a podFailurePolicy
// onPodConditions rule may name any condition type (ConfigIssue, a
// readiness gate), so dropping one could change the policy match.
func stripPodConditions(conds []corev1.PodCondition) []corev1.PodCondition {
	if len(conds) == 0 {
		return nil
	}
	out := make([]corev1.PodCondition, len(conds))
	for i, c := range conds {
		out[i] = corev1.PodCondition{Type: c.Type, Status: c.Status, LastTransitionTime: c.LastTransitionTime}
		switch c.Type {
		case corev1.PodReady, corev1.PodScheduled, corev1.DisruptionTarget:
			out[i].Reason = c.Reason // read; other conditions' reasons are not
		}
	}
	return out
}

func stripStatuses(ss []corev1.ContainerStatus) []corev1.ContainerStatus {
	if len(ss) == 0 {
		return nil
	}
	out := make([]corev1.ContainerStatus, len(ss))
	for i := range ss {
		s := &ss[i]
		out[i] = corev1.ContainerStatus{
			Name:                 s.Name,
			RestartCount:         s.RestartCount,
			Ready:                s.Ready,
			State:                stripState(s.State),
			LastTerminationState: stripState(s.LastTerminationState),
		}
	}
	return out
}

func stripState(s corev1.ContainerState) corev1.ContainerState {
	var out corev1.ContainerState
	if s.Waiting != nil {
		out.Waiting = &corev1.ContainerStateWaiting{Reason: s.Waiting.Reason}
	}
	if s.Running != nil {
		out.Running = &corev1.ContainerStateRunning{StartedAt: s.Running.StartedAt}
	}
	if t := s.Terminated; t != nil {
		out.Terminated = &corev1.ContainerStateTerminated{
			ExitCode: t.ExitCode, Signal: t.Signal, Reason: t.Reason, StartedAt: t.StartedAt, FinishedAt: t.FinishedAt,
		}
	}
	return out
}
