package watcher

import (
	"errors"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/watch"
)

type results struct {
	mu   sync.Mutex
	errs []error
}

func (r *results) report(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

func (r *results) get() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

func drain(w watch.Interface) int {
	n := 0
	for range w.ResultChan() {
		n++
	}
	return n
}

func TestObservedWatchShortEmptyWatchIsAFailure(t *testing.T) {
	var r results
	inner := watch.NewEmptyWatch() // what client-go returns after giving up on a reset connection
	w := newObservedWatch(inner, r.report)
	drain(w)
	if got := r.get(); len(got) != 1 || !errors.Is(got[0], errShortWatch) {
		t.Fatalf("reports %v, want one errShortWatch", got)
	}
	if c := ClassifyError(errShortWatch); c != ErrUnreachable {
		t.Fatalf("a short empty watch is classified %s, want %s", c, ErrUnreachable)
	}
}

func TestObservedWatchEventIsASuccess(t *testing.T) {
	var r results
	inner := watch.NewRaceFreeFake()
	w := newObservedWatch(inner, r.report)
	inner.Add(&corev1.Pod{})
	inner.Stop()
	if n := drain(w); n != 1 {
		t.Fatalf("passed %d events, want 1", n)
	}
	if got := r.get(); len(got) != 1 || got[0] != nil {
		t.Fatalf("reports %v, want one success", got)
	}
}

func TestObservedWatchQuietButAliveIsASuccess(t *testing.T) {
	var r results
	inner := watch.NewRaceFreeFake()
	w := newObservedWatch(inner, r.report)
	deadline := time.Now().Add(10 * time.Second)
	for len(r.get()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a watch alive past a second was never reported")
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.Stop()
	drain(w)
	if got := r.get(); len(got) != 1 || got[0] != nil {
		t.Fatalf("reports %v, want one success", got)
	}
}

func TestObservedWatchStopDoesNotLeak(t *testing.T) {
	var r results
	inner := watch.NewRaceFreeFake()
	w := newObservedWatch(inner, r.report)
	inner.Add(&corev1.Pod{}) // buffered; the consumer never reads it
	w.Stop()
	drain(w) // returns once run() has exited, although the event was never taken
}

// TestObservedWatchErrorEventIsReported: an expired resource version comes
// as an error event in the stream; it is reported with its reason.
func TestObservedWatchErrorEventIsReported(t *testing.T) {
	var r results
	inner := watch.NewRaceFreeFake()
	w := newObservedWatch(inner, r.report)
	gone := apierrors.NewResourceExpired("too old resource version: 124 (301)")
	inner.Error(&gone.ErrStatus)
	inner.Stop()
	drain(w)
	got := r.get()
	if len(got) == 0 || ClassifyError(got[0]) != ErrExpired {
		t.Fatalf("reports %v, want an expired error first", got)
	}
}
