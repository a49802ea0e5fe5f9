package harness

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podState is what the fake kubelet remembers about one pod; its methods
// write the matching v1.PodStatus.
type podState struct {
	pod       *v1.Pod
	startTime metav1.Time
	started   metav1.Time // current containers' start
	finished  metav1.Time // current containers' end
	restarts  map[string]int32
	last      map[string]*v1.ContainerStateTerminated
	ids       map[string]string
}

func (ps *podState) init() {
	if ps.restarts == nil {
		ps.restarts = map[string]int32{}
		ps.last = map[string]*v1.ContainerStateTerminated{}
		ps.ids = map[string]string{}
	}
}

// failing is the name of the container a step fails.
func (ps *podState) failing(step Step) string {
	if step.Container != "" {
		return step.Container
	}
	if len(ps.pod.Spec.Containers) > 0 {
		return ps.pod.Spec.Containers[0].Name
	}
	return ""
}

func newContainerID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "containerd://" + hex.EncodeToString(b)
}

func imageID(image string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return image + "@sha256:" + hex.EncodeToString(b)
}

func (ps *podState) base(st *v1.PodStatus, phase v1.PodPhase) {
	ps.init()
	st.Phase = phase
	st.HostIP = "10.0.0.1"
	st.HostIPs = []v1.HostIP{{IP: st.HostIP}}
	if st.StartTime == nil {
		t := ps.startTime
		st.StartTime = &t
	}
	setCondition(st, v1.PodScheduled, v1.ConditionTrue, "", "")
	setCondition(st, v1.PodInitialized, v1.ConditionTrue, "", "")
	if len(ps.pod.Spec.InitContainers) > 0 && phase != v1.PodPending {
		st.InitContainerStatuses = nil
		for _, c := range ps.pod.Spec.InitContainers {
			st.InitContainerStatuses = append(st.InitContainerStatuses, v1.ContainerStatus{
				Name: c.Name, Image: c.Image, ImageID: imageID(c.Image), ContainerID: newContainerID(),
				State: v1.ContainerState{Terminated: &v1.ContainerStateTerminated{
					ExitCode: 0, Reason: "Completed", StartedAt: ps.startTime, FinishedAt: ps.startTime,
				}},
			})
		}
	}
}

func (ps *podState) containerStatus(c v1.Container) v1.ContainerStatus {
	cs := v1.ContainerStatus{
		Name:         c.Name,
		Image:        c.Image,
		RestartCount: ps.restarts[c.Name],
		Started:      ptr(false),
	}
	if t := ps.last[c.Name]; t != nil {
		cs.LastTerminationState = v1.ContainerState{Terminated: t.DeepCopy()}
	}
	return cs
}

func unready(st *v1.PodStatus, pod *v1.Pod, reason string) {
	msg := ""
	if reason == "ContainersNotReady" {
		var names []string
		for _, c := range pod.Spec.Containers {
			names = append(names, c.Name)
		}
		msg = fmt.Sprintf("containers with unready status: [%s]", strings.Join(names, " "))
	}
	setCondition(st, v1.PodReady, v1.ConditionFalse, reason, msg)
	setCondition(st, v1.ContainersReady, v1.ConditionFalse, reason, msg)
}

// pending: scheduled, containers waiting for reason (ContainerCreating,
// ErrImagePull, ImagePullBackOff, ...).
func (ps *podState) pending(st *v1.PodStatus, reason, message string) {
	ps.base(st, v1.PodPending)
	setCondition(st, v1.PodReadyToStartContainers, v1.ConditionTrue, "", "")
	unready(st, ps.pod, "ContainersNotReady")
	st.ContainerStatuses = nil
	for _, c := range ps.pod.Spec.Containers {
		cs := ps.containerStatus(c)
		cs.State = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: reason, Message: message}}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
}

// initializing: the first init container runs (and never ends), the
// others and the containers wait: PodInitializing, as the kubelet reports a
// pod whose init container hangs.
func (ps *podState) initializing(st *v1.PodStatus) {
	ps.base(st, v1.PodPending)
	setCondition(st, v1.PodInitialized, v1.ConditionFalse, "ContainersNotInitialized", "containers with incomplete status: [init]")
	setCondition(st, v1.PodReadyToStartContainers, v1.ConditionTrue, "", "")
	unready(st, ps.pod, "ContainersNotReady")
	st.InitContainerStatuses = nil
	for i, c := range ps.pod.Spec.InitContainers {
		cs := ps.containerStatus(c)
		if i == 0 {
			cs.ImageID, cs.ContainerID = imageID(c.Image), newContainerID()
			cs.State = v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: ps.startTime}}
		} else {
			cs.State = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "PodInitializing"}}
		}
		st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
	}
	st.ContainerStatuses = nil
	for _, c := range ps.pod.Spec.Containers {
		cs := ps.containerStatus(c)
		cs.State = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "PodInitializing"}}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
}

// running: every container running since ps.started, pod Ready.
func (ps *podState) running(st *v1.PodStatus) {
	ps.base(st, v1.PodRunning)
	st.PodIP = "10.244.0.10"
	st.PodIPs = []v1.PodIP{{IP: st.PodIP}}
	setCondition(st, v1.PodReadyToStartContainers, v1.ConditionTrue, "", "")
	setCondition(st, v1.PodReady, v1.ConditionTrue, "", "")
	setCondition(st, v1.ContainersReady, v1.ConditionTrue, "", "")
	st.ContainerStatuses = nil
	for _, c := range ps.pod.Spec.Containers {
		ps.ids[c.Name] = newContainerID()
		cs := ps.containerStatus(c)
		cs.ImageID = imageID(c.Image)
		cs.ContainerID = ps.ids[c.Name]
		cs.Ready, cs.Started = true, ptr(true)
		cs.State = v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: ps.started}}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
}

func (ps *podState) terminated(c v1.Container, exit int32, reason string) v1.ContainerStatus {
	cs := ps.containerStatus(c)
	cs.ImageID = imageID(c.Image)
	cs.ContainerID = ps.ids[c.Name]
	cs.State = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{
		ExitCode: exit, Reason: reason, StartedAt: ps.started, FinishedAt: ps.finished, ContainerID: cs.ContainerID,
	}}
	return cs
}

// succeeded: every container exited 0.
func (ps *podState) succeeded(st *v1.PodStatus) {
	ps.base(st, v1.PodSucceeded)
	setCondition(st, v1.PodReadyToStartContainers, v1.ConditionFalse, "", "")
	unready(st, ps.pod, "PodCompleted")
	st.ContainerStatuses = nil
	for _, c := range ps.pod.Spec.Containers {
		st.ContainerStatuses = append(st.ContainerStatuses, ps.terminated(c, 0, "Completed"))
	}
}

// failed (restartPolicy Never): the failing container exited with the step's
// code and reason, the others completed.
func (ps *podState) failed(st *v1.PodStatus, step Step) {
	ps.base(st, v1.PodFailed)
	setCondition(st, v1.PodReadyToStartContainers, v1.ConditionFalse, "", "")
	unready(st, ps.pod, "PodFailed")
	failing := ps.failing(step)
	st.ContainerStatuses = nil
	for _, c := range ps.pod.Spec.Containers {
		if c.Name == failing {
			st.ContainerStatuses = append(st.ContainerStatuses, ps.terminated(c, step.ExitCode, step.Reason))
		} else {
			st.ContainerStatuses = append(st.ContainerStatuses, ps.terminated(c, 0, "Completed"))
		}
	}
}

// disrupted: the kubelet evicted the pod (node shutdown); the DisruptionTarget
// condition is what podFailurePolicy onPodConditions rules match.
func (ps *podState) disrupted(st *v1.PodStatus) {
	ps.base(st, v1.PodFailed)
	setCondition(st, v1.DisruptionTarget, v1.ConditionTrue, "TerminationByKubelet",
		"Pod was terminated in response to imminent node shutdown.")
	setCondition(st, v1.PodReadyToStartContainers, v1.ConditionFalse, "", "")
	unready(st, ps.pod, "PodFailed")
	st.Reason, st.Message = "Terminated", "Pod was terminated in response to imminent node shutdown."
	st.ContainerStatuses = nil
	for _, c := range ps.pod.Spec.Containers {
		st.ContainerStatuses = append(st.ContainerStatuses, ps.terminated(c, 137, "Error"))
	}
}

// crashLoop (restartPolicy OnFailure): the failing container terminated and
// waits in CrashLoopBackOff before its restart; the pod stays Running.
func (ps *podState) crashLoop(st *v1.PodStatus, step Step) {
	ps.base(st, v1.PodRunning)
	unready(st, ps.pod, "ContainersNotReady")
	failing := ps.failing(step)
	st.ContainerStatuses = nil
	for _, c := range ps.pod.Spec.Containers {
		if c.Name != failing {
			cs := ps.containerStatus(c)
			cs.ImageID, cs.ContainerID = imageID(c.Image), ps.ids[c.Name]
			cs.Ready, cs.Started = true, ptr(true)
			cs.State = v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: ps.started}}
			st.ContainerStatuses = append(st.ContainerStatuses, cs)
			continue
		}
		ps.last[c.Name] = &v1.ContainerStateTerminated{
			ExitCode: step.ExitCode, Reason: step.Reason, StartedAt: ps.started, FinishedAt: ps.finished,
			ContainerID: ps.ids[c.Name],
		}
		cs := ps.containerStatus(c)
		cs.ImageID = imageID(c.Image)
		cs.State = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{
			Reason:  "CrashLoopBackOff",
			Message: fmt.Sprintf("back-off 10s restarting failed container=%s pod=%s_%s(%s)", c.Name, ps.pod.Name, ps.pod.Namespace, ps.pod.UID),
		}}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
}

func setCondition(st *v1.PodStatus, typ v1.PodConditionType, status v1.ConditionStatus, reason, message string) {
	now := metav1.Now()
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if c.Type != typ {
			continue
		}
		if c.Status != status {
			c.LastTransitionTime = now
		}
		c.Status, c.Reason, c.Message = status, reason, message
		return
	}
	st.Conditions = append(st.Conditions, v1.PodCondition{
		Type: typ, Status: status, Reason: reason, Message: message, LastTransitionTime: now,
	})
}
