package diagnose

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
)

// ContainerLog is the end of one failing container's log, as `kubectl logs
// [--previous]` prints it.
type ContainerLog struct {
	Pod       string   `json:"pod"`
	Container string   `json:"container"`
	Previous  bool     `json:"previous,omitempty"` // the instance before the last restart
	Lines     []string `json:"lines"`
}

// logTarget is a container whose log explains a failure: the newest failed
// pod of each failing container, an init container that runs and does not
// finish, or, for restartPolicy OnFailure, the instance before the last
// restart of a container that restarts in place.
type logTarget struct {
	pod, container string
	previous       bool
}

// Bounds of the logs read: lines per container, bytes per request and per
// line as printed. Logs are the user's data: the exporter never reads them,
// only this command does, with the rights of whoever runs it.
const (
	DefaultLogLines = 20
	maxLogBytes     = 64 << 10
	maxLogLine      = 512
	maxLogTargets   = 5
)

// logTargets picks, from the Job's pods, the containers to read: the
// newest failed pod of each failing container, an init container running
// in a pending pod (one that hangs), and each container of a pending or
// running pod that has restarted (restartPolicy OnFailure: its previous
// instance failed).
func logTargets(failed []job.Attempt, pods []*corev1.Pod) []logTarget {
	var out []logTarget
	seen := map[string]bool{}
	for i := len(failed) - 1; i >= 0 && len(out) < maxLogTargets; i-- {
		a := failed[i]
		if a.Container == "" || seen[a.Container] {
			continue
		}
		seen[a.Container] = true
		out = append(out, logTarget{pod: a.Pod, container: a.Container})
	}
	for _, p := range pods {
		if p.Status.Phase != corev1.PodPending && p.Status.Phase != corev1.PodRunning {
			continue
		}
		if p.Status.Phase == corev1.PodPending && p.DeletionTimestamp == nil {
			for _, cs := range p.Status.InitContainerStatuses {
				if cs.State.Running != nil && !seen[cs.Name] && len(out) < maxLogTargets && !isSidecar(p, cs.Name) {
					seen[cs.Name] = true
					out = append(out, logTarget{pod: p.Name, container: cs.Name})
				}
			}
		}
		for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
			for _, cs := range list {
				if cs.RestartCount == 0 || seen[cs.Name] || len(out) == maxLogTargets {
					continue
				}
				seen[cs.Name] = true
				out = append(out, logTarget{pod: p.Name, container: cs.Name, previous: true})
			}
		}
	}
	return out
}

func isSidecar(p *corev1.Pod, name string) bool {
	for _, c := range p.Spec.InitContainers {
		if c.Name == name {
			return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		}
	}
	return false
}

// FetchLogs reads the last lines of each failing container's log (at most
// lines per container). Without permission to read pods/log it returns
// what it read before and an error saying so; a log that cannot be read
// (the pod is gone, the node does not answer) is skipped, and the error
// says which.
func FetchLogs(ctx context.Context, client kube.Client, namespace string, ev Evidence, lines int64) ([]ContainerLog, error) {
	var out []ContainerLog
	var unread []string
	for _, t := range ev.logTargets {
		limit := int64(maxLogBytes)
		raw, err := client.PodLogs(ctx, namespace, t.pod, &corev1.PodLogOptions{
			Container: t.container, Previous: t.previous, TailLines: &lines, LimitBytes: &limit,
		})
		if err != nil {
			if apierrors.IsForbidden(err) {
				return out, fmt.Errorf("logs not shown: you may not read pods/log in namespace %s", namespace)
			}
			// A container that never ran, a pod already gone, a node that
			// does not answer: no log, not a reason to stop.
			unread = append(unread, fmt.Sprintf("%s/%s: %v", t.pod, t.container, err))
			continue
		}
		l := ContainerLog{Pod: t.pod, Container: t.container, Previous: t.previous}
		if text := string(bytes.TrimRight(raw, "\n")); text != "" {
			for _, line := range strings.Split(text, "\n") {
				l.Lines = append(l.Lines, printable(strings.TrimRight(line, "\r"), maxLogLine))
			}
		}
		if len(l.Lines) > int(lines) {
			l.Lines = l.Lines[len(l.Lines)-int(lines):]
		}
		out = append(out, l)
	}
	if len(unread) > 0 {
		return out, fmt.Errorf("logs not read: %s", printable(strings.Join(unread, "; "), maxMessage))
	}
	return out, nil
}
