// Package skew holds no code of its own: its module compiles e2e/harness
// and runs e2e/scenarios against Kubernetes v1.34 (see README.md). Its one
// test guards the module graph.
package skew

import (
	"testing"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// OldestMinor is the oldest Kubernetes minor the exporter supports
// (docs/compatibility.md): this module's go.mod pins its release.
const OldestMinor = 34

// TestCompiledAgainstOldestMinor fails when the replace directives of
// go.mod stop pinning Kubernetes v1.34 (e2e/go.mod moving on would
// otherwise lift this module to the newer release without a word).
func TestCompiledAgainstOldestMinor(t *testing.T) {
	version, minor, err := harness.KubernetesVersion()
	if err != nil {
		t.Fatal(err)
	}
	if minor != OldestMinor {
		t.Fatalf("the harness is compiled against Kubernetes %s, want 1.%d", version, OldestMinor)
	}
	t.Logf("the harness is compiled against Kubernetes %s", version)
}
