//go:build !kube_1_34

package harness

// The calls into k8s.io/kubernetes whose signatures changed after v1.34.
// This file is the current release's (e2e/go.mod); kube_1_34.go is
// v1.34's, compiled by e2e/skew with -tags kube_1_34. Keep both to these
// calls only: everything else in the harness compiles against both.

import (
	"context"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	kubeapiservertesting "k8s.io/kubernetes/cmd/kube-apiserver/app/testing"
	jobcontroller "k8s.io/kubernetes/pkg/controller/job"
)

// newJobController: since v1.36 the client comes first and the Workload
// and PodGroup informers follow; they are needed only with the
// WorkloadWithJob feature gate, off by default, so nil.
func newJobController(ctx context.Context, client kubernetes.Interface, factory informers.SharedInformerFactory) (*jobcontroller.Controller, error) {
	return jobcontroller.NewController(ctx, client, factory.Core().V1().Pods(), factory.Batch().V1().Jobs(), nil, nil)
}

// testServerOptions: DisableInvariantChecks (since v1.37) skips the
// upstream harness's scrape of the API server's metrics at teardown
// (metrics.CheckMetricInvariants), a check of kube-apiserver's own
// counters that is no business of these tests.
func testServerOptions() *kubeapiservertesting.TestServerInstanceOptions {
	return &kubeapiservertesting.TestServerInstanceOptions{EnableCertAuth: true, DisableInvariantChecks: true}
}
