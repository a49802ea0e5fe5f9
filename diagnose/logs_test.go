package diagnose

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube/kubefake"
)

// TestLogTargets: the newest failed pod of each failing container, then
// the previous instance of containers that restart in place, at most
// maxLogTargets.
func TestLogTargets(t *testing.T) {
	failed := []job.Attempt{
		{Pod: "j-a", Container: "app"}, {Pod: "j-b", Container: "migrate", Init: true},
		{Pod: "j-c", Container: "app"}, {Pod: "j-d"}, // a pod-level failure has no container
	}
	onf := fixture.Job("ns", "j").OnFailure().InitContainer("setup")
	onf.J.Spec.Template.Spec.Containers = append(onf.J.Spec.Template.Spec.Containers, corev1.Container{Name: "worker"})
	restarted := fixture.Pod(onf.J, "e", 0).Running(1).Restarted("app", 2, "Error", 1, 5).P
	other := fixture.Pod(onf.J, "f", 0).Running(1)
	other.P.Status.ContainerStatuses = append(other.P.Status.ContainerStatuses, corev1.ContainerStatus{Name: "worker"})
	other.Restarted("worker", 1, "Error", 1, 5)
	done := fixture.Pod(onf.J, "g", 0).Succeeded(9).P
	hang := fixture.Pod(onf.J, "h", 0).Initializing(1).P
	got := logTargets(failed, []*corev1.Pod{restarted, other.P, done, hang})
	want := []logTarget{{pod: "j-c", container: "app"}, {pod: "j-b", container: "migrate"}, {pod: "j-f", container: "worker", previous: true}, {pod: "j-h", container: "setup"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("logTargets = %+v\nwant %+v", got, want)
	}
}

func TestFetchLogs(t *testing.T) {
	ev := Evidence{logTargets: []logTarget{{pod: "j-c", container: "app"}, {pod: "j-e", container: "app", previous: true}}}
	client := kubefake.New()
	logs, err := FetchLogs(context.Background(), client, "ns", ev, 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 2 || logs[0].Pod != "j-c" || logs[1].Previous != true || len(logs[0].Lines) != 1 || logs[0].Lines[0] != "fake logs" {
		t.Errorf("logs %+v", logs)
	}
	r := Report{Namespace: "ns", Logs: logs}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"(kubectl logs j-c -n ns -c app):", "(kubectl logs j-e -n ns -c app --previous):", "  | fake logs"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}

	// Without pods/log: what was read, and why the rest is not.
	denied := kubefake.New()
	denied.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "log" {
			return false, nil, nil
		}
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods/log"}, "j-c", errors.New("rbac"))
	})
	logs, err = FetchLogs(context.Background(), denied, "ns", ev, 20)
	if len(logs) != 0 || err == nil || !strings.Contains(err.Error(), "may not read pods/log in namespace ns") {
		t.Errorf("forbidden: %+v, %v", logs, err)
	}
}

// TestPrintable: what came from the cluster cannot drive a terminal or
// fake report lines, and is bounded.
func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain text":                   "plain text",
		"\x1b]0;owned\x07title":        "\uFFFD]0;owned\uFFFDtitle",
		"line\nKubectl delete ns prod": "line\uFFFDKubectl delete ns prod",
		"rtl\u202egnp.exe":             "rtl\uFFFDgnp.exe",
		"bad utf8 \xff":                "bad utf8 \uFFFD",
		"carriage\rreturn":             "carriage\uFFFDreturn",
		strings.Repeat("x", 20):        strings.Repeat("x", 10) + "…",
		"日本語のメッセージ" + "\x1b[31m":       "日本語の…",
	} {
		limit := 100
		if len(in) == 20 {
			limit = 10
		}
		if strings.HasPrefix(in, "日本語") {
			limit = 13
		}
		if got := printable(in, limit); got != want {
			t.Errorf("printable(%q, %d) = %q, want %q", in, limit, got, want)
		}
	}
}
