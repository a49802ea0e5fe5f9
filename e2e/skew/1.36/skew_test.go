// Package skew holds no code of its own: its module compiles e2e/harness
// and runs e2e/scenarios against Kubernetes v1.36 (see ../README.md). Its
// one test guards the module graph.
package skew

import (
	"testing"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// TestCompiledAgainstMinor fails when go.mod's replace directives stop
// pinning Kubernetes v1.36.
func TestCompiledAgainstMinor(t *testing.T) { harness.CheckCompiledMinor(t, 36) }
