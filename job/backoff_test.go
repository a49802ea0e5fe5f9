package job

import (
	"math"
	"testing"
	"time"
)

// Expected values follow getRemainingTimeForFailuresCount (backoff_utils.go):
// defaultBackoff doubled failuresCount−1 times, clamped to maxBackoff as
// soon as it reaches it.
func TestBackoffDelay(t *testing.T) {
	old := Backoff{Initial: 10 * time.Second, Max: 6 * time.Minute}
	tests := []struct {
		name     string
		b        Backoff
		failures int32
		want     time.Duration
	}{
		{"no failures", DefaultBackoff, 0, 0},
		{"first failure waits initial", DefaultBackoff, 1, 10 * time.Second},
		{"second doubles", DefaultBackoff, 2, 20 * time.Second},
		{"third doubles again", DefaultBackoff, 3, 40 * time.Second},
		{"sixth below cap", DefaultBackoff, 6, 320 * time.Second},
		{"seventh 640s capped to 600s", DefaultBackoff, 7, 10 * time.Minute},
		{"eighth stays capped", DefaultBackoff, 8, 10 * time.Minute},
		{"old 6m cap: sixth", old, 6, 320 * time.Second},
		{"old 6m cap: seventh 640s capped to 360s", old, 7, 6 * time.Minute},
		{"reaching max exactly", Backoff{Initial: 10 * time.Second, Max: 40 * time.Second}, 3, 40 * time.Second},
		{"past max exactly", Backoff{Initial: 10 * time.Second, Max: 40 * time.Second}, 4, 40 * time.Second},
		{"negative failures", DefaultBackoff, -1, 0},
		{"MinInt32 failures", DefaultBackoff, math.MinInt32, 0},
		{"zero initial", Backoff{Initial: 0, Max: time.Minute}, 3, 0},
		{"negative initial", Backoff{Initial: -time.Second, Max: time.Minute}, 3, 0},
		{"zero value", Backoff{}, 5, 0},
		{"huge n returns max", DefaultBackoff, math.MaxInt32, 10 * time.Minute},
		{"no cap, small n doubles", Backoff{Initial: 10 * time.Second}, 2, 20 * time.Second},
		{"no cap, huge n saturates instead of overflowing", Backoff{Initial: 10 * time.Second}, math.MaxInt32, math.MaxInt64},
		{"negative cap means no cap", Backoff{Initial: 10 * time.Second, Max: -1}, 100, math.MaxInt64},
		{"cap near MaxInt64 never overflows", Backoff{Initial: time.Second, Max: 1 << 62}, 80, 1 << 62},
		{"cap MaxInt64", Backoff{Initial: 3 * time.Nanosecond, Max: math.MaxInt64}, 100, math.MaxInt64},
		{"initial above max is capped", Backoff{Initial: time.Hour, Max: time.Minute}, 1, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.b.Delay(tt.failures); got != tt.want {
				t.Errorf("%+v.Delay(%d) = %v, want %v", tt.b, tt.failures, got, tt.want)
			}
		})
	}
}

func TestBackoffDelayMonotonic(t *testing.T) {
	for _, b := range []Backoff{DefaultBackoff, {Initial: 10 * time.Second, Max: 6 * time.Minute}, {Initial: 7 * time.Millisecond}} {
		prev := time.Duration(0)
		for n := int32(0); n < 100; n++ {
			d := b.Delay(n)
			if d < prev {
				t.Fatalf("%+v.Delay(%d) = %v < Delay(%d) = %v", b, n, d, n-1, prev)
			}
			if b.Max > 0 && d > b.Max {
				t.Fatalf("%+v.Delay(%d) = %v above max", b, n, d)
			}
			prev = d
		}
	}
}
