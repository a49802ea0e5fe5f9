package kube

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// versionScript is a Client whose Version answers from a script, one
// entry per call: an error, or the body of /version. Past the end it
// repeats the last entry. Only Version is implemented.
type versionScript struct {
	Client
	mu      sync.Mutex
	answers []any // error or string
	calls   int
	// onCall, if set, runs at each call with its number (1-based) and the
	// call's context.
	onCall func(n int, ctx context.Context)
}

func (v *versionScript) Version(ctx context.Context) ([]byte, error) {
	v.mu.Lock()
	v.calls++
	n := v.calls
	a := v.answers[min(n, len(v.answers))-1]
	v.mu.Unlock()
	if v.onCall != nil {
		v.onCall(n, ctx)
	}
	if err, ok := a.(error); ok {
		return nil, err
	}
	return []byte(a.(string)), nil
}

var errRefused = &url.Error{Op: "Get", URL: "https://10.0.0.1:6443/version", Err: errors.New("dial tcp 10.0.0.1:6443: connect: connection refused")}

const v1372 = `{"major":"1","minor":"37","gitVersion":"v1.37.2"}`

// clock is the waits WaitReachable asked for; each returns at once, so the
// test runs the loop without waiting and sees every wait it would make.
type clock struct{ waits []time.Duration }

func (c *clock) after(d time.Duration) <-chan time.Time {
	c.waits = append(c.waits, d)
	ch := make(chan time.Time, 1)
	ch <- time.Time{}
	return ch
}

// TestWaitReachableBacksOff: a server that refuses six times, then
// answers: each failure is reported, the waits double from the first and
// stay at the cap, and the answer is the version the server reports.
func TestWaitReachableBacksOff(t *testing.T) {
	client := &versionScript{answers: []any{errRefused, errRefused, errRefused, errRefused, errRefused, errRefused, v1372}}
	var c clock
	var failed []error
	b := wait.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Steps: 1 << 30, Cap: 10 * time.Second}
	info, err := WaitReachable(context.Background(), client, b, func(err error) { failed = append(failed, err) }, c.after)
	if err != nil || info.GitVersion != "v1.37.2" || info.Minor != "37" {
		t.Fatalf("WaitReachable = %+v, %v; want v1.37.2", info, err)
	}
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second}
	if !slices.Equal(c.waits, want) {
		t.Errorf("waits %v, want %v", c.waits, want)
	}
	if len(failed) != 6 || !errors.Is(failed[5], errRefused) {
		t.Errorf("reported failures %v, want the 6 refusals", failed)
	}
	if client.calls != 7 {
		t.Errorf("%d attempts, want 7", client.calls)
	}
}

// TestConnectBackoffIsCapped: the exporter's own policy, jitter included:
// each wait is its step (0.5s doubling, at most 10s) plus at most a tenth.
func TestConnectBackoffIsCapped(t *testing.T) {
	client := &versionScript{answers: []any{errRefused, errRefused, errRefused, errRefused, errRefused, errRefused, errRefused, errRefused, v1372}}
	var c clock
	if _, err := WaitReachable(context.Background(), client, ConnectBackoff, nil, c.after); err != nil {
		t.Fatal(err)
	}
	base := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second, 10 * time.Second}
	if len(c.waits) != len(base) {
		t.Fatalf("waits %v, want %d", c.waits, len(base))
	}
	for i, w := range c.waits {
		if w < base[i] || w > base[i]+base[i]/10 {
			t.Errorf("wait %d: %v, want %v to %v", i+1, w, base[i], base[i]+base[i]/10)
		}
	}
}

// TestWaitReachableNotVersion: an answer that is not a /version document
// (a proxy's error page) is a failed attempt, not the server's version.
func TestWaitReachableNotVersion(t *testing.T) {
	client := &versionScript{answers: []any{"<html>502 Bad Gateway</html>", v1372}}
	var c clock
	var failed []error
	info, err := WaitReachable(context.Background(), client, ConnectBackoff, func(err error) { failed = append(failed, err) }, c.after)
	if err != nil || info.GitVersion != "v1.37.2" {
		t.Fatalf("WaitReachable = %+v, %v", info, err)
	}
	if len(failed) != 1 || !strings.Contains(failed[0].Error(), "reading the API server's /version") {
		t.Errorf("reported failures %v, want the page that is not a version", failed)
	}
}

// TestWaitReachableStops: when ctx is done, during a wait or during an
// attempt, WaitReachable returns the server's last word (not the
// context's) and asks no more.
func TestWaitReachableStops(t *testing.T) {
	t.Run("during a wait", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		client := &versionScript{answers: []any{errRefused}}
		waits := 0
		after := func(time.Duration) <-chan time.Time {
			if waits++; waits == 2 {
				cancel()
				return nil // never fires: only ctx ends this wait
			}
			return time.After(0)
		}
		_, err := WaitReachable(ctx, client, ConnectBackoff, nil, after)
		if !errors.Is(err, errRefused) || client.calls != 2 {
			t.Errorf("err %v after %d attempts; want the refusal after 2", err, client.calls)
		}
	})
	t.Run("during an attempt", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		client := &versionScript{answers: []any{errRefused, context.Canceled}}
		client.onCall = func(n int, _ context.Context) {
			if n == 2 {
				cancel()
			}
		}
		var failed []error
		_, err := WaitReachable(ctx, client, ConnectBackoff, func(err error) { failed = append(failed, err) }, (&clock{}).after)
		if !errors.Is(err, errRefused) || client.calls != 2 || len(failed) != 1 {
			t.Errorf("err %v after %d attempts, %d reported; want the refusal after 2, 1 reported", err, client.calls, len(failed))
		}
	})
	t.Run("before any answer", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		client := &versionScript{answers: []any{context.Canceled}}
		client.onCall = func(int, context.Context) { cancel() }
		_, err := WaitReachable(ctx, client, ConnectBackoff, func(err error) { t.Errorf("reported %v: the attempt was the context's, not the server's", err) }, (&clock{}).after)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err %v, want the context's", err)
		}
	})
}

// TestWaitReachableAttemptTimeout: each attempt has its own deadline, so a
// server that never answers (packets dropped) fails an attempt at a time.
func TestWaitReachableAttemptTimeout(t *testing.T) {
	var deadlines []time.Duration
	client := &versionScript{answers: []any{errRefused, v1372}}
	client.onCall = func(_ int, ctx context.Context) {
		d, ok := ctx.Deadline()
		if !ok {
			t.Error("an attempt without a deadline")
		}
		deadlines = append(deadlines, time.Until(d))
	}
	if _, err := WaitReachable(context.Background(), client, ConnectBackoff, nil, (&clock{}).after); err != nil {
		t.Fatal(err)
	}
	for _, d := range deadlines {
		if d <= 0 || d > attemptTimeout {
			t.Errorf("attempt deadline in %v, want within %v", d, attemptTimeout)
		}
	}
}

// TestCheckReachableGivesUp: diagnose's check says how long it waited and
// what the server last said.
func TestCheckReachableGivesUp(t *testing.T) {
	client := &versionScript{answers: []any{errRefused}}
	_, err := CheckReachable(context.Background(), client, 20*time.Millisecond)
	if err == nil || !strings.HasPrefix(err.Error(), fmt.Sprintf("no answer within %s: ", 20*time.Millisecond)) || !errors.Is(err, errRefused) {
		t.Errorf("CheckReachable: %v; want no answer within 20ms, wrapping the refusal", err)
	}
}
