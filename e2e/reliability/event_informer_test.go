package reliability

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// Issue 26: the events informer's list is bounded by what it keeps, not
// by what tenants wrote into the events it watches.
const (
	// informerEvents FailedCreate events about one Job, each with a
	// message of pageEventBytes: listed whole, one list page of them is
	// 100 MiB of response and as much again decoded.
	informerEvents = 100
	// informerRSSGrowth is what they may add to an exporter's peak
	// resident memory at start, over one started on an empty namespace:
	// streamed with every string cut, the list holds a read buffer and
	// 100 events of about 2 KiB.
	informerRSSGrowth = 24 << 20
)

// TestEventInformerBounded creates, through the real API server, 100
// events of the Job controller's FailedCreate reason with 1 MiB messages
// about one Job, then starts an exporter that lists them (client-go's
// watch-list is turned off, as against an API server without it): its
// peak resident memory once it holds all 100 exceeds that of an exporter
// started on an empty namespace by at most 24 MiB.
func TestEventInformerBounded(t *testing.T) {
	ctx := context.Background()
	const ns, empty, name = "informer-events", "informer-events-none", "refused"
	suite.CreateNamespace(t, ns)
	suite.CreateNamespace(t, empty)
	j := NewJob(ns, name, "succeed", 0)
	j.Spec.Suspend = Ptr(true)
	suite.CreateJobs(t, j)
	created, err := suite.Cluster.Client().BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	createdIn := createEvents(t, created, "FailedCreate", informerEvents, pageEventBytes)

	peak := func(namespace string, events float64) int64 {
		t.Helper()
		e := suite.startExporter(t, "informer-"+namespace, harness.ExporterOptions{
			Kubeconfig: suite.Cluster.Kubeconfig(),
			Args:       []string{"--watch.namespaces=" + namespace},
			// The informers list, as against an API server without the
			// streaming watch-list, which would send the events one by one.
			Env: []string{"KUBE_FEATURE_WatchListClient=false"},
		})
		if _, err := e.WaitMetrics(ctx, 60*time.Second, harness.Labels{"resource": "events"}, func(m *harness.Metrics) (bool, string) {
			n, _ := m.Value("kubejob_exporter_objects", harness.Labels{"resource": "events"})
			return n == events, "the FailedCreate events not all in the cache"
		}); err != nil {
			t.Fatal(err)
		}
		rss, err := peakRSS(e.Pid())
		if err != nil {
			t.Fatal(err)
		}
		return rss
	}
	base := peak(empty, 0)
	full := peak(ns, informerEvents)
	if grew := full - base; grew > informerRSSGrowth {
		t.Errorf("peak RSS %.1f MiB with %d FailedCreate events of %d MiB listed, %.1f MiB without: want at most %d MiB more",
			float64(full)/(1<<20), informerEvents, pageEventBytes>>20, float64(base)/(1<<20), informerRSSGrowth>>20)
	}
	t.Logf("peak RSS %.1f MiB with the events listed, %.1f MiB without; events created in %s",
		float64(full)/(1<<20), float64(base)/(1<<20), createdIn.Round(100*time.Millisecond))
}
