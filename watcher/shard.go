package watcher

import (
	"fmt"
	"hash/fnv"
	"strings"
)

// Shard selects the part of the Jobs one exporter replica reports, so N
// replicas (a StatefulSet, ordinal = shard) split a large cluster. A Job
// belongs to shard hash(group) mod Total, and its pods follow it. The group
// is namespace/name without a trailing "-<8 or more digits>": the CronJob
// controller names Jobs <cronjob>-<scheduled time in minutes since the
// epoch> (8 digits from 1973 to 2160), so every run of a CronJob lands on the
// same replica and its kubejob_cronjob_* series come from that one replica.
// Shorter numbers are kept: Jobs named batch-1, batch-2... spread across
// the replicas instead of piling onto one. (The group must be computable
// from a pod, which names only its Job.) Each Job is reported by exactly one replica, so Prometheus, or
// Thanos or Mimir, sees the union without any aggregation of ours.
type Shard struct {
	Index, Total int
}

// Validate checks 0 <= Index < Total; its error is a *FieldError naming
// the Config fields Shard.Index and Shard.Total.
func (s Shard) Validate() error {
	if s.Total < 0 || (s.Total > 0 && (s.Index < 0 || s.Index >= s.Total)) || (s.Total == 0 && s.Index != 0) {
		return &FieldError{Fields: []string{"Shard.Index", "Shard.Total"},
			Reason: fmt.Sprintf("shard %d of %d: need 0 <= shard < total", s.Index, s.Total)}
	}
	return nil
}

// Enabled tells whether Jobs are split at all.
func (s Shard) Enabled() bool { return s.Total > 1 }

// Owns tells whether the Job "namespace/name" belongs to this shard.
func (s Shard) Owns(jobKey string) bool {
	return !s.Enabled() || s.Of(jobKey) == s.Index
}

// Of is the shard the Job "namespace/name" belongs to (0 without sharding).
func (s Shard) Of(jobKey string) int { return s.ofGroup(shardGroup(jobKey)) }

// OwnsGroup tells whether the CronJob "namespace/name" belongs to this
// shard: the shard of all its runs.
func (s Shard) OwnsGroup(cronJobKey string) bool {
	return !s.Enabled() || s.ofGroup(cronJobKey) == s.Index
}

func (s Shard) ofGroup(group string) int {
	if !s.Enabled() {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(group))
	return int(h.Sum64() % uint64(s.Total))
}

// cronRunDigits is the shortest run suffix a CronJob's Job name carries.
const cronRunDigits = 8

// shardGroup strips a CronJob run's "-<minutes>" suffix from a Job key.
func shardGroup(jobKey string) string {
	i := strings.LastIndexByte(jobKey, '-')
	if i <= 0 || len(jobKey)-i-1 < cronRunDigits {
		return jobKey
	}
	for _, c := range jobKey[i+1:] {
		if c < '0' || c > '9' {
			return jobKey
		}
	}
	return jobKey[:i]
}
