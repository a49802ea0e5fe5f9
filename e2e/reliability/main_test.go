package reliability

import (
	"flag"
	"os"
	"testing"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// suite: one cluster (default kube-apiserver flags, watch cache on) for
// every test of this package. The tests run one after the other: each
// injects a fault into the shared cluster.
var suite Suite

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(Main(m, &suite, "reliability", harness.Options{}))
}
