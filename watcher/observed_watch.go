package watcher

import (
	"errors"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/watch"
)

// minWatchLife is how long a watch must last, without any event, to count
// as working; the reflector uses the same second to call a watch "very
// short".
const minWatchLife = time.Second

// errShortWatch is recorded for a watch that closed at once with nothing:
// client-go hands out such an empty watch, without an error, when it could
// not keep a connection to the API server (connections accepted and then
// reset, as by a load balancer with no healthy backend).
var errShortWatch = errors.New("watch closed within a second without events: API server unreachable")

// observedWatch passes a watch's events through and reports whether it
// worked: success at its first event or once it has lasted minWatchLife,
// failure when it closes sooner with no event. Without it a watch that
// "opens" and dies over and over would look healthy.
type observedWatch struct {
	inner  watch.Interface
	out    chan watch.Event
	done   chan struct{}
	stop   sync.Once
	report func(error)
}

func newObservedWatch(inner watch.Interface, report func(error)) *observedWatch {
	w := &observedWatch{inner: inner, out: make(chan watch.Event), done: make(chan struct{}), report: report}
	go w.run()
	return w
}

func (w *observedWatch) run() {
	defer close(w.out)
	start := time.Now()
	reported := false
	timer := time.NewTimer(minWatchLife)
	defer timer.Stop()
	in := w.inner.ResultChan()
	for {
		select {
		case ev, ok := <-in:
			if !ok {
				if !reported && time.Since(start) < minWatchLife {
					w.report(errShortWatch)
				}
				return
			}
			switch {
			case ev.Type == watch.Error:
				// A 410 Gone (expired resource version) arrives inside the
				// stream; the reflector re-lists without telling anyone.
				w.report(apierrors.FromObject(ev.Object))
			case !reported:
				w.report(nil)
				reported = true
			}
			select {
			case w.out <- ev:
			case <-w.done:
				return
			}
		case <-timer.C:
			if !reported {
				w.report(nil)
				reported = true
			}
		case <-w.done:
			return
		}
	}
}

// ResultChan implements watch.Interface.
func (w *observedWatch) ResultChan() <-chan watch.Event { return w.out }

// Stop implements watch.Interface.
func (w *observedWatch) Stop() {
	w.stop.Do(func() {
		close(w.done)
		w.inner.Stop()
	})
}
