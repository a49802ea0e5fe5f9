package job

import (
	"math"
	"time"
)

// Backoff is the Job controller's pod-failure backoff configuration: the
// delay after the first failure and the cap. The controller exports them as
// DefaultJobPodFailureBackOff (10s) and MaxJobPodFailureBackOff (10m since
// v1.28; until v1.27 one pair, DefaultJobBackOff 10s and MaxJobBackOff 6m,
// served both the pod-failure backoff and the sync retries). As read in
// k8s.io/kubernetes pkg/controller/job/job_controller.go: v1.27.0 has
// MaxJobBackOff = 360 * time.Second, v1.28.0 MaxJobPodFailureBackOff =
// 10 * time.Minute.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
}

// DefaultBackoff is the backoff of current Job controllers.
var DefaultBackoff = Backoff{Initial: 10 * time.Second, Max: 10 * time.Minute}

// ControllerBackoff is the backoff of the Job controller of Kubernetes
// 1.minor: the cap rose from 6m to 10m in v1.28.
func ControllerBackoff(minor int) Backoff {
	if minor < 28 {
		return Backoff{Initial: 10 * time.Second, Max: 6 * time.Minute}
	}
	return DefaultBackoff
}

// Delay returns the delay the controller applies before it creates the next
// pod after `failures` consecutive failures (failures since the last
// success): Initial·2^(failures−1), capped at Max, and 0 with no failures.
// It mirrors getRemainingTimeForFailuresCount in backoff_utils.go, without
// the elapsed-time part: callers add the delay to the last failure time.
// Max ≤ 0 means no cap; the doubling saturates instead of overflowing, so
// any failure count gives Max (or the largest Duration without a cap).
func (b Backoff) Delay(failures int32) time.Duration {
	if failures <= 0 || b.Initial <= 0 {
		return 0
	}
	limit := time.Duration(math.MaxInt64)
	if b.Max > 0 {
		limit = b.Max
	}
	d := b.Initial
	for i := int32(1); i < failures && d < limit; i++ {
		if d > limit/2 {
			d = limit
			break
		}
		d *= 2
	}
	if d > limit {
		return limit
	}
	return d
}
