package harness

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestMetricsServer: metrics.k8s.io, served by MetricsServer, answers
// through kube-apiserver's aggregation layer the way metrics-server does,
// and only through it.
func TestMetricsServer(t *testing.T) {
	ctx := context.Background()
	c, err := Start(ctx, Options{NoPodDriver: true, NoCronJobController: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	start := time.Now()
	m, err := StartMetricsServer(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("APIService %s available in %s", MetricsAPIService, time.Since(start).Round(time.Millisecond))

	for _, ns := range []string{"ms-a", "ms-b"} {
		if _, err := c.Client().CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pod := func(ns, name string, labels map[string]string) {
		p := &v1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
			Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "main", Image: "x"}}},
		}
		if _, err := c.Client().CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pod("ms-a", "worker-1", map[string]string{"batch.kubernetes.io/job-name": "worker"})
	pod("ms-a", "web", map[string]string{"app": "web"})
	pod("ms-b", "other-1", map[string]string{"batch.kubernetes.io/job-name": "other"})
	pod("ms-b", "no-usage", nil)
	m.SetPodUsage("ms-a", "worker-1", map[string]int64{"main": 60 << 20, "sidecar": 1000})
	m.SetPodUsage("ms-a", "web", map[string]int64{"main": 1 << 20})
	m.SetPodUsage("ms-b", "other-1", map[string]int64{"main": 2 << 20})
	m.SetPodUsage("ms-b", "gone", map[string]int64{"main": 1}) // no such pod: not reported

	rest := c.Client().Discovery().RESTClient()
	get := func(path, selector string) (int, map[string]any) {
		t.Helper()
		req := rest.Get().AbsPath(path)
		if selector != "" {
			req = req.Param("labelSelector", selector)
		}
		res := req.Do(ctx)
		var code int
		res.StatusCode(&code)
		raw, _ := res.Raw()
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("GET %s: %d, not JSON: %s", path, code, raw)
		}
		return code, out
	}
	names := func(list map[string]any) []string {
		var out []string
		items, _ := list["items"].([]any)
		for _, it := range items {
			md := it.(map[string]any)["metadata"].(map[string]any)
			out = append(out, md["namespace"].(string)+"/"+md["name"].(string))
		}
		slices.Sort(out)
		return out
	}

	// Discovery, merged by the aggregator from this server's document.
	res, err := c.Client().Discovery().ServerResourcesForGroupVersion("metrics.k8s.io/v1beta1")
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	if !slices.ContainsFunc(res.APIResources, func(r metav1.APIResource) bool { return r.Name == "pods" && r.Kind == "PodMetrics" && r.Namespaced }) {
		t.Errorf("discovery of metrics.k8s.io/v1beta1: no namespaced pods/PodMetrics in %+v", res.APIResources)
	}

	// List in a namespace with the exporter's selector (label exists).
	code, list := get("/apis/metrics.k8s.io/v1beta1/namespaces/ms-a/pods", "batch.kubernetes.io/job-name")
	if code != http.StatusOK || list["kind"] != "PodMetricsList" || !slices.Equal(names(list), []string{"ms-a/worker-1"}) {
		t.Fatalf("list ms-a with selector: %d %v %v", code, list["kind"], names(list))
	}
	item := list["items"].([]any)[0].(map[string]any)
	if item["window"] != "15s" || item["timestamp"] == nil {
		t.Errorf("PodMetrics without metrics-server's window and timestamp: %v", item)
	}
	containers := item["containers"].([]any)
	if len(containers) != 2 {
		t.Fatalf("containers %v, want main and sidecar", containers)
	}
	main := containers[0].(map[string]any)
	if usage := main["usage"].(map[string]any); main["name"] != "main" || usage["memory"] != "60Mi" || usage["cpu"] == nil {
		t.Errorf("container %v, want main with memory 60Mi and a cpu", main)
	}
	// Across namespaces, and without a selector.
	if _, list := get("/apis/metrics.k8s.io/v1beta1/pods", "batch.kubernetes.io/job-name"); !slices.Equal(names(list), []string{"ms-a/worker-1", "ms-b/other-1"}) {
		t.Errorf("list all with selector: %v", names(list))
	}
	if _, list := get("/apis/metrics.k8s.io/v1beta1/namespaces/ms-a/pods", ""); !slices.Equal(names(list), []string{"ms-a/web", "ms-a/worker-1"}) {
		t.Errorf("list ms-a: %v", names(list))
	}
	// Get, and a pod without metrics: 404 with a Status, as metrics-server.
	if code, pm := get("/apis/metrics.k8s.io/v1beta1/namespaces/ms-b/pods/other-1", ""); code != http.StatusOK || pm["kind"] != "PodMetrics" {
		t.Errorf("get other-1: %d %v", code, pm)
	}
	if code, st := get("/apis/metrics.k8s.io/v1beta1/namespaces/ms-b/pods/no-usage", ""); code != http.StatusNotFound || st["reason"] != "NotFound" {
		t.Errorf("get no-usage: %d %v, want 404 NotFound", code, st)
	}

	// Every request came through the aggregator, which names the user.
	for _, r := range m.Requests() {
		if r.User == "" {
			t.Errorf("request %s without a front-proxy user", r.Path)
		}
	}
	// Called directly, without kube-apiserver's front-proxy certificate,
	// the server refuses.
	direct := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the test calls its own server
	resp, err := direct.Get("https://" + m.l.Addr().String() + "/apis/metrics.k8s.io/v1beta1/pods")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("direct call: %d, want 401", resp.StatusCode)
	}

	// Stop unregisters the group.
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	// The aggregator drops the group when its APIService controller sees
	// the deletion, a moment later: until then it answers 503.
	if err := Eventually(ctx, 30*time.Second, func(context.Context) (bool, string, error) {
		_, err := c.Client().Discovery().ServerResourcesForGroupVersion("metrics.k8s.io/v1beta1")
		return err != nil && strings.Contains(err.Error(), "not find"), fmt.Sprintf("discovery after Stop: %v, want not found", err), nil
	}); err != nil {
		t.Error(err)
	}
}
