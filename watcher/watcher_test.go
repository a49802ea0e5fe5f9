package watcher

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// Tests of a running Watcher: informers over a fake API server (fakeAPI),
// the Summaries and outcomes it hands to a fakeSink, and the health it
// reports to a fakeRecorder. A "never" is asserted once the handlers
// have seen a later event (a marker) of the same informer: they see the
// events in order, so what was to happen before it has. (The informer's
// cache, which Summaries read, may be ahead of its handlers: a marker
// counts once its own handler ran, not once a Summary shows it.)

func TestJobSummaryFollowsItsPodsUntilDeleted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	j := fixture.Job("ns", "j").Started(0)
	api := newFakeAPI()
	create(t, api, j.J)
	create(t, api, fixture.Pod(j.J, "a", 1).Running(2).P)
	create(t, api, fixture.Pod(j.J, "b", 1).FailedWith("app", 127, "Error", 9).P)
	r := runWatcher(t, api, Config{})
	r.waitSynced(t)

	s := r.sink.summary("ns/j")
	if s == nil || s.Name != "j" || s.UID != j.J.UID {
		t.Fatalf("after the initial lists the Job's Summary is %+v, want Job j's", s)
	}
	if want := []job.PodFailure{{Container: "app", Reason: "Error", ExitCode: "127", Count: 1}}; !slices.Equal(s.PodFailures, want) {
		t.Errorf("pod failures = %+v, want %+v (pod b)", s.PodFailures, want)
	}
	if !r.w.Tracks("ns/j") {
		t.Error("Tracks(ns/j) = false for a Job it reports")
	}

	// A pod's update is a new Summary.
	if _, err := api.CoreV1().Pods("ns").UpdateStatus(ctx, fixture.Pod(j.J, "a", 1).FailedWith("app", 1, "Error", 12).P, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the Summary with pod a's failure", func() bool {
		s := r.sink.summary("ns/j")
		return s != nil && len(s.PodFailures) == 2
	})

	// Deleted: the last Summary (deleted, with the last state), then gone.
	if err := api.BatchV1().Jobs("ns").Delete(ctx, "j", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	last := waitDeleted(t, r, "ns/j")
	if last.Deleted.IsZero() || len(last.PodFailures) != 2 || last.UID != j.J.UID {
		t.Errorf("last Summary: deleted %v, pod failures %+v; want it deleted, with both failures", last.Deleted, last.PodFailures)
	}
	if r.w.Tracks("ns/j") {
		t.Error("Tracks(ns/j) = true for a deleted Job")
	}
}

// waitDeleted waits for the Job key's deletion to reach the Sink: its
// last Summary (JobDeleted), then JobGone, and no JobChanged after them.
// (A JobGone may come before the Job was ever listed: its pods' informer
// runs apart.)
func waitDeleted(t *testing.T, r *running, key string) *job.Summary {
	t.Helper()
	var calls []sinkCall
	deleted := -1
	waitFor(t, key+" deleted", func() bool {
		calls = r.sink.calls("", key)
		deleted = slices.IndexFunc(calls, func(c sinkCall) bool { return c.method == jobDeleted })
		return deleted >= 0 && slices.ContainsFunc(calls[deleted:], func(c sinkCall) bool { return c.method == jobGone })
	})
	if n := len(r.sink.calls(jobDeleted, key)); n != 1 {
		t.Errorf("%d last Summaries of %s, want 1", n, key)
	}
	// A sync under way when the Job went may still render it after its
	// JobDeleted; the JobGone queued by the deletion comes after.
	final := calls[len(calls)-1]
	for _, c := range calls[deleted:] {
		if c.method == jobChanged || c.method == jobGone {
			final = c
		}
	}
	if final.method != jobGone {
		t.Errorf("calls of %s = %v, want JobGone after its JobDeleted", key, methods(calls))
	}
	return calls[deleted].summary
}

func methods(calls []sinkCall) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.method)
	}
	return out
}

// TestSelection: only the Jobs of the watched namespaces, not excluded,
// matching --watch.job-selector reach the Sink, whether listed at start or
// created later; the others never show, and Tracks says so.
func TestSelection(t *testing.T) {
	t.Parallel()
	labelled := func(ns, name, team string) *batchv1.Job {
		j := fixture.Job(ns, name).Started(0).J
		j.Labels = map[string]string{"team": team}
		return j
	}
	for _, tt := range []struct {
		what string
		cfg  Config
		want []string // of a/x, b/y, kube-system/z and their late twins
	}{
		{"all namespaces", Config{}, []string{"a/x", "b/y", "kube-system/z"}},
		{"listed namespaces", Config{Namespaces: []string{"a", "kube-system"}}, []string{"a/x", "kube-system/z"}},
		{"excluded namespace", Config{ExcludeNamespaces: []string{"kube-system"}}, []string{"a/x", "b/y"}},
		{"label selector", Config{JobSelector: "team=a"}, []string{"a/x", "kube-system/z"}},
	} {
		t.Run(tt.what, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI()
			jobs := []*batchv1.Job{labelled("a", "x", "a"), labelled("b", "y", "b"), labelled("kube-system", "z", "a")}
			for _, j := range jobs {
				create(t, api, j)
				create(t, api, fixture.Pod(j, "p", 1).FailedWith("app", 1, "Error", 5).P)
			}
			r := runWatcher(t, api, tt.cfg)
			r.waitSynced(t)
			// The same again after the initial lists, then a marker Job
			// every case selects, last (only its handler queues it).
			var want []string
			for _, j := range jobs {
				late := labelled(j.Namespace, j.Name+"-late", j.Labels["team"])
				create(t, api, late)
				create(t, api, fixture.Pod(late, "p", 1).FailedWith("app", 1, "Error", 5).P)
				if slices.Contains(tt.want, j.Namespace+"/"+j.Name) {
					want = append(want, j.Namespace+"/"+j.Name, late.Namespace+"/"+late.Name)
				}
			}
			create(t, api, labelled("a", "marker", "a"))
			waitFor(t, "the marker Job", func() bool { return r.sink.summary("a/marker") != nil })
			for _, j := range jobs {
				for _, key := range []string{j.Namespace + "/" + j.Name, j.Namespace + "/" + j.Name + "-late"} {
					selected := slices.Contains(want, key)
					if selected {
						waitFor(t, key, func() bool { return r.sink.summary(key) != nil })
					}
					for _, m := range []string{jobChanged, jobDeleted, jobFinished, podFailed} {
						if n := len(r.sink.calls(m, key)); n > 0 && !selected {
							t.Errorf("%s: %d %s calls of a Job out of the selection", key, n, m)
						}
					}
					if r.w.Tracks(key) != selected {
						t.Errorf("Tracks(%s) = %v, want %v", key, !selected, selected)
					}
					if _, ok := r.w.Summary(key); ok != selected {
						t.Errorf("Summary(%s) found %v, want %v", key, ok, selected)
					}
				}
			}
		})
	}
}

// TestJobLeavingTheSelection: a Job relabelled out of --watch.job-selector goes
// (JobGone), and comes back when relabelled into it. The API server sends
// the relabelling as a deletion carrying the Job as it was, still
// matching (fakeAPI does the same).
func TestJobLeavingTheSelection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	j := fixture.Job("ns", "j").Started(0).J
	j.Labels = map[string]string{"team": "a"}
	api := newFakeAPI()
	create(t, api, j)
	r := runWatcher(t, api, Config{JobSelector: "team=a"})
	r.waitSynced(t)
	if r.sink.summary("ns/j") == nil {
		t.Fatal("the selected Job was not reported")
	}
	relabel := func(team string) {
		t.Helper()
		cur, err := api.BatchV1().Jobs("ns").Get(ctx, "j", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cur.Labels = map[string]string{"team": team}
		if _, err := api.BatchV1().Jobs("ns").Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	relabel("b")
	waitFor(t, "the Job gone", func() bool { return r.sink.summary("ns/j") == nil && !r.w.Tracks("ns/j") })
	relabel("a")
	waitFor(t, "the Job back", func() bool { return r.sink.summary("ns/j") != nil && r.w.Tracks("ns/j") })
}

// TestShards: N watchers over one API server split the Jobs: each Job,
// its pods' failures and its CronJob reach exactly one Sink, every run
// of a CronJob the same one, and only that watcher Tracks the Job.
func TestShards(t *testing.T) {
	t.Parallel()
	const total = 3
	api := newFakeAPI()
	jobs := []*batchv1.Job{
		fixture.Job("ns", "nightly-29000000").OwnedByCronJob("nightly").Started(0).J,
		fixture.Job("ns", "nightly-29001440").OwnedByCronJob("nightly").Started(0).J,
	}
	for i := range 8 {
		jobs = append(jobs, fixture.Job("ns", fmt.Sprintf("batch-%d", i)).Started(0).J)
	}
	for _, j := range jobs {
		create(t, api, j)
		create(t, api, fixture.Pod(j, "p", 1).Running(2).P)
	}
	create(t, api, fixture.CronJob("ns", "nightly", "0 3 * * *").J)
	var shards []*running
	for i := range total {
		r := runWatcher(t, api, Config{Shard: Shard{Index: i, Total: total}, CronJobs: true})
		shards = append(shards, r)
	}
	for _, r := range shards {
		r.waitSynced(t)
	}
	// ownerOf is the one shard that reports key, -1 if none or several.
	ownerOf := func(key string) int {
		owner := -1
		for i, r := range shards {
			if r.sink.summary(key) != nil {
				if owner >= 0 {
					t.Errorf("%s reported by shards %d and %d", key, owner, i)
					return -1
				}
				owner = i
			}
		}
		if owner < 0 {
			t.Errorf("%s reported by no shard", key)
		}
		return owner
	}
	owners := map[int]bool{}
	for _, j := range jobs {
		key := j.Namespace + "/" + j.Name
		owner := ownerOf(key)
		owners[owner] = true
		for i, r := range shards {
			if r.w.Tracks(key) != (i == owner) {
				t.Errorf("shard %d: Tracks(%s) = %v, but shard %d reports it", i, key, i != owner, owner)
			}
		}
	}
	if len(owners) < 2 {
		t.Errorf("%d Jobs all on one shard", len(jobs))
	}
	nightly := ownerOf("ns/nightly-29000000")
	if other := ownerOf("ns/nightly-29001440"); other != nightly {
		t.Errorf("the runs of CronJob nightly are on shards %d and %d, want one", nightly, other)
	}
	waitFor(t, "CronJob nightly", func() bool { return len(shards[nightly].sink.calls(cronJobChanged, "ns/nightly")) > 0 })

	// A pod fails: only its Job's shard counts it. A marker pod, after
	// it, tells when every shard has seen the failure.
	failing := jobs[2]
	failed := fixture.Pod(failing, "p", 1).FailedWith("app", 1, "Error", 9).P
	if _, err := api.CoreV1().Pods("ns").UpdateStatus(context.Background(), failed, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	create(t, api, fixture.Pod(jobs[3], "marker", 1).P)
	for _, r := range shards {
		waitFor(t, "the marker pod", func() bool { return r.w.Pods() == len(jobs)+1 })
	}
	owner := ownerOf("ns/" + failing.Name)
	for i, r := range shards {
		want := 0
		if i == owner {
			want = 1
		}
		if n := len(r.sink.calls(podFailed, "ns/"+failing.Name)); n != want {
			t.Errorf("shard %d: %d pod failures of %s, want %d (shard %d owns it)", i, n, failing.Name, want, owner)
		}
		if n := len(r.sink.calls(cronJobChanged, "ns/nightly")); i != nightly && n > 0 {
			t.Errorf("shard %d: CronJob nightly reported, but its runs are shard %d's", i, nightly)
		}
	}
}

// TestFailedCreateEvents: with Config.Events the Job controller's
// FailedCreate events show in the Summary of their Job, those already
// there and those that come later; other events are not selected;
// without Events, events are neither listed nor watched.
func TestFailedCreateEvents(t *testing.T) {
	t.Parallel()
	for _, events := range []bool{true, false} {
		t.Run(fmt.Sprintf("events=%v", events), func(t *testing.T) {
			t.Parallel()
			quota := fixture.Job("ns", "quota").Started(0).J
			psa := fixture.Job("ns", "psa").Started(0).J
			api := newFakeAPI()
			create(t, api, quota)
			create(t, api, fixture.FailedCreate(quota, "1", `pods "quota-x" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=10, limited: pods=10`, 3, 100))
			normal := fixture.FailedCreate(quota, "2", `pods "quota-y" is forbidden: violates PodSecurity "restricted:latest"`, 1, 100)
			normal.Type = corev1.EventTypeNormal // not the Job controller's warning
			create(t, api, normal)
			r := runWatcher(t, api, Config{Events: events})
			r.waitSynced(t)
			create(t, api, psa)
			create(t, api, fixture.FailedCreate(psa, "1", `pods "psa-x" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false`, 1, 100))

			want := map[string][]string{"ns/quota": {job.CreateCauseQuota}, "ns/psa": {job.CreateCausePodSecurity}}
			if !events {
				want = map[string][]string{"ns/quota": nil, "ns/psa": nil}
			}
			for key, causes := range want {
				waitFor(t, key+"'s create failures", func() bool {
					s := r.sink.summary(key)
					if s == nil || !s.WithoutPods {
						return false
					}
					var got []string
					for _, f := range s.CreateFailures {
						got = append(got, f.Cause)
					}
					return slices.Equal(got, causes)
				})
			}
			if events {
				if f := r.sink.summary("ns/quota").CreateFailures[0]; f.Count != 3 || !f.Last.Equal(fixture.At(100).Time) {
					t.Errorf("quota's create failure = %+v, want 3 at %v", f, fixture.At(100).Time)
				}
				waitFor(t, "the events synced", func() bool { return r.rec.reportedSynced(ResourceEvents) })
				return
			}
			for _, a := range api.Actions() {
				if a.GetResource().Resource == ResourceEvents && (a.GetVerb() == "list" || a.GetVerb() == "watch") {
					t.Errorf("%s events without Config.Events", a.GetVerb())
				}
			}
			if s := r.rec.syncs(ResourceEvents); len(s) > 0 {
				t.Errorf("events reported synced %v without Config.Events", s)
			}
		})
	}
}

// forbid makes the fake API server refuse to list resource, as RBAC
// without the permission does.
func forbid(api *fakeAPI, resource string) {
	api.PrependReactor("list", resource, func(a k8stesting.Action) (bool, runtime.Object, error) {
		gr := schema.GroupResource{Group: a.GetResource().Group, Resource: resource}
		return true, nil, apierrors.NewForbidden(gr, "", errors.New("RBAC: not allowed"))
	})
}

// TestCronJobs: with Config.CronJobs each CronJob reaches the Sink until
// it is deleted, and the CronJob objects are trusted once listed; a
// forbidden list leaves them untrusted (the renderers fall back to the
// runs) and the Jobs unaffected; without CronJobs nothing is watched.
func TestCronJobs(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		what      string
		watch     bool
		forbidden bool
	}{
		{"watched", true, false},
		{"forbidden", true, true},
		{"not watched", false, false},
	} {
		t.Run(tt.what, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI()
			create(t, api, fixture.CronJob("ns", "nightly", "0 3 * * *").J)
			create(t, api, fixture.Job("ns", "nightly-29000000").OwnedByCronJob("nightly").Started(0).J)
			if tt.forbidden {
				forbid(api, ResourceCronJobs)
			}
			r := runWatcher(t, api, Config{CronJobs: tt.watch})
			r.waitSynced(t)
			switch {
			case !tt.watch:
				for _, a := range api.Actions() {
					if a.GetResource().Resource == ResourceCronJobs && (a.GetVerb() == "list" || a.GetVerb() == "watch") {
						t.Errorf("%s cronjobs without Config.CronJobs", a.GetVerb())
					}
				}
				for _, m := range []string{cronJobChanged, cronJobGone, cronJobObjects} {
					if n := len(r.sink.calls(m, "")); n > 0 {
						t.Errorf("%d %s calls without Config.CronJobs", n, m)
					}
				}
			case tt.forbidden:
				waitFor(t, "the forbidden list", func() bool {
					errs := r.rec.resultsOf(ResourceCronJobs, "list")
					return len(errs) > 0 && ClassifyError(errs[0]) == ErrForbidden
				})
				// The follower says so every second: wait for two.
				waitFor(t, "two reports of the CronJob objects", func() bool { return len(r.sink.calls(cronJobObjects, "")) >= 2 })
				for _, c := range r.sink.calls(cronJobObjects, "") {
					if c.trusted {
						t.Error("CronJob objects trusted although their list is forbidden")
					}
				}
				if slices.Contains(r.rec.syncs(ResourceCronJobs), true) {
					t.Error("CronJobs reported synced although their list is forbidden")
				}
				if n := len(r.sink.calls(cronJobChanged, "")); n > 0 {
					t.Errorf("%d CronJobs reported without a list", n)
				}
			default:
				waitFor(t, "the CronJob objects trusted", func() bool {
					c := r.sink.calls(cronJobObjects, "")
					return len(c) > 0 && c[len(c)-1].trusted && r.rec.reportedSynced(ResourceCronJobs)
				})
				c := r.sink.calls(cronJobChanged, "ns/nightly")
				if len(c) == 0 || c[0].cronJob.Schedule != "0 3 * * *" {
					t.Fatalf("CronJob nightly: %+v, want its record with its schedule", c)
				}
				r.waitWatching(t, ResourceCronJobs)
				if err := api.BatchV1().CronJobs("ns").Delete(context.Background(), "nightly", metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
				waitFor(t, "CronJob nightly gone", func() bool { return len(r.sink.calls(cronJobGone, "ns/nightly")) == 1 })
			}
			if r.sink.summary("ns/nightly-29000000") == nil {
				t.Error("the CronJob's run was not reported")
			}
		})
	}
}

// TestRecorderHearsTheWatches: the Recorder hears every list's outcome,
// the sync of Jobs and pods once their lists are rendered (never while a
// list fails; events on their own), and how long events took.
func TestRecorderHearsTheWatches(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		what      string
		forbidden string // the resource whose list is forbidden
		synced    map[string]bool
	}{
		{"all allowed", "", map[string]bool{ResourceJobs: true, ResourcePods: true, ResourceEvents: true}},
		{"jobs forbidden", ResourceJobs, map[string]bool{ResourceJobs: false, ResourcePods: false, ResourceEvents: true}},
		{"events forbidden", ResourceEvents, map[string]bool{ResourceJobs: true, ResourcePods: true, ResourceEvents: false}},
	} {
		t.Run(tt.what, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI()
			create(t, api, fixture.Job("ns", "j").Started(0).J)
			if tt.forbidden != "" {
				forbid(api, tt.forbidden)
			}
			r := runWatcher(t, api, Config{Events: true})
			for resource, synced := range tt.synced {
				if !synced {
					continue
				}
				waitFor(t, resource+" synced", func() bool { return r.rec.reportedSynced(resource) })
				if errs := r.rec.resultsOf(resource, "list"); len(errs) == 0 || slices.ContainsFunc(errs, func(err error) bool { return err != nil }) {
					t.Errorf("%s list outcomes %v, want successes", resource, errs)
				}
			}
			if tt.forbidden != "" {
				waitFor(t, "the forbidden list", func() bool {
					errs := r.rec.resultsOf(tt.forbidden, "list")
					return len(errs) > 0 && ClassifyError(errs[0]) == ErrForbidden
				})
				// Reported after the failure: still not synced.
				n := len(r.rec.syncs(tt.forbidden))
				waitFor(t, "a sync report after the failure", func() bool { return len(r.rec.syncs(tt.forbidden)) > n })
				for resource, synced := range tt.synced {
					if !synced && slices.Contains(r.rec.syncs(resource), true) {
						t.Errorf("%s reported synced with the %s list forbidden", resource, tt.forbidden)
					}
				}
				if r.w.JobsSynced() != tt.synced[ResourceJobs] {
					t.Errorf("JobsSynced() = %v", !tt.synced[ResourceJobs])
				}
			}
			if !tt.synced[ResourceJobs] {
				return
			}
			create(t, api, fixture.Job("ns", "k").Started(0).J)
			waitFor(t, "the new Job", func() bool { return r.sink.summary("ns/k") != nil })
			delays := r.rec.delays()
			if len(delays) == 0 {
				t.Fatal("no event processing reported")
			}
			for _, d := range delays {
				if d < 0 || d > 10*time.Second {
					t.Errorf("an event processed in %v", d)
				}
			}
		})
	}
}

// TestDepartedPods: a pod deleted while its Job exists is kept as the
// Job's evidence only when it is evidence (failed, waiting, restarted).
func TestDepartedPods(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		what  string
		job   *fixture.JobBuilder
		pod   func(j *batchv1.Job) *corev1.Pod
		check func(d job.Departed) bool
	}{
		{"failed", fixture.Job("ns", "j").Started(0),
			func(j *batchv1.Job) *corev1.Pod {
				return fixture.Pod(j, "a", 1).FailedWith("app", 137, "OOMKilled", 5).P
			},
			func(d job.Departed) bool {
				return d.Pods == 1 && len(d.Attempts) == 1 && d.Attempts[0].ExitCode == 137 && d.Attempts[0].Pod == "j-a"
			}},
		{"waiting on its image", fixture.Job("ns", "j").Started(0),
			func(j *batchv1.Job) *corev1.Pod { return fixture.Pod(j, "a", 1).Waiting("ImagePullBackOff").P },
			func(d job.Departed) bool {
				return d.Pods == 1 && slices.Equal(d.Waiting, []job.ReasonCount{{Reason: "ImagePullBackOff", Count: 1}})
			}},
		{"restarted", fixture.Job("ns", "j").OnFailure().Started(0),
			func(j *batchv1.Job) *corev1.Pod {
				return fixture.Pod(j, "a", 1).Running(2).Restarted("app", 2, "Error", 1, 5).P
			},
			func(d job.Departed) bool { return d.Pods == 1 && len(d.PodFailures) > 0 }},
		{"running well", fixture.Job("ns", "j").Started(0),
			func(j *batchv1.Job) *corev1.Pod { return fixture.Pod(j, "a", 1).Running(2).P },
			func(d job.Departed) bool { return d.Pods == 0 }},
		{"succeeded", fixture.Job("ns", "j").Started(0),
			func(j *batchv1.Job) *corev1.Pod { return fixture.Pod(j, "a", 1).Succeeded(5).P },
			func(d job.Departed) bool { return d.Pods == 0 }},
	} {
		t.Run(tt.what, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI()
			create(t, api, tt.job.J)
			create(t, api, tt.pod(tt.job.J))
			r := runWatcher(t, api, Config{})
			r.waitSynced(t)
			if err := api.CoreV1().Pods("ns").Delete(context.Background(), "j-a", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			d := departedAfter(t, r, tt.job.J)
			if !tt.check(d) {
				t.Errorf("departed = %+v", d)
			}
		})
	}
}

// departedAfter is the Departed evidence of Job j once the handlers have
// seen every one of its pods deleted. The pod count falls to 0 before
// the last deletion's handler is done, so a marker pod follows: its
// handler runs after that one (each handler sees the events in order;
// the cache, which the Summaries read, may be ahead of them).
func departedAfter(t *testing.T, r *running, j *batchv1.Job) job.Departed {
	t.Helper()
	waitFor(t, "the pods deleted", func() bool { return r.w.Pods() == 0 })
	create(t, r.api, fixture.Pod(j, "marker", 1).P)
	waitFor(t, "the marker pod", func() bool { return r.w.Pods() == 1 })
	s, ok := r.w.Summary(j.Namespace + "/" + j.Name)
	if !ok {
		t.Fatalf("no Summary of Job %s", j.Name)
	}
	return s.Departed
}

// TestDepartedPodsBounded: at most job.MaxDepartedPods gone pods are
// kept per Job, the newest; the Job's last Summary keeps them, and the
// watcher forgets them with the Job.
func TestDepartedPodsBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	j := fixture.Job("ns", "j").BackoffLimit(100).Started(0).J
	api := newFakeAPI()
	create(t, api, j)
	const n = job.MaxDepartedPods + 5
	for i := range n {
		create(t, api, fixture.Pod(j, fmt.Sprintf("p%02d", i), 1).FailedWith("app", 1, "Error", 5+i).P)
	}
	r := runWatcher(t, api, Config{})
	r.waitSynced(t)
	for i := range n {
		if err := api.CoreV1().Pods("ns").Delete(ctx, fmt.Sprintf("j-p%02d", i), metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	d := departedAfter(t, r, j)
	var names []string
	for _, a := range d.Attempts {
		names = append(names, a.Pod)
	}
	if d.Pods != job.MaxDepartedPods || slices.Contains(names, "j-p00") || !slices.Contains(names, fmt.Sprintf("j-p%02d", n-1)) {
		t.Errorf("departed: %d pods %q; want the newest %d", d.Pods, names, job.MaxDepartedPods)
	}
	if err := api.BatchV1().Jobs("ns").Delete(ctx, "j", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if last := waitDeleted(t, r, "ns/j"); last.Departed.Pods != job.MaxDepartedPods {
		t.Errorf("the last Summary keeps %d departed pods, want %d", last.Departed.Pods, job.MaxDepartedPods)
	}
	if kept := r.w.departed.len(); kept != 0 {
		t.Errorf("%d departed pods kept after their Job went", kept)
	}
}

// TestOutcomesOnceAcrossARelist: a Job's finish and a pod's failure are
// reported once, although the watches expire and the informers list
// everything again (a re-list delivers what the caches had as updates).
func TestOutcomesOnceAcrossARelist(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	j := fixture.Job("ns", "j").BackoffLimit(0).Started(0)
	api := newFakeAPI()
	create(t, api, j.J)
	create(t, api, fixture.Pod(j.J, "a", 1).Running(2).P)
	r := runWatcher(t, api, Config{})
	r.waitSynced(t)
	if _, err := api.CoreV1().Pods("ns").UpdateStatus(ctx, fixture.Pod(j.J, "a", 1).FailedWith("app", 1, "Error", 5).P, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	failed := fixture.Job("ns", "j").BackoffLimit(0).Started(0).Status(0, 0, 0, 1).Failed("BackoffLimitExceeded", 6).J
	if _, err := api.BatchV1().Jobs("ns").UpdateStatus(ctx, failed, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the outcome and the pod failure", func() bool {
		return len(r.sink.calls(jobFinished, "ns/j")) == 1 && len(r.sink.calls(podFailed, "ns/j")) == 1
	})

	for _, resource := range []string{ResourceJobs, ResourcePods} {
		lists := len(r.rec.resultsOf(resource, "list"))
		api.expire(resource)
		waitFor(t, resource+" listed again", func() bool { return len(r.rec.resultsOf(resource, "list")) > lists })
	}
	if errs := r.rec.resultsOf(ResourceJobs, "watch"); !slices.ContainsFunc(errs, func(err error) bool { return err != nil && ClassifyError(err) == ErrExpired }) {
		t.Errorf("jobs watch outcomes %v, want the expiry among them", errs)
	}
	// Markers after the re-lists, whose handlers run after those of the
	// re-lists: a Job (only its handler queues it), then a pod.
	marker := fixture.Job("ns", "marker").Started(0).J
	create(t, api, marker)
	waitFor(t, "the marker Job", func() bool { return r.sink.summary("ns/marker") != nil })
	create(t, api, fixture.Pod(marker, "a", 1).P)
	waitFor(t, "the marker pod", func() bool { return r.w.Pods() == 2 })
	if n := len(r.sink.calls(jobFinished, "ns/j")); n != 1 {
		t.Errorf("Job j finished %d times, want once", n)
	}
	if n := len(r.sink.calls(podFailed, "ns/j")); n != 1 {
		t.Errorf("pod j-a failed %d times, want once", n)
	}
}
