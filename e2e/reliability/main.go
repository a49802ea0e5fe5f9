package reliability

import (
	"testing"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// Main is the TestMain of a reliability package: it fills *s with a
// cluster and the exporter binary (harness.RunSuite) and runs the tests.
func Main(m *testing.M, s *Suite, name string, opts harness.Options) int {
	return harness.RunSuite(name, opts, func(c *harness.Cluster, binary, work string) int {
		s.Cluster, s.Binary, s.WorkDir = c, binary, work
		return m.Run()
	})
}
