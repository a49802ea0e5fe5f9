package exporter

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube/kubefake"
)

// TestBigJobSummaryFollowsPodEvents: a Job with more pods than the
// watcher summarizes from scratch keeps its pod Aggregate between events,
// and after each wave of pod changes through the API (failures, successes,
// deletions of old pods and of the newest failed ones, replacements) its
// Summary equals one computed from scratch from the pods the API holds.
func TestBigJobSummaryFollowsPodEvents(t *testing.T) {
	const n = 240
	jb := fixture.Job("big", "train").Indexed(n, 60).Started(0).Status(n, n, 0, 0)
	objs := []runtime.Object{jb.J}
	for i := range n {
		objs = append(objs, fixture.Pod(jb.J, fmt.Sprintf("%03d", i), i).Index(i, 0).Running(i+1).P)
	}
	client := kubefake.New(objs...)
	exp, err := New(Config{Client: client, Backoff: job.DefaultBackoff, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := runExporter(t, exp)
	waitFor(t, "the Job rendered", func() bool { return exp.health.Ready() == nil && exp.watcher.Pending() == 0 })

	pods := client.CoreV1().Pods("big")
	// The watch delivers the changes after the API calls return: the
	// Summary must reach the one from scratch, and stay there.
	check := func(wave string) {
		t.Helper()
		var got, want job.Summary
		var departed job.Departed
		deadline := time.Now().Add(30 * time.Second)
		for {
			list, err := pods.List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var ps []*corev1.Pod
			for i := range list.Items {
				ps = append(ps, &list.Items[i])
			}
			j, err := client.BatchV1().Jobs("big").Get(ctx, "train", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var ok bool
			if got, ok = exp.watcher.Summary("big/train"); !ok {
				t.Fatal("no Summary")
			}
			want = job.Summarize(j, ps, nil, exp.watcher.Options())
			got.Recheck, want.Recheck = want.Recheck, got.Recheck // judged at two different times
			// What the watcher remembers of deleted pods is its own: a
			// Summary from the API's objects has none. It is checked below.
			departed = got.Departed
			got.Departed = job.Departed{}
			if exp.watcher.Pods() == len(ps) && exp.watcher.Pending() == 0 && reflect.DeepEqual(got, want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the watcher's Summary\n%+v\ndiffers from one from scratch\n%+v", wave, got, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if len(got.PodFailures) == 0 && wave != "start" {
			t.Fatalf("%s: no failures seen", wave)
		}
		// Failed pods were deleted from the third wave on: the watcher
		// remembers the newest of them, at most job.MaxDepartedPods.
		if deleted := wave != "start" && wave != "failures and successes"; deleted != (departed.Pods > 0) || departed.Pods > job.MaxDepartedPods {
			t.Fatalf("%s: %d deleted pods remembered", wave, departed.Pods)
		}
		if k := exp.watcher.AggregatesKept(); k != 1 {
			t.Fatalf("%s: %d Aggregates kept, want the big Job's", wave, k)
		}
	}
	update := func(i int, change func(b *fixture.PodBuilder)) {
		b := fixture.Pod(jb.J, fmt.Sprintf("%03d", i), i).Index(i%n, i/n)
		change(b)
		if _, err := pods.Update(ctx, b.P, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	check("start")
	for i := 0; i < n; i += 3 {
		update(i, func(b *fixture.PodBuilder) { b.FailedWith("main", 137, "OOMKilled", 1000+i) })
	}
	for i := 1; i < n; i += 3 {
		update(i, func(b *fixture.PodBuilder) { b.Succeeded(900 + i) })
	}
	check("failures and successes")
	// The oldest pods go (as the pod garbage collector removes them),
	// then the newest failed ones, then one more failure arrives.
	for i := 0; i < 60; i++ {
		if err := pods.Delete(ctx, jb.J.Name+"-"+fmt.Sprintf("%03d", i), metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	check("oldest pods deleted")
	for i := n - 3; i >= n-90; i -= 3 {
		if err := pods.Delete(ctx, jb.J.Name+"-"+fmt.Sprintf("%03d", i), metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	check("newest failed pods deleted")
	update(62, func(b *fixture.PodBuilder) { b.FailedWith("main", 1, "Error", 5000) })
	check("one more failure")
}
