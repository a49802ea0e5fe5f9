//go:build kube_pre_1_36

package harness

// newJobController as before v1.36 (v1.34, v1.35): see kube_jobcontroller.go.

import (
	"context"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	jobcontroller "k8s.io/kubernetes/pkg/controller/job"
)

// newJobController: before v1.36 the informers come first and the client
// last, and there are no Workload or PodGroup informers.
func newJobController(ctx context.Context, client kubernetes.Interface, factory informers.SharedInformerFactory) (*jobcontroller.Controller, error) {
	return jobcontroller.NewController(ctx, factory.Core().V1().Pods(), factory.Batch().V1().Jobs(), client)
}
