package harness

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	kueue "sigs.k8s.io/kueue/apis/kueue/v1beta2"
	"sigs.k8s.io/yaml"
)

// Kueue in the e2e cluster: its CRDs, as the module sigs.k8s.io/kueue
// (required by e2e/go.mod, v0.17.0) ships them, installed into the real
// API server, and a Kueue that writes what Kueue's controllers write. The
// controllers themselves do not run: v0.17.0 does not build against this
// module's Kubernetes (controller-runtime v0.23 lacks client-go v0.37's
// ResourceEventHandlerRegistration.HasSyncedChecker, and an integration it
// compiles in names core/v1 types that v0.37 removed). So each helper
// makes the change the named Kueue function makes, through the status
// subresource, where the API server validates it against the CRDs'
// schemas and rules as it would Kueue's own.

// KueueModule is the Go module whose CRDs InstallKueueCRDs installs.
const KueueModule = "sigs.k8s.io/kueue"

// KueueCRDs are the CRDs InstallKueueCRDs installs: what a Job queued in
// Kueue involves (the admission checks, cohorts, topologies and MultiKueue
// are left out: no helper writes them).
var KueueCRDs = []string{"workloads", "localqueues", "clusterqueues", "resourceflavors", "workloadpriorityclasses"}

// KueueModuleDir is the directory of KueueModule in the module cache and
// its version, as the e2e module (the working directory's) requires it.
func KueueModuleDir(ctx context.Context) (dir, version string, err error) {
	cmd := exec.CommandContext(ctx, goTool(), "list", "-m", "-f", "{{.Dir}} {{.Version}}", KueueModule)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", "", fmt.Errorf("go list -m %s: %v: %s", KueueModule, err, stderr.String())
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		// No directory: the module is not downloaded (go mod download).
		return "", "", fmt.Errorf("go list -m %s: %q: not in the module cache (go mod download %s)", KueueModule, out, KueueModule)
	}
	return f[0], f[1], nil
}

// InstallKueueCRDs creates KueueCRDs from KueueModule's
// config/components/crd/bases (left alone when one exists already),
// waits until the API server serves each (Established), and returns the
// module's version.
func InstallKueueCRDs(ctx context.Context, cfg *rest.Config) (version string, err error) {
	dir, version, err := KueueModuleDir(ctx)
	if err != nil {
		return "", err
	}
	client, err := apiextensions.NewForConfig(cfg)
	if err != nil {
		return "", err
	}
	crds := client.ApiextensionsV1().CustomResourceDefinitions()
	for _, plural := range KueueCRDs {
		file := filepath.Join(dir, "config", "components", "crd", "bases", kueue.GroupVersion.Group+"_"+plural+".yaml")
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(b, &crd); err != nil {
			return "", fmt.Errorf("%s: %w", file, err)
		}
		if _, err := crds.Create(ctx, &crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return "", fmt.Errorf("create CRD %s: %w", crd.Name, err)
		}
		err = Eventually(ctx, time.Minute, func(ctx context.Context) (bool, string, error) {
			got, err := crds.Get(ctx, crd.Name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error(), nil
			}
			for _, c := range got.Status.Conditions {
				if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
					return true, "", nil
				}
			}
			return false, "CRD " + crd.Name + " not established", nil
		})
		if err != nil {
			return "", err
		}
	}
	return version, nil
}

// KueueCRDsInstalled says whether the Workload CRD exists.
func KueueCRDsInstalled(ctx context.Context, cfg *rest.Config) (bool, error) {
	client, err := apiextensions.NewForConfig(cfg)
	if err != nil {
		return false, err
	}
	_, err = client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, "workloads."+kueue.GroupVersion.Group, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// Kueue writes Kueue's objects and statuses, and the Jobs' suspension, as
// Kueue v0.17.0's controllers do (each method cites the function it
// plays). Its clock is the wall clock: the API server keeps condition
// times to the second.
type Kueue struct {
	dyn  dynamic.Interface
	jobs kubernetes.Interface
}

// NewKueue returns a Kueue writing through cfg (cluster-admin, like
// Kueue's ServiceAccount, which may do all it does here).
func NewKueue(cfg *rest.Config, client kubernetes.Interface) (*Kueue, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Kueue{dyn: dyn, jobs: client}, nil
}

func (k *Kueue) resource(plural, ns string) dynamic.ResourceInterface {
	r := k.dyn.Resource(kueue.GroupVersion.WithResource(plural))
	if ns == "" {
		return r
	}
	return r.Namespace(ns)
}

// create creates obj (a Kueue type) and decodes the answer into out.
func (k *Kueue) create(ctx context.Context, plural, ns string, obj, out runtime.Object) error {
	u, err := toUnstructured(obj)
	if err != nil {
		return err
	}
	got, err := k.resource(plural, ns).Create(ctx, u, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create %s %s: %w", plural, u.GetName(), err)
	}
	return runtime.DefaultUnstructuredConverter.FromUnstructured(got.Object, out)
}

// kueueScheme knows Kueue's kinds, to name them in the objects sent.
var kueueScheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := kueue.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}()

func toUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	gvks, _, err := kueueScheme.ObjectKinds(obj)
	if err != nil {
		return nil, err
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvks[0])
	return u, nil
}

// ResourceFlavor creates the ResourceFlavor name (no node labels: the
// pods go wherever the pod driver puts them).
func (k *Kueue) ResourceFlavor(ctx context.Context, name string) error {
	return k.create(ctx, "resourceflavors", "", &kueue.ResourceFlavor{ObjectMeta: metav1.ObjectMeta{Name: name}}, &kueue.ResourceFlavor{})
}

// WorkloadPriorityClass creates the WorkloadPriorityClass name of value.
func (k *Kueue) WorkloadPriorityClass(ctx context.Context, name string, value int32) error {
	return k.create(ctx, "workloadpriorityclasses", "", &kueue.WorkloadPriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value}, &kueue.WorkloadPriorityClass{})
}

// ClusterQueue creates the ClusterQueue name, admitting from every
// namespace, with one resource group: flavor's nominal quota for each
// resource of quota; within it a workload of lower priority is preempted
// for one of higher.
func (k *Kueue) ClusterQueue(ctx context.Context, name, flavor string, quota corev1.ResourceList) error {
	cq := &kueue.ClusterQueue{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: kueue.ClusterQueueSpec{
			NamespaceSelector: &metav1.LabelSelector{},
			ResourceGroups:    []kueue.ResourceGroup{resourceGroup(flavor, quota)},
			Preemption:        &kueue.ClusterQueuePreemption{WithinClusterQueue: kueue.PreemptionPolicyLowerPriority},
		},
	}
	return k.create(ctx, "clusterqueues", "", cq, &kueue.ClusterQueue{})
}

func resourceGroup(flavor string, quota corev1.ResourceList) kueue.ResourceGroup {
	g := kueue.ResourceGroup{Flavors: []kueue.FlavorQuotas{{Name: kueue.ResourceFlavorReference(flavor)}}}
	for r, q := range quota {
		g.CoveredResources = append(g.CoveredResources, r)
		g.Flavors[0].Resources = append(g.Flavors[0].Resources, kueue.ResourceQuota{Name: r, NominalQuota: q})
	}
	return g
}

// SetClusterQueueQuota replaces the ClusterQueue's quota (a person
// raising it).
func (k *Kueue) SetClusterQueueQuota(ctx context.Context, name, flavor string, quota corev1.ResourceList) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var cq kueue.ClusterQueue
		if err := k.get(ctx, "clusterqueues", "", name, &cq); err != nil {
			return err
		}
		cq.Spec.ResourceGroups = []kueue.ResourceGroup{resourceGroup(flavor, quota)}
		u, err := toUnstructured(&cq)
		if err != nil {
			return err
		}
		_, err = k.resource("clusterqueues", "").Update(ctx, u, metav1.UpdateOptions{})
		return err
	})
}

// LocalQueue creates the LocalQueue ns/name pointing at clusterQueue.
func (k *Kueue) LocalQueue(ctx context.Context, ns, name, clusterQueue string) error {
	lq := &kueue.LocalQueue{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       kueue.LocalQueueSpec{ClusterQueue: kueue.ClusterQueueReference(clusterQueue)},
	}
	return k.create(ctx, "localqueues", ns, lq, &kueue.LocalQueue{})
}

func (k *Kueue) get(ctx context.Context, plural, ns, name string, out runtime.Object) error {
	u, err := k.resource(plural, ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	return runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out)
}

// Workload reads the Workload ns/name.
func (k *Kueue) Workload(ctx context.Context, ns, name string) (*kueue.Workload, error) {
	var wl kueue.Workload
	if err := k.get(ctx, "workloads", ns, name, &wl); err != nil {
		return nil, err
	}
	return &wl, nil
}

// QueueLabel and PriorityClassLabel are the labels a user puts on a Job
// for Kueue: its LocalQueue and its WorkloadPriorityClass.
const (
	QueueLabel         = "kueue.x-k8s.io/queue-name"
	PriorityClassLabel = "kueue.x-k8s.io/priority-class"
)

// QueuedJob labels j for the LocalQueue queue and suspends it, as Kueue's
// Job webhook does at creation (jobframework.ApplyDefaultForSuspend: a Job
// with a queue name starts suspended).
func QueuedJob(j *batchv1.Job, queue string) *batchv1.Job {
	if j.Labels == nil {
		j.Labels = map[string]string{}
	}
	j.Labels[QueueLabel] = queue
	suspend := true
	j.Spec.Suspend = &suspend
	return j
}

// WorkloadName is the name Kueue gives a Job's Workload
// (jobframework.GetWorkloadNameForOwnerWithGVK): "job-<name>-" and five
// hex digits of a hash of the Job's kind, group, name and UID.
func WorkloadName(j *batchv1.Job) string {
	h := sha1.New()
	h.Write([]byte("Job\nbatch\n" + j.Name + "\n" + string(j.UID)))
	prefix := "job-" + j.Name
	// The long limit (the ShortWorkloadNames feature is off by default):
	// 253 less the dash and the hash.
	if len(prefix) > 253-1-5 {
		prefix = prefix[:253-1-5]
	}
	return prefix + "-" + hex.EncodeToString(h.Sum(nil))[:5]
}

// CreateWorkloadFor creates the Workload of the Job j (as created: its UID
// counts), as the job reconciler does (jobframework.ConstructWorkload and
// NewWorkload, the Job integration's PodSets, PrepareWorkloadPriority):
// its name, the Job as controller owner, the Job's UID label, queueName
// from the Job's label, one pod set "main" of the Job's template and pod
// count, and the priority of the WorkloadPriorityClass its label names
// (priority, if that label is set). The resource-in-use finalizer is left
// out: Kueue removes it once the Workload finishes, and no Kueue runs here
// to do so.
func (k *Kueue) CreateWorkloadFor(ctx context.Context, j *batchv1.Job, priority int32) (*kueue.Workload, error) {
	controller := true
	count := int32(1)
	if j.Spec.Parallelism != nil {
		count = *j.Spec.Parallelism
	}
	if j.Spec.Completions != nil && *j.Spec.Completions < count {
		count = *j.Spec.Completions
	}
	wl := &kueue.Workload{
		ObjectMeta: metav1.ObjectMeta{
			Name: WorkloadName(j), Namespace: j.Namespace,
			Labels: map[string]string{"kueue.x-k8s.io/job-uid": string(j.UID)},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "batch/v1", Kind: "Job", Name: j.Name, UID: j.UID,
				Controller: &controller, BlockOwnerDeletion: &controller,
			}},
		},
		Spec: kueue.WorkloadSpec{
			QueueName: kueue.LocalQueueName(j.Labels[QueueLabel]),
			PodSets: []kueue.PodSet{{
				Name: kueue.DefaultPodSetName, Template: *j.Spec.Template.DeepCopy(), Count: count,
			}},
			Priority: &priority,
		},
	}
	if pc := j.Labels[PriorityClassLabel]; pc != "" {
		wl.Spec.PriorityClassRef = kueue.NewWorkloadPriorityClassRef(pc)
	}
	var out kueue.Workload
	if err := k.create(ctx, "workloads", j.Namespace, wl, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// updateStatus applies change to the newest Workload ns/name and writes
// its status (Kueue patches it: workload.PatchAdmissionStatus), retrying
// on a conflict.
func (k *Kueue) updateStatus(ctx context.Context, ns, name string, change func(wl *kueue.Workload, now time.Time)) (*kueue.Workload, error) {
	var out kueue.Workload
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		wl, err := k.Workload(ctx, ns, name)
		if err != nil {
			return err
		}
		change(wl, time.Now())
		u, err := toUnstructured(wl)
		if err != nil {
			return err
		}
		got, err := k.resource("workloads", ns).UpdateStatus(ctx, u, metav1.UpdateOptions{})
		if err != nil {
			return err
		}
		return runtime.DefaultUnstructuredConverter.FromUnstructured(got.Object, &out)
	})
	if err != nil {
		return nil, fmt.Errorf("workload %s/%s status: %w", ns, name, err)
	}
	return &out, nil
}

// Pending is the scheduler failing to admit the Workload
// (scheduler.requeueAndUpdate: UnsetQuotaReservationWithCondition with
// reason "Pending" and the flavor assigner's message, e.g. "couldn't
// assign flavors to pod set main: insufficient unused quota for
// nvidia.com/gpu in flavor a100, 2 more needed").
func (k *Kueue) Pending(ctx context.Context, wl *kueue.Workload, message string) (*kueue.Workload, error) {
	return k.updateStatus(ctx, wl.Namespace, wl.Name, func(wl *kueue.Workload, now time.Time) {
		unsetQuotaReservationWithCondition(wl, "Pending", message, now)
	})
}

// Inadmissible is the workload controller finding the Workload's queue
// unusable (core.WorkloadReconciler.Reconcile: "LocalQueue X doesn't
// exist", "ClusterQueue X is inactive", ...).
func (k *Kueue) Inadmissible(ctx context.Context, wl *kueue.Workload, message string) (*kueue.Workload, error) {
	return k.updateStatus(ctx, wl.Namespace, wl.Name, func(wl *kueue.Workload, now time.Time) {
		unsetQuotaReservationWithCondition(wl, kueue.WorkloadInadmissible, message, now)
	})
}

// Admit is the scheduler admitting the Workload in clusterQueue with
// flavor for every resource its pod set requests (Scheduler.admit and
// prepareWorkload: SetQuotaReservation, then SyncAdmittedCondition: no
// admission checks, so Admitted at once). The Job stays suspended until
// StartJob.
func (k *Kueue) Admit(ctx context.Context, wl *kueue.Workload, clusterQueue, flavor string) (*kueue.Workload, error) {
	return k.updateStatus(ctx, wl.Namespace, wl.Name, func(wl *kueue.Workload, now time.Time) {
		var assignments []kueue.PodSetAssignment
		for _, ps := range wl.Spec.PodSets {
			a := kueue.PodSetAssignment{Name: ps.Name, Flavors: map[corev1.ResourceName]kueue.ResourceFlavorReference{}, ResourceUsage: corev1.ResourceList{}}
			count := ps.Count
			a.Count = &count
			for _, c := range ps.Template.Spec.Containers {
				for r, q := range c.Resources.Requests {
					a.Flavors[r] = kueue.ResourceFlavorReference(flavor)
					total := q.DeepCopy()
					total.Mul(int64(count))
					if u, ok := a.ResourceUsage[r]; ok {
						total.Add(u)
					}
					a.ResourceUsage[r] = total
				}
			}
			assignments = append(assignments, a)
		}
		setQuotaReservation(wl, &kueue.Admission{ClusterQueue: kueue.ClusterQueueReference(clusterQueue), PodSetAssignments: assignments}, now)
		syncAdmittedCondition(wl, now)
	})
}

// StartJob is the job reconciler starting the Job of an admitted
// Workload (JobReconciler.startJob, the Job integration's
// RunWithPodSetsInfo: suspend false; the flavor has no node labels to
// merge).
func (k *Kueue) StartJob(ctx context.Context, ns, name string) error {
	_, err := k.jobs.BatchV1().Jobs(ns).Patch(ctx, name, types.MergePatchType, []byte(`{"spec":{"suspend":false}}`), metav1.PatchOptions{})
	return err
}

// Evict is an eviction of the Workload with reason (kueue.Workload*:
// "Preempted", "PodsReadyTimeout", ...) and message, followed through as
// Kueue does: workload.Evict (the Evicted condition; for a preemption,
// Preemptor.IssuePreemptions also sets the Preempted condition with
// preemptedReason, e.g. "InClusterQueue"), then the job reconciler's
// handling of an evicted Workload (JobReconciler.ReconcileGenericJob, step
// 6): the Job suspended (stopJob), and once it has no active pod the
// Requeued condition (true for a preemption) and the quota released with
// reason "Pending" and the eviction's message
// (UnsetQuotaReservationWithCondition, which also turns Admitted false).
// A PodsReadyTimeout eviction counts a requeue
// (core.WorkloadReconciler: UpdateRequeueState); a preemption does not.
func (k *Kueue) Evict(ctx context.Context, wl *kueue.Workload, reason, preemptedReason, message string) (*kueue.Workload, error) {
	if _, err := k.updateStatus(ctx, wl.Namespace, wl.Name, func(wl *kueue.Workload, now time.Time) {
		if preemptedReason != "" {
			setWorkloadCondition(wl, kueue.WorkloadPreempted, true, preemptedReason, message, now, false)
		}
		setWorkloadCondition(wl, kueue.WorkloadEvicted, true, reason, message, now, true)
		countEviction(wl, reason)
		if reason == kueue.WorkloadEvictedByPodsReadyTimeout {
			if wl.Status.RequeueState == nil {
				wl.Status.RequeueState = &kueue.RequeueState{}
			}
			n := int32(1)
			if wl.Status.RequeueState.Count != nil {
				n = *wl.Status.RequeueState.Count + 1
			}
			wl.Status.RequeueState.Count = &n
		}
	}); err != nil {
		return nil, err
	}
	jobName := ""
	if o := metav1.GetControllerOf(wl); o != nil && o.Kind == "Job" {
		jobName = o.Name
	}
	if jobName == "" {
		return nil, fmt.Errorf("workload %s/%s has no Job", wl.Namespace, wl.Name)
	}
	jobs := k.jobs.BatchV1().Jobs(wl.Namespace)
	if _, err := jobs.Patch(ctx, jobName, types.MergePatchType, []byte(`{"spec":{"suspend":true}}`), metav1.PatchOptions{}); err != nil {
		return nil, err
	}
	// The Job controller deletes the pods of a suspended Job; the pod
	// driver finishes them as a kubelet does.
	err := Eventually(ctx, JobTimeout, func(ctx context.Context) (bool, string, error) {
		j, err := jobs.Get(ctx, jobName, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		return j.Status.Active == 0, "job " + wl.Namespace + "/" + jobName + " still active: " + JobStatus(j), nil
	})
	if err != nil {
		return nil, err
	}
	return k.updateStatus(ctx, wl.Namespace, wl.Name, func(wl *kueue.Workload, now time.Time) {
		requeued := reason == kueue.WorkloadEvictedByPreemption || reason == kueue.WorkloadEvictedDueToNodeFailures
		setWorkloadCondition(wl, kueue.WorkloadRequeued, requeued, reason, message, now, true)
		unsetQuotaReservationWithCondition(wl, "Pending", message, now)
	})
}

// countEviction is workload.workloadEvictionStateInc: the eviction counted
// per reason in status.schedulingStats.
func countEviction(wl *kueue.Workload, reason string) {
	if wl.Status.SchedulingStats == nil {
		wl.Status.SchedulingStats = &kueue.SchedulingStats{}
	}
	for i := range wl.Status.SchedulingStats.Evictions {
		if e := &wl.Status.SchedulingStats.Evictions[i]; e.Reason == reason && e.UnderlyingCause == "" {
			e.Count++
			return
		}
	}
	wl.Status.SchedulingStats.Evictions = append(wl.Status.SchedulingStats.Evictions, kueue.WorkloadSchedulingStatsEviction{Reason: reason, Count: 1})
}

// setWorkloadCondition is apimeta.SetStatusCondition of a condition as Kueue
// builds it (observedGeneration set except on Preempted:
// workload.SetPreemptedCondition leaves it out).
func setWorkloadCondition(wl *kueue.Workload, typ string, status bool, reason, message string, now time.Time, observed bool) bool {
	c := metav1.Condition{Type: typ, Status: metav1.ConditionFalse, Reason: reason, Message: message, LastTransitionTime: metav1.NewTime(now)}
	if status {
		c.Status = metav1.ConditionTrue
	}
	if observed {
		c.ObservedGeneration = wl.Generation
	}
	return apimeta.SetStatusCondition(&wl.Status.Conditions, c)
}

// unsetQuotaReservationWithCondition is workload's function of that name:
// QuotaReserved false with reason and message, no admission, Admitted
// synced.
func unsetQuotaReservationWithCondition(wl *kueue.Workload, reason, message string, now time.Time) {
	setWorkloadCondition(wl, kueue.WorkloadQuotaReserved, false, reason, message, now, true)
	wl.Status.Admission = nil
	syncAdmittedCondition(wl, now)
}

// setQuotaReservation is workload.SetQuotaReservation: the admission,
// QuotaReserved true ("Quota reserved in ClusterQueue X"), and an Evicted
// or Preempted condition that is true reset to false ("Previously: ...").
func setQuotaReservation(wl *kueue.Workload, admission *kueue.Admission, now time.Time) {
	wl.Status.Admission = admission
	const reason = "QuotaReserved"
	setWorkloadCondition(wl, kueue.WorkloadQuotaReserved, true, reason, "Quota reserved in ClusterQueue "+string(admission.ClusterQueue), now, true)
	for _, typ := range []string{kueue.WorkloadEvicted, kueue.WorkloadPreempted} {
		if prev := apimeta.FindStatusCondition(wl.Status.Conditions, typ); prev != nil && prev.Status == metav1.ConditionTrue {
			setWorkloadCondition(wl, typ, false, reason, "Previously: "+prev.Message, now, true)
		}
	}
}

// syncAdmittedCondition is workload.SyncAdmittedCondition for a Workload
// without admission checks or topology requests: Admitted follows
// QuotaReserved, set only on a change (a Workload never admitted has no
// Admitted condition); the time admitted is added up when it ends.
func syncAdmittedCondition(wl *kueue.Workload, now time.Time) {
	reserved := apimeta.IsStatusConditionTrue(wl.Status.Conditions, kueue.WorkloadQuotaReserved) && wl.Status.Admission != nil
	admitted := apimeta.IsStatusConditionTrue(wl.Status.Conditions, kueue.WorkloadAdmitted)
	if admitted == reserved {
		return
	}
	if reserved {
		setWorkloadCondition(wl, kueue.WorkloadAdmitted, true, "Admitted", "The workload is admitted", now, true)
		return
	}
	if prev := apimeta.FindStatusCondition(wl.Status.Conditions, kueue.WorkloadAdmitted); prev != nil {
		d := int32(now.Sub(prev.LastTransitionTime.Time).Seconds())
		if wl.Status.AccumulatedPastExecutionTimeSeconds != nil {
			d += *wl.Status.AccumulatedPastExecutionTimeSeconds
		}
		wl.Status.AccumulatedPastExecutionTimeSeconds = &d
	}
	setWorkloadCondition(wl, kueue.WorkloadAdmitted, false, "NoReservation", "The workload has no reservation", now, true)
}

// WorkloadCondition is the Workload's condition typ, or nil.
func WorkloadCondition(wl *kueue.Workload, typ string) *metav1.Condition {
	return apimeta.FindStatusCondition(wl.Status.Conditions, typ)
}
