//go:build !kube_pre_1_37

package harness

// testServerOptions of the current release: see kube_jobcontroller.go for
// the files and tags of the calls that differ between minors.

import (
	kubeapiservertesting "k8s.io/kubernetes/cmd/kube-apiserver/app/testing"
)

// testServerOptions: DisableInvariantChecks (since v1.37) skips the
// upstream harness's scrape of the API server's metrics at teardown
// (metrics.CheckMetricInvariants), a check of kube-apiserver's own
// counters that is no business of these tests.
func testServerOptions() *kubeapiservertesting.TestServerInstanceOptions {
	return &kubeapiservertesting.TestServerInstanceOptions{EnableCertAuth: true, DisableInvariantChecks: true}
}
