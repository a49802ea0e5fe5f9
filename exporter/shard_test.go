package exporter

import (
	"strings"
	"testing"

	"github.com/kube-job-exporter/kube-job-exporter/collectors"
	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube/kubefake"
	"github.com/kube-job-exporter/kube-job-exporter/watcher"
)

// perJobSeries runs an exporter with the given sharding over the fixture
// cluster and returns its per-Job and per-CronJob sample lines.
func perJobSeries(t *testing.T, shard watcher.Shard) map[string]bool {
	t.Helper()
	client := kubefake.New(fixture.Cluster()...)
	exp, err := New(Config{Client: client, Backoff: job.DefaultBackoff, Collectors: collectors.Options{MaxIndexSeries: 50}, Shard: shard})
	if err != nil {
		t.Fatal(err)
	}
	runExporter(t, exp)
	waitFor(t, "sync", func() bool { return exp.health.Ready() == nil && exp.watcher.Pending() == 0 })
	var out strings.Builder
	for _, s := range exp.Stores() {
		if _, err := s.WriteTo(&out); err != nil {
			t.Fatal(err)
		}
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(out.String(), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			lines[l] = true
		}
	}
	return lines
}

// TestShardsPartitionJobs: the union of 3 shards' series equals the
// unsharded output, no series (per-CronJob ones included) is reported by two
// shards, and each shard reports some Jobs.
func TestShardsPartitionJobs(t *testing.T) {
	all := perJobSeries(t, watcher.Shard{})
	union := map[string]bool{}
	for i := 0; i < 3; i++ {
		part := perJobSeries(t, watcher.Shard{Index: i, Total: 3})
		if len(part) == 0 {
			t.Errorf("shard %d reports nothing", i)
		}
		for l := range part {
			if union[l] {
				t.Errorf("series reported by two shards: %s", l)
			}
			union[l] = true
		}
	}
	for l := range all {
		if !union[l] {
			t.Errorf("series missing from every shard: %s", l)
		}
	}
	for l := range union {
		if !all[l] {
			t.Errorf("series only in a shard: %s", l)
		}
	}
}
