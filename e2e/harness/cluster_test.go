package harness

import (
	"context"
	"fmt"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// TestSmoke starts the whole control plane and checks the real Job
// controller fails a Job whose pods are OOMKilled once backoffLimit is spent.
func TestSmoke(t *testing.T) {
	ctx := context.Background()
	start := time.Now()
	c, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	t.Logf("control plane up in %s, kubeconfig %s", time.Since(start).Round(time.Millisecond), c.Kubeconfig())

	// The kubeconfig works, through the proxy that simulates outages.
	kc, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	kc.Timeout = 5 * time.Second
	ext := kubernetes.NewForConfigOrDie(kc)
	if _, err := ext.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
		t.Fatalf("kubeconfig client: %v", err)
	}
	for _, o := range []Outage{OutageRefused, OutageReset} {
		if err := c.SetAPIServerOutage(o); err != nil {
			t.Fatal(err)
		}
		kc.Timeout = 2 * time.Second
		if _, err := kubernetes.NewForConfigOrDie(kc).CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err == nil {
			t.Fatalf("outage %s: API server reachable through the kubeconfig", o)
		}
		if err := c.SetAPIServerOutage(OutageNone); err != nil {
			t.Fatal(err)
		}
		if _, err := ext.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
			t.Fatalf("after the %s outage: %v", o, err)
		}
	}

	ns := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "smoke"}}
	if _, err := c.Client().CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "oom", Namespace: "smoke"},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr(int32(1)),
			Template: v1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{OutcomeAnnotation: "oom"}},
				Spec: v1.PodSpec{
					RestartPolicy: v1.RestartPolicyNever,
					Containers:    []v1.Container{{Name: "main", Image: "busybox"}},
				},
			},
		},
	}
	if _, err := c.Client().BatchV1().Jobs("smoke").Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	created := time.Now()
	err = Eventually(ctx, time.Minute, func(ctx context.Context) (bool, string, error) {
		j, err := c.Client().BatchV1().Jobs("smoke").Get(ctx, "oom", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		for _, cond := range j.Status.Conditions {
			if cond.Type == batchv1.JobFailed && cond.Status == v1.ConditionTrue {
				if cond.Reason != batchv1.JobReasonBackoffLimitExceeded {
					return false, "", fmt.Errorf("job failed with reason %q", cond.Reason)
				}
				return j.Status.Failed == 2, fmt.Sprintf("status.failed=%d", j.Status.Failed), nil
			}
		}
		return false, fmt.Sprintf("job status %+v", j.Status), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("BackoffLimitExceeded %s after the Job was created", time.Since(created).Round(time.Millisecond))

	pods, err := c.Client().CoreV1().Pods("smoke").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Status.Phase != v1.PodFailed {
			t.Errorf("pod %s phase %s, want Failed", p.Name, p.Status.Phase)
			continue
		}
		term := p.Status.ContainerStatuses[0].State.Terminated
		if term == nil || term.ExitCode != 137 || term.Reason != "OOMKilled" {
			t.Errorf("pod %s container state %+v, want terminated 137 OOMKilled", p.Name, p.Status.ContainerStatuses[0].State)
		}
	}
}
