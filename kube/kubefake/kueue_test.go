package kubefake

import (
	"context"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kube-job-exporter/kube-job-exporter/kube"
)

func TestKueueFake(t *testing.T) {
	ctx := context.Background()
	c := New()
	if v, err := c.KueueVersion(ctx); v != "" || err != nil {
		t.Fatalf("before InstallKueue: %q, %v", v, err)
	}
	if _, err := c.ListWorkloads(ctx, "v1beta2", "", metav1.ListOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("list before InstallKueue: %v, want NotFound", err)
	}
	c.InstallKueue("v1beta1")
	if v, err := c.KueueVersion(ctx); v != "v1beta1" || err != nil {
		t.Fatalf("KueueVersion = %q, %v", v, err)
	}
	wl := &kube.Workload{ObjectMeta: metav1.ObjectMeta{Name: "job-etl", Namespace: "batch"}, Spec: kube.WorkloadSpec{QueueName: "team-a"}}
	if err := c.CreateKueue(wl); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListWorkloads(ctx, "v1beta1", "batch", metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 || list.Items[0].Spec.QueueName != "team-a" {
		t.Fatalf("list = %+v, %v", list, err)
	}
	w, err := c.WatchWorkloads(ctx, "v1beta1", "batch", metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	wl.Spec.QueueName = "team-b"
	if err := c.UpdateKueue(wl); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w.ResultChan():
		if got, ok := ev.Object.(*kube.Workload); ev.Type != watch.Modified || !ok || got.Spec.QueueName != "team-b" {
			t.Errorf("event %s %+v", ev.Type, ev.Object)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no watch event for the update")
	}
	// A watch resumed from the version of the object first listed gets
	// the change since, as from an API server.
	if rv := list.Items[0].ResourceVersion; rv != "2" {
		t.Errorf("first object's resourceVersion %q, want 2", rv)
	}
	resumed, err := c.WatchWorkloads(ctx, "v1beta1", "batch", metav1.ListOptions{ResourceVersion: list.Items[0].ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-resumed.ResultChan():
		if got, ok := ev.Object.(*kube.Workload); !ok || got.Spec.QueueName != "team-b" || got.ResourceVersion != "3" {
			t.Errorf("resumed watch: %s %+v", ev.Type, ev.Object)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the resumed watch missed the update")
	}
	c.UninstallKueue()
	if _, ok := <-w.ResultChan(); ok {
		t.Error("the watch outlived the API")
	}
	if _, err := c.ListWorkloads(ctx, "v1beta1", "batch", metav1.ListOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("list after UninstallKueue: %v, want NotFound", err)
	}
	if n := len(c.KueueActions()); n != 7 {
		t.Errorf("%d Kueue actions recorded, want 7", n)
	}
}
