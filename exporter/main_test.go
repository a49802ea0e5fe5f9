package exporter

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves goroutines behind: informers,
// the work queue and HTTP handlers must all stop with their context.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// klog's flush daemon starts once per process and never stops.
		goleak.IgnoreTopFunction("k8s.io/klog/v2.(*flushDaemon).run.func1"),
	)
}
