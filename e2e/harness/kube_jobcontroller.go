//go:build !kube_pre_1_36

package harness

// The calls into k8s.io/kubernetes whose signatures changed within the
// supported range (docs/compatibility.md), one file per call and version:
// kube_jobcontroller*.go and kube_testserver*.go. Without tags the harness
// compiles against the current release (e2e/go.mod); e2e/skew's modules of
// older minors build with the tags of e2e/skew.mk, named by the change they
// predate: kube_pre_1_36 (v1.34, v1.35) and kube_pre_1_37 (v1.34 to
// v1.36). Keep these files to these calls only: everything else in the
// harness compiles against every supported minor.

import (
	"context"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	jobcontroller "k8s.io/kubernetes/pkg/controller/job"
)

// newJobController: since v1.36 the client comes first and the Workload
// and PodGroup informers follow; they are needed only with the
// WorkloadWithJob feature gate, off by default, so nil.
func newJobController(ctx context.Context, client kubernetes.Interface, factory informers.SharedInformerFactory) (*jobcontroller.Controller, error) {
	return jobcontroller.NewController(ctx, client, factory.Core().V1().Pods(), factory.Batch().V1().Jobs(), nil, nil)
}
