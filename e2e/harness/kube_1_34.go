//go:build kube_1_34

package harness

// v1.34's versions of the calls in kube_current.go (see there), for the
// e2e/skew module, which builds with -tags kube_1_34 (v1.35 has the same).

import (
	"context"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	kubeapiservertesting "k8s.io/kubernetes/cmd/kube-apiserver/app/testing"
	jobcontroller "k8s.io/kubernetes/pkg/controller/job"
)

// newJobController: v1.34 takes the informers first and the client last,
// and has no Workload or PodGroup informers.
func newJobController(ctx context.Context, client kubernetes.Interface, factory informers.SharedInformerFactory) (*jobcontroller.Controller, error) {
	return jobcontroller.NewController(ctx, factory.Core().V1().Pods(), factory.Batch().V1().Jobs(), client)
}

// testServerOptions: v1.34's harness has no invariant checks to disable.
func testServerOptions() *kubeapiservertesting.TestServerInstanceOptions {
	return &kubeapiservertesting.TestServerInstanceOptions{EnableCertAuth: true}
}
