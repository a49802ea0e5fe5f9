package job

import (
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

// keptPodAnnotations are the only pod annotations read.
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
			NodeName:       p.Spec.NodeName,
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
	for _, k := range keptPodAnnotations {
		if v, ok := p.Annotations[k]; ok && len(v) <= 16 {
			if out.Annotations == nil {
				out.Annotations = make(map[string]string, 2)
			}
			out.Annotations[k] = v
		}
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
	if ref := controllerRef(m.OwnerReferences); ref != nil {
		out.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: ref.APIVersion, Kind: ref.Kind, Name: ref.Name, UID: ref.UID, Controller: ref.Controller,
		}}
	}
	return out
}

// stripContainers keeps name, image and restart policy; for the Job's
// template also the memory request and limit and the executable (the first
// word of command, which exit code 127 is about). Never env or args.
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
		if len(c.Command) > 0 {
			out[i].Command = []string{c.Command[0]}
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

// stripPodConditions keeps the conditions read: Ready (finish time),
// PodScheduled (Unschedulable), DisruptionTarget (pod-level failures).
func stripPodConditions(conds []corev1.PodCondition) []corev1.PodCondition {
	var out []corev1.PodCondition
	for _, c := range conds {
		switch c.Type {
		case corev1.PodReady, corev1.PodScheduled, corev1.DisruptionTarget:
			out = append(out, corev1.PodCondition{Type: c.Type, Status: c.Status, Reason: c.Reason, LastTransitionTime: c.LastTransitionTime})
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
