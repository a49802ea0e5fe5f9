package reliability

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// compactRevKey is where kube-apiserver's own compactor records the last
// compaction (k8s.io/apiserver/pkg/storage/etcd3/compact.go); writing it
// lets the API server (and its watch cache) learn of our compaction as of
// its own.
const compactRevKey = "compact_rev_key"

// CompactEtcd compacts the cluster's etcd to its current revision, as
// kube-apiserver's compactor does (record the revision, then compact), and
// returns that revision.
func CompactEtcd(ctx context.Context, etcdURL string) (int64, error) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{etcdURL}, DialTimeout: 10 * time.Second})
	if err != nil {
		return 0, err
	}
	defer cli.Close()
	resp, err := cli.Get(ctx, compactRevKey)
	if err != nil {
		return 0, err
	}
	rev := resp.Header.Revision
	if _, err := cli.Put(ctx, compactRevKey, strconv.FormatInt(rev, 10)); err != nil {
		return 0, err
	}
	if _, err := cli.Compact(ctx, rev, clientv3.WithCompactPhysical()); err != nil {
		return 0, fmt.Errorf("compact to %d: %w", rev, err)
	}
	return rev, nil
}

// Relist forces the exporter's watches to restart from a compacted
// resource version: while the exporter is cut off (refused connections, so
// client-go's reflector keeps its resource version and re-watches from it)
// Jobs change and one is deleted, etcd is compacted to the current
// revision, then the API server comes back. A watch from a compacted
// revision is answered 410 Gone ("too old resource version"), the reflector
// re-lists, and the exporter must end equal to a fresh exporter, with
// kubejob_exporter_watch_errors_total{reason="expired"} increased.
//
// With kube-apiserver's watch cache on (the default), watches are served
// from the cache's event history, which etcd compaction does not shorten:
// a resource version still in that window is resumed, not expired. The
// caller decides what to require of the result.
func Relist(t *testing.T, s *Suite, ns string) RelistResult {
	ctx := context.Background()
	s.CreateNamespace(t, ns)
	e := s.StartExporter(t, "relist")
	s.CreateJobs(t,
		NewJob(ns, "pre-fail", "exit=1", 1),
		NewJob(ns, "pre-ok", "succeed", 0),
		NewJob(ns, "doomed", "exit=4", 0), // deleted while the exporter is away
		NewJob(ns, "running", "run=forever", 0),
	)
	if err := s.WaitJobsFinished(ctx, 2*time.Minute, ns, map[string]batchv1.JobConditionType{
		"pre-fail": batchv1.JobFailed, "pre-ok": batchv1.JobComplete, "doomed": batchv1.JobFailed,
	}); err != nil {
		t.Fatal(err)
	}
	m, err := e.WaitMetrics(ctx, time.Minute, harness.Labels{"namespace": ns}, func(m *harness.Metrics) (bool, string) {
		for _, c := range []struct {
			name string
			l    harness.Labels
		}{
			{"kubejob_failed", Labels(ns, "pre-fail", "reason", "BackoffLimitExceeded")},
			{"kubejob_complete", Labels(ns, "pre-ok")},
			{"kubejob_failed", Labels(ns, "doomed", "reason", "BackoffLimitExceeded")},
			{"kubejob_pods", Labels(ns, "running", "state", "active")},
		} {
			if v, _ := m.Value(c.name, c.l); v != 1 {
				return false, fmt.Sprintf("%s%v = %v, want 1", c.name, c.l, v)
			}
		}
		return WatchUp(m) == float64(len(harness.WatchedResources)), "watches not up"
	})
	if err != nil {
		t.Fatal(err)
	}
	expired0 := m.Sum("kubejob_exporter_watch_errors_total", harness.Labels{"reason": "expired"})

	if err := s.Cluster.SetAPIServerOutage(harness.OutageRefused); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	restored := false
	defer func() {
		if !restored {
			_ = s.Cluster.SetAPIServerOutage(harness.OutageNone)
		}
	}()
	if _, err := e.WaitMetrics(ctx, 45*time.Second, nil, func(m *harness.Metrics) (bool, string) {
		return WatchUp(m) == 0, fmt.Sprintf("sum(watch_up) = %v, want 0", WatchUp(m))
	}); err != nil {
		t.Fatal(err)
	}
	// Changes the exporter misses: a Job deleted (only a re-list can tell
	// it), new ones finishing.
	bg := metav1.DeletePropagationBackground
	if err := s.Cluster.Client().BatchV1().Jobs(ns).Delete(ctx, "doomed", metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil {
		t.Fatal(err)
	}
	s.CreateJobs(t, NewJob(ns, "away-fail", "oom", 1), NewJob(ns, "away-ok", "succeed", 0))
	if err := s.WaitJobsFinished(ctx, 2*time.Minute, ns, map[string]batchv1.JobConditionType{
		"away-fail": batchv1.JobFailed, "away-ok": batchv1.JobComplete,
	}); err != nil {
		t.Fatal(err)
	}
	rev, err := CompactEtcd(ctx, s.Cluster.EtcdURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("etcd compacted to revision %d", rev)
	if err := s.Cluster.SetAPIServerOutage(harness.OutageNone); err != nil {
		t.Fatal(err)
	}
	restored = true
	back := time.Now()
	if err := WaitHealthy(ctx, 2*time.Minute, e); err != nil {
		t.Fatalf("no recovery after the compaction: %v\n%s", err, Tail(e.Logs(), 3000))
	}
	t.Logf("healthy %s after the API server came back", time.Since(back).Round(time.Millisecond))
	fresh := s.StartExporter(t, "relist-fresh")
	if _, err := WaitEqual(ctx, time.Minute, fresh, e, true); err != nil {
		t.Fatalf("after the re-list, the exporter and a fresh one disagree: %v", err)
	}
	t.Logf("equal to a fresh exporter %s after the API server came back", time.Since(back).Round(time.Millisecond))
	m, err = e.Scrape(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.Has("kubejob_info", Labels(ns, "doomed")) {
		t.Errorf("the Job deleted during the outage is still exported")
	}
	if v, _ := m.Value("kubejob_failed", Labels(ns, "away-fail", "reason", "BackoffLimitExceeded")); v != 1 {
		t.Errorf("away-fail: kubejob_failed{reason=BackoffLimitExceeded} = %v, want 1", v)
	}
	if v, _ := m.Value("kubejob_pod_failures", Labels(ns, "away-fail", "container", "main", "reason", "OOMKilled", "exit_code", "137")); v != 2 {
		t.Errorf("away-fail: kubejob_pod_failures{OOMKilled,137} = %v, want 2", v)
	}
	jobs := m.Sum("kubejob_exporter_watch_errors_total", harness.Labels{"resource": "jobs", "reason": "expired"})
	pods := m.Sum("kubejob_exporter_watch_errors_total", harness.Labels{"resource": "pods", "reason": "expired"})
	r := RelistResult{Cut: cut, Restored: back, ExpiredDelta: jobs + pods - expired0,
		Expired: fmt.Sprintf(`kubejob_exporter_watch_errors_total{reason="expired"}: jobs %v, pods %v (%v before)`, jobs, pods, expired0)}
	t.Logf("%s", r.Expired)
	return r
}

// RelistResult is what Relist observed.
type RelistResult struct {
	Cut, Restored time.Time // outage start and end
	ExpiredDelta  float64   // increase of watch_errors_total{reason="expired"}
	Expired       string    // the series, for messages
}

// ExpiredGap explains why an expired watch is not counted: client-go's
// reflector swallows it.
const ExpiredGap = `a watch answered 410 Gone arrives as a watch.Error event; client-go's reflector (tools/cache/reflector.go, watch loop) logs it at V(4) and returns nil, so neither the exporter's ListWatcher wrapper nor its watch error handler sees it, and the re-list that follows succeeds silently. watcher/observed_watch.go passes watch.Error events through without reporting them`
