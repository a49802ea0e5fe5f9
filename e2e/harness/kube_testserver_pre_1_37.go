//go:build kube_pre_1_37

package harness

// testServerOptions as before v1.37 (v1.34 to v1.36): see kube_testserver.go.

import (
	kubeapiservertesting "k8s.io/kubernetes/cmd/kube-apiserver/app/testing"
)

// testServerOptions: before v1.37 the upstream test server has no
// invariant checks to disable.
func testServerOptions() *kubeapiservertesting.TestServerInstanceOptions {
	return &kubeapiservertesting.TestServerInstanceOptions{EnableCertAuth: true}
}
