package watcher

import (
	"fmt"
	"testing"
)

func TestShardOwnsExactlyOne(t *testing.T) {
	counts := make([]int, 4)
	for i := 0; i < 4000; i++ {
		key := fmt.Sprintf("ns-%d/job-%d", i%7, i) // numbered Jobs, as people name them: one group each
		owners := 0
		for s := 0; s < 4; s++ {
			if (Shard{Index: s, Total: 4}).Owns(key) {
				owners++
				counts[s]++
			}
		}
		if owners != 1 {
			t.Fatalf("%s owned by %d shards", key, owners)
		}
	}
	for s, n := range counts {
		if n < 800 || n > 1200 {
			t.Errorf("shard %d owns %d of 4000 Jobs: uneven", s, n)
		}
	}
	if !(Shard{}).Owns("any/job") || !(Shard{Index: 0, Total: 1}).Owns("any/job") {
		t.Error("unsharded replica must own every Job")
	}
}

func TestCronJobRunsShareAShard(t *testing.T) {
	for s := 0; s < 5; s++ {
		sh := Shard{Index: s, Total: 5}
		if sh.Owns("batch/nightly-29000000") != sh.Owns("batch/nightly-29001440") {
			t.Fatalf("runs of one CronJob on different shards")
		}
	}
	if got := shardGroup("batch/nightly-29000000"); got != "batch/nightly" {
		t.Errorf("shardGroup = %q", got)
	}
	// Only a CronJob's 8-digit run suffix groups: numbered Jobs stay apart.
	for _, k := range []string{"batch/job-a", "batch/job-", "batch/x", "batch/job-000123", "batch/migrate-42", "batch/run-1234567"} {
		if got := shardGroup(k); got != k {
			t.Errorf("shardGroup(%q) = %q", k, got)
		}
	}
}

func TestShardValidate(t *testing.T) {
	for _, s := range []Shard{{0, 0}, {0, 1}, {2, 3}} {
		if err := s.Validate(); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
	for _, s := range []Shard{{3, 3}, {-1, 2}, {1, 0}, {0, -1}} {
		if err := s.Validate(); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}
