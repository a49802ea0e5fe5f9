package harness

import (
	"context"
	"fmt"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	batchv1 "k8s.io/api/batch/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The ways the API server refuses a Job's pods, set up for real: the
// kube-apiserver's own ResourceQuota, PodSecurity and
// ValidatingAdmissionPolicy admission, no webhook server needed. The Job
// controller then records FailedCreate events, as in a cluster.

// ZeroPodQuota creates a ResourceQuota allowing no pod in namespace ns and
// writes its status as the quota controller would (none runs in the
// harness; without a status the quota restricts nothing), and returns once
// the API server refuses pods for it.
func ZeroPodQuota(ctx context.Context, client kubernetes.Interface, ns string) error {
	if err := SetPodQuota(ctx, client, ns, 0); err != nil {
		return err
	}
	return WaitPodsRefused(ctx, client, ns, "exceeded quota")
}

// SetPodQuota creates or updates the ResourceQuota "pods" of namespace ns
// to allow n pods, with its status (hard n, used 0) written as the quota
// controller would.
func SetPodQuota(ctx context.Context, client kubernetes.Interface, ns string, n int64) error {
	quotas := client.CoreV1().ResourceQuotas(ns)
	hard := v1.ResourceList{v1.ResourcePods: *resource.NewQuantity(n, resource.DecimalSI)}
	q, err := quotas.Get(ctx, "pods", metav1.GetOptions{})
	if err != nil {
		q, err = quotas.Create(ctx, &v1.ResourceQuota{
			ObjectMeta: metav1.ObjectMeta{Name: "pods", Namespace: ns},
			Spec:       v1.ResourceQuotaSpec{Hard: hard},
		}, metav1.CreateOptions{})
	} else {
		q.Spec.Hard = hard
		q, err = quotas.Update(ctx, q, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("resource quota in %s: %w", ns, err)
	}
	q.Status = v1.ResourceQuotaStatus{Hard: hard, Used: v1.ResourceList{v1.ResourcePods: resource.MustParse("0")}}
	if _, err := quotas.UpdateStatus(ctx, q, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("resource quota status in %s: %w", ns, err)
	}
	return nil
}

// EnforceRestrictedPodSecurity labels namespace ns so that Pod Security
// admission enforces the restricted level on its pods, and returns once it
// does: Pod Security admission reads namespace labels from an informer, so
// a pod created just after the label's write may still be admitted (seen
// on Kubernetes 1.35 under load: the Job's first pod was created).
func EnforceRestrictedPodSecurity(ctx context.Context, client kubernetes.Interface, ns string) error {
	n, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	n.Labels["pod-security.kubernetes.io/enforce"] = "restricted"
	n.Labels["pod-security.kubernetes.io/enforce-version"] = "latest"
	if _, err := client.CoreV1().Namespaces().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		return err
	}
	// The probe sets no securityContext, which restricted forbids.
	return WaitPodsRefused(ctx, client, ns, "violates PodSecurity")
}

// WaitPodsRefused waits until the API server refuses a pod of namespace ns
// (a bare container, no securityContext; a dry run, so nothing is created)
// with an error that says want: admission applies a namespace's labels or
// a new policy once its informers see them, a moment after their write.
func WaitPodsRefused(ctx context.Context, client kubernetes.Interface, ns, want string) error {
	probe := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "probe-", Namespace: ns},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "registry.example/probe:1"}}},
	}
	return Eventually(ctx, time.Minute, func(ctx context.Context) (bool, string, error) {
		_, err := client.CoreV1().Pods(ns).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err != nil && strings.Contains(err.Error(), want), fmt.Sprintf("probe pod not refused with %q: %v", want, err), nil
	})
}

// DenyPods creates a ValidatingAdmissionPolicy and its binding that deny
// every pod created in namespace ns with message, and returns a function
// that deletes them. The API server applies a new policy within a second or
// two (its informers): callers wait for its effect (WaitPodsRefused), not
// for this call.
func DenyPods(ctx context.Context, client kubernetes.Interface, ns, message string) (func(), error) {
	name := "e2e-deny-pods-" + ns
	fail := admissionregistrationv1.Deny
	policies := client.AdmissionregistrationV1().ValidatingAdmissionPolicies()
	_, err := policies.Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &[]admissionregistrationv1.FailurePolicyType{admissionregistrationv1.Fail}[0],
			MatchConstraints: &admissionregistrationv1.MatchResources{
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
						Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
					},
				}},
			},
			Validations: []admissionregistrationv1.Validation{{Expression: "false", Message: message}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create ValidatingAdmissionPolicy %s: %w", name, err)
	}
	bindings := client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings()
	_, err = bindings.Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionregistrationv1.ValidationAction{fail},
			MatchResources: &admissionregistrationv1.MatchResources{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create ValidatingAdmissionPolicyBinding %s: %w", name, err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = bindings.Delete(ctx, name, metav1.DeleteOptions{})
		_ = policies.Delete(ctx, name, metav1.DeleteOptions{})
	}, nil
}

// ExternalController is the spec.managedBy of Jobs the tests run
// themselves: the harness's Job controller leaves them alone, so a test can
// write a status the real controller would take days to reach.
const ExternalController = "e2e.kube-job-exporter.io/test"

// StartedAt creates Job j in ns with spec.managedBy ExternalController and
// writes its status: running since start with active pods counted (no pod
// objects).
func StartedAt(ctx context.Context, client kubernetes.Interface, j *batchv1.Job, start time.Time, active int32) (*batchv1.Job, error) {
	managedBy := ExternalController
	j.Spec.ManagedBy = &managedBy
	created, err := client.BatchV1().Jobs(j.Namespace).Create(ctx, j, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	t := metav1.NewTime(start)
	created.Status = batchv1.JobStatus{StartTime: &t, Active: active, Ready: &active}
	return client.BatchV1().Jobs(j.Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{})
}

// FailedJob creates Job j in ns with spec.managedBy ExternalController and
// one pod of it, which the PodDriver runs to the outcome of j's template,
// and writes the status of a Job that failed with BackoffLimitExceeded
// after that pod: a failed Job without the Job controller's retries, for
// tests that need many.
func FailedJob(ctx context.Context, client kubernetes.Interface, j *batchv1.Job) (*batchv1.Job, error) {
	managedBy := ExternalController
	j.Spec.ManagedBy = &managedBy
	j.Spec.BackoffLimit = ptr(int32(0))
	created, err := client.BatchV1().Jobs(j.Namespace).Create(ctx, j, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: created.Name + "-0", Namespace: created.Namespace,
			Labels: map[string]string{
				batchv1.JobNameLabel: created.Name, batchv1.ControllerUidLabel: string(created.UID),
				"job-name": created.Name, "controller-uid": string(created.UID),
			},
			Annotations: created.Spec.Template.Annotations,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "batch/v1", Kind: "Job", Name: created.Name, UID: created.UID,
				Controller: ptr(true), BlockOwnerDeletion: ptr(true),
			}},
		},
		Spec: *created.Spec.Template.Spec.DeepCopy(),
	}
	if _, err := client.CoreV1().Pods(created.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	now := metav1.Now()
	failed := func(t batchv1.JobConditionType) batchv1.JobCondition {
		return batchv1.JobCondition{Type: t, Status: v1.ConditionTrue, Reason: batchv1.JobReasonBackoffLimitExceeded,
			Message: "Job has reached the specified backoff limit", LastProbeTime: now, LastTransitionTime: now}
	}
	created.Status = batchv1.JobStatus{
		StartTime: &now, Failed: 1, Ready: ptr(int32(0)), Terminating: ptr(int32(0)),
		UncountedTerminatedPods: &batchv1.UncountedTerminatedPods{},
		Conditions:              []batchv1.JobCondition{failed(batchv1.JobFailureTarget), failed(batchv1.JobFailed)},
	}
	return client.BatchV1().Jobs(created.Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{})
}
