package scale

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// TestShardsUnionEqualsUnsharded: three replicas with --watch.total-shards=3
// against the real API server, one of them finding its ordinal as a
// StatefulSet pod would (--watch.shard=auto, $HOSTNAME ending in -2). The Jobs
// are the runs of CronJobs (10 each, named <cronjob>-<minutes> as the
// CronJob controller names them). Each replica reports a share of the
// Jobs and says which shard it is; no Job or CronJob appears in two
// replicas; every run of a CronJob is reported by the replica that reports
// the CronJob; and the union of their series about Jobs and CronJobs
// equals an unsharded exporter's, line for line. So Prometheus (or Thanos,
// Mimir) sees every series exactly once, with no aggregation of its own.
func TestShardsUnionEqualsUnsharded(t *testing.T) {
	if testing.Short() {
		t.Skip("sharding run skipped in -short mode")
	}
	ctx := context.Background()
	rg := startRig(ctx, t)
	b := batch{prefix: "shard", namespaces: 5, first: 0, count: 300, podsPerJob: 3, runsPerCronJob: runsPerCronJob}
	if _, err := createBatch(ctx, rg.cs, b, 32, nil); err != nil {
		t.Fatal(err)
	}
	start := func(name string, env []string, args ...string) *harness.Exporter {
		t.Helper()
		logf, err := os.Create(filepath.Join(rg.work, name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { logf.Close() })
		e, err := harness.StartExporter(ctx, harness.ExporterOptions{
			Binary: rg.bin, Kubeconfig: rg.Kubeconfig(), Args: args, Env: env, LogLevel: "warn", Output: logf,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Stop() })
		return e
	}
	whole := start("unsharded", nil)
	if err := waitObjects(ctx, whole, b.count, b.pods(), 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := waitCronJobs(ctx, whole, b.cronJobs(), true, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	shards := []*harness.Exporter{
		start("shard-0", nil, "--watch.shard=0", "--watch.total-shards=3"),
		start("shard-1", nil, "--watch.shard=1", "--watch.total-shards=3"),
		start("shard-2", []string{"HOSTNAME=kube-job-exporter-2"}, "--watch.shard=auto", "--watch.total-shards=3"),
	}

	// /readyz answers once every Job a replica owns is rendered with its
	// pods; the CronJob watch is not part of it, so wait for that too.
	// Nothing changes in the cluster any more: one scrape each.
	for i, e := range shards {
		if err := harness.Eventually(ctx, 2*time.Minute, func(ctx context.Context) (bool, string, error) {
			body, _, err := fetch(ctx, e, false)
			if err != nil {
				return false, err.Error(), nil
			}
			v, _ := value(body, `kubejob_exporter_watch_synced{resource="cronjobs"}`)
			return v == 1, fmt.Sprintf("shard %d: CronJob watch synced %v", i, v), nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	want := jobSeries(t, whole)
	owner := map[string]int{}     // Job → the shard that reported it
	cronOwner := map[string]int{} // CronJob → the shard that reported it
	var union []string
	for i, e := range shards {
		body, _, err := fetch(ctx, e, false)
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := value(body, "kubejob_exporter_shard_ordinal"); int(v) != i {
			t.Errorf("shard %d: kubejob_exporter_shard_ordinal %v", i, v)
		}
		if v, _ := value(body, "kubejob_exporter_total_shards"); v != 3 {
			t.Errorf("shard %d: kubejob_exporter_total_shards %v, want 3", i, v)
		}
		lines := jobLines(body)
		jobs, crons := map[string]bool{}, map[string]bool{}
		for _, l := range lines {
			id, cron := jobID(l)
			owners, what := owner, "Job"
			if cron {
				owners, what = cronOwner, "CronJob"
				crons[id] = true
			} else {
				jobs[id] = true
			}
			if o, ok := owners[id]; ok && o != i {
				t.Errorf("%s %s reported by shards %d and %d", what, id, o, i)
			}
			owners[id] = i
		}
		// 30 CronJobs of 10 runs hashed three ways: 10 CronJobs (100
		// Jobs) each on average, with a standard deviation of about 2.6
		// CronJobs (7, 13 and 10 here: the hash is fixed).
		if len(jobs) < 50 {
			t.Errorf("shard %d reports %d of %d Jobs", i, len(jobs), b.count)
		}
		t.Logf("shard %d: %d Jobs, %d CronJobs, %d series", i, len(jobs), len(crons), len(lines))
		union = append(union, lines...)
	}
	// A CronJob's runs are reported where the CronJob is: its series
	// about runs (last success, failure, consecutive failures) are whole.
	for id, s := range owner {
		cron := id[:strings.LastIndexByte(id, '-')]
		if o, ok := cronOwner[cron]; !ok || o != s {
			t.Errorf("Job %s reported by shard %d, its CronJob %s by shard %d (reported: %v)", id, s, cron, o, ok)
		}
	}
	slices.Sort(union)
	if !slices.Equal(union, want) {
		t.Errorf("the shards' union (%d series) differs from the unsharded output (%d series):\n%s", len(union), len(want), lineDiff(union, want))
	}
	if len(owner) != b.count || len(cronOwner) != b.cronJobs() {
		t.Errorf("the shards report %d Jobs and %d CronJobs together, want %d and %d", len(owner), len(cronOwner), b.count, b.cronJobs())
	}
}

// jobSeries scrapes e and returns its series about Jobs, sorted.
func jobSeries(t *testing.T, e *harness.Exporter) []string {
	t.Helper()
	body, _, err := fetch(context.Background(), e, false)
	if err != nil {
		t.Fatal(err)
	}
	lines := jobLines(body)
	slices.Sort(lines)
	return lines
}

// jobLines are the series lines about Jobs and CronJobs: kubejob_*, not
// the exporter's own kubejob_exporter_*.
func jobLines(body []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "kubejob_") && !strings.HasPrefix(l, "kubejob_exporter_") {
			out = append(out, l)
		}
	}
	return out
}

// jobID is the namespace and Job (or, cron, CronJob) a series line is
// about, unquoted.
func jobID(line string) (id string, cron bool) {
	var ns, name string
	for _, kv := range strings.Split(strings.Trim(line[strings.IndexByte(line, '{')+1:strings.IndexByte(line, '}')], ","), ",") {
		switch k, v, _ := strings.Cut(kv, "="); k {
		case "namespace":
			ns = strings.Trim(v, `"`)
		case "job_name":
			name = strings.Trim(v, `"`)
		case "cronjob":
			name, cron = strings.Trim(v, `"`), true
		}
	}
	return ns + "/" + name, cron
}

// lineDiff lists up to 20 lines only one side has.
func lineDiff(got, want []string) string {
	var out []string
	for _, l := range got {
		if _, ok := slices.BinarySearch(want, l); !ok {
			out = append(out, "+ "+l)
		}
	}
	for _, l := range want {
		if _, ok := slices.BinarySearch(got, l); !ok {
			out = append(out, "- "+l)
		}
	}
	if len(out) > 20 {
		out = append(out[:20], fmt.Sprintf("... %d more", len(out)-20))
	}
	return strings.Join(out, "\n")
}
