package podmetrics

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	"k8s.io/metrics/pkg/client/clientset/versioned/fake"

	"github.com/kube-job-exporter/kube-job-exporter/collectors"
)

func podMetrics(ns, pod, job string, usage map[string]string) *metricsv1beta1.PodMetrics {
	pm := &metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: pod, Labels: map[string]string{}}}
	if job != "" {
		pm.Labels["batch.kubernetes.io/job-name"] = job
	}
	for c, q := range usage {
		pm.Containers = append(pm.Containers, metricsv1beta1.ContainerMetrics{Name: c, Usage: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(q)}})
	}
	return pm
}

// add stores PodMetrics under the resource the typed client lists
// ("pods" in metrics.k8s.io); the tracker would guess "podmetricses".
func add(t *testing.T, client *fake.Clientset, pm *metricsv1beta1.PodMetrics) {
	t.Helper()
	gvr := schema.GroupVersionResource{Group: "metrics.k8s.io", Version: "v1beta1", Resource: "pods"}
	if err := client.Tracker().Create(gvr, pm, pm.Namespace); err != nil {
		t.Fatal(err)
	}
}

func TestPollTakesHighestPerJobContainer(t *testing.T) {
	client := fake.NewSimpleClientset()
	for _, pm := range []*metricsv1beta1.PodMetrics{
		podMetrics("batch", "train-a", "train", map[string]string{"app": "400Mi", "sidecar": "10Mi"}),
		podMetrics("batch", "train-b", "train", map[string]string{"app": "480Mi"}),
		podMetrics("batch", "web-1", "", map[string]string{"app": "1Gi"}), // not a Job pod
		podMetrics("other", "etl-x", "etl", map[string]string{"main": "64Mi"}),
	} {
		add(t, client, pm)
	}
	var up atomic.Bool
	mem := collectors.NewPodMemory()
	p := New(Config{Client: client.MetricsV1beta1(), Owns: func(key string) bool { return key != "other/etl" }, Up: up.Store, Render: mem.Replace})
	p.Poll(context.Background())
	if !up.Load() {
		t.Fatal("up is false after a successful poll")
	}
	want := `
# HELP kubejob_container_memory_working_set_bytes ` + collectors.PodMemoryFamily.Help + `
# TYPE kubejob_container_memory_working_set_bytes gauge
kubejob_container_memory_working_set_bytes{container="app",job_name="train",namespace="batch"} 503316480
kubejob_container_memory_working_set_bytes{container="sidecar",job_name="train",namespace="batch"} 10485760
`
	if err := testutil.GatherAndCompare(prometheus.GathererFunc(mem.Store.Gather), strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// TestNoMetricsServer: without the metrics API the poller logs once, says
// up=0, exposes nothing, and recovers when the API answers.
func TestNoMetricsServer(t *testing.T) {
	client := fake.NewSimpleClientset()
	add(t, client, podMetrics("batch", "a", "train", map[string]string{"app": "1Mi"}))
	var absent atomic.Bool
	absent.Store(true)
	client.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		if absent.Load() {
			return true, nil, errors.New(`the server could not find the requested resource (get pods.metrics.k8s.io)`)
		}
		return false, nil, nil
	})
	var logs strings.Builder
	var up atomic.Bool
	mem := collectors.NewPodMemory()
	p := New(Config{Client: client.MetricsV1beta1(), Logger: newLogger(&logs), Up: up.Store, Render: mem.Replace})
	for i := 0; i < 3; i++ {
		p.Poll(context.Background())
	}
	if up.Load() || mem.Store.Len() != 0 {
		t.Errorf("up=%v, %d Jobs exposed without a metrics API", up.Load(), mem.Store.Len())
	}
	if n := strings.Count(logs.String(), "cannot read pod metrics"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, logs.String())
	}
	absent.Store(false)
	p.Poll(context.Background())
	if !up.Load() || mem.Store.Len() != 1 {
		t.Errorf("no recovery: up=%v, %d Jobs", up.Load(), mem.Store.Len())
	}
}
