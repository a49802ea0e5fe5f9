package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

const demoNS = "demo"

// kind is one demo scenario: a Job spec whose pods the harness's pod driver
// runs according to the outcome annotation.
type kind struct {
	name string
	what string
	make func(name string) *batchv1.Job
}

func ptr[T any](v T) *T { return &v }

func baseJob(name, outcome string, backoffLimit int32) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: demoNS, Labels: map[string]string{"app.kubernetes.io/part-of": "demo"}},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr(backoffLimit),
			Template: v1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{harness.OutcomeAnnotation: outcome}},
				Spec: v1.PodSpec{
					RestartPolicy: v1.RestartPolicyNever,
					Containers: []v1.Container{{
						Name: "main", Image: "registry.example/demo/worker:1.4",
						Resources: v1.ResourceRequirements{Limits: v1.ResourceList{v1.ResourceMemory: resource.MustParse("256Mi")}},
					}},
				},
			},
		},
	}
}

var kinds = []kind{
	{"nightly-etl", "OOMKilled on every attempt, backoffLimit 2 -> BackoffLimitExceeded", func(n string) *batchv1.Job {
		return baseJob(n, "run=2s oom", 2)
	}},
	{"report-render", "exit 127 (command not found) -> BackoffLimitExceeded", func(n string) *batchv1.Job {
		return baseJob(n, "exit=127", 1)
	}},
	{"flaky-sync", "fails twice, then succeeds (retries, backoff, then complete)", func(n string) *batchv1.Job {
		return baseJob(n, "attempt=1-2 run=2s exit=1; run=8s succeed", 4)
	}},
	{"long-import", "runs past activeDeadlineSeconds 15 -> DeadlineExceeded", func(n string) *batchv1.Job {
		j := baseJob(n, "run=forever", 6)
		j.Spec.ActiveDeadlineSeconds = ptr(int64(15))
		return j
	}},
	{"payments-batch", "podFailurePolicy: a node-shutdown disruption is ignored, exit 42 fails the Job -> PodFailurePolicy", func(n string) *batchv1.Job {
		j := baseJob(n, "attempt=1 run=2s disruption; run=4s exit=42", 6)
		j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
			{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: v1.DisruptionTarget, Status: v1.ConditionTrue}}},
			{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}}},
		}}
		return j
	}},
	{"shard-indexer", "Indexed, 6 shards, shard 4 fails twice (backoffLimitPerIndex 1) -> FailedIndexes", func(n string) *batchv1.Job {
		j := baseJob(n, "index=4 run=2s exit=1; run=3s succeed", 0)
		j.Spec.BackoffLimit = nil
		j.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
		j.Spec.Completions, j.Spec.Parallelism = ptr(int32(6)), ptr(int32(3))
		j.Spec.BackoffLimitPerIndex, j.Spec.MaxFailedIndexes = ptr(int32(1)), ptr(int32(2))
		return j
	}},
	{"cache-warmer", "restartPolicy OnFailure, container crash-loops (exit 1) -> BackoffLimitExceeded", func(n string) *batchv1.Job {
		j := baseJob(n, "run=2s exit=1", 4)
		j.Spec.Template.Spec.RestartPolicy = v1.RestartPolicyOnFailure
		return j
	}},
	{"image-typo", "image cannot be pulled: ImagePullBackOff, no retries used, deadline 90s", func(n string) *batchv1.Job {
		j := baseJob(n, "image-pull", 3)
		j.Spec.Template.Spec.Containers[0].Image = "registry.example/demo/wroker:1.4"
		j.Spec.ActiveDeadlineSeconds = ptr(int64(90))
		return j
	}},
	{"audit-export", "exit 1 at backoffLimit 0, ttlSecondsAfterFinished 0: the TTL controller deletes it the moment it fails -> KubeJobFailedAndDeleted, report kept on /failing", func(n string) *batchv1.Job {
		j := baseJob(n, "run=2s exit=1", 0)
		j.Spec.TTLSecondsAfterFinished = ptr(int32(0))
		return j
	}},
	{"thumbnailer", "healthy: succeeds after 5s", func(n string) *batchv1.Job {
		return baseJob(n, "run=5s succeed", 6)
	}},
	{"db-migrate", "exit 126 (not executable) -> BackoffLimitExceeded", func(n string) *batchv1.Job {
		return baseJob(n, "exit=126", 0)
	}},
	{"ledger-export", "a Secret volume that does not exist: stuck in ContainerCreating (FailedMount), deadline 3m", func(n string) *batchv1.Job {
		j := baseJob(n, "volume-missing", 3)
		j.Spec.ActiveDeadlineSeconds = ptr(int64(180))
		return j
	}},
}

// quotaNS holds a Job whose pods a ResourceQuota refuses: it never fails
// and never runs.
const (
	quotaNS  = "demo-quota"
	quotaJob = "quarterly-report"
)

// The CronJob's runs alternate between success and failure.
const cronName = "hourly-report"

// forbidName is the CronJob blocked by its own hung run.
const forbidName = "sync-inventory"

type demo struct {
	client kubernetes.Interface
	keep   time.Duration
	cron   *batchv1.CronJob
	seq    int
	runs   int
}

func newDemo(c kubernetes.Interface, keep time.Duration) *demo { return &demo{client: c, keep: keep} }

func (d *demo) describe() string {
	var b strings.Builder
	for _, k := range kinds {
		fmt.Fprintf(&b, "  %-16s %s\n", k.name, k.what)
	}
	fmt.Fprintf(&b, "  %-16s Jobs of CronJob %q (owner labels, last success/failure), alternately succeeding and failing\n", cronName+"-*", cronName)
	fmt.Fprintf(&b, "  %-16s a CronJob every minute, concurrencyPolicy Forbid, whose first run hangs: the real CronJob controller starts no other (missed schedule)\n", forbidName)
	fmt.Fprintf(&b, "  %-16s in namespace %q, whose ResourceQuota allows no pod: the API server refuses every pod (FailedCreate), the Job waits forever\n", quotaJob, quotaNS)
	return b.String()
}

func (d *demo) setup(ctx context.Context) error {
	if _, err := d.client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: demoNS}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	// The demo creates this CronJob's runs itself, with the owner
	// reference the controller would set, on a faster rhythm than a
	// schedule: it is scheduled once a year, and keeps more history than
	// the defaults so that the real CronJob controller, which trims
	// finished runs, keeps what the demo shows.
	tmpl := harness.CronJob(demoNS, cronName, "0 0 1 1 *", baseJob("x", "succeed", 1).Spec)
	tmpl.Spec.SuccessfulJobsHistoryLimit, tmpl.Spec.FailedJobsHistoryLimit = ptr(int32(10)), ptr(int32(10))
	cj, err := d.client.BatchV1().CronJobs(demoNS).Create(ctx, tmpl, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	d.cron = cj
	// This one the real CronJob controller runs: its first run hangs, and
	// under Forbid no other starts.
	blocked := harness.CronJob(demoNS, forbidName, "* * * * *", baseJob("x", "run=forever", 0).Spec)
	blocked.Spec.ConcurrencyPolicy = batchv1.ForbidConcurrent
	if _, err := d.client.BatchV1().CronJobs(demoNS).Create(ctx, blocked, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := d.client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: quotaNS}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	return harness.ZeroPodQuota(ctx, d.client, quotaNS)
}

func (d *demo) create(ctx context.Context, j *batchv1.Job, what string) {
	if _, err := d.client.BatchV1().Jobs(demoNS).Create(ctx, j, metav1.CreateOptions{}); err != nil {
		if ctx.Err() == nil {
			say("create job %s: %v", j.Name, err)
		}
		return
	}
	say("started job %s/%s: %s", demoNS, j.Name, what)
}

func (d *demo) cronRun(ctx context.Context) {
	d.runs++
	outcome, what := "run=3s succeed", "succeeds"
	if d.runs%2 == 0 {
		outcome, what = "run=2s exit=2", "fails (exit 2)"
	}
	j := harness.RunOf(baseJob(fmt.Sprintf("%s-%d", cronName, 29000000+d.runs), outcome, 0), d.cron)
	d.create(ctx, j, "scheduled run of CronJob "+cronName+", "+what)
}

// stream starts one Job of each kind, then a new one every interval, and
// deletes finished Jobs older than keep, until ctx is done.
func (d *demo) stream(ctx context.Context, interval time.Duration, exp *harness.Exporter) error {
	for _, k := range kinds {
		d.create(ctx, k.make(k.name), k.what)
	}
	d.cronRun(ctx)
	d.cronRun(ctx)
	blocked := baseJob(quotaJob, "succeed", 6)
	blocked.Namespace = quotaNS
	if _, err := d.client.BatchV1().Jobs(quotaNS).Create(ctx, blocked, metav1.CreateOptions{}); err == nil {
		say("started job %s/%s: a ResourceQuota allows no pod -> the API server refuses its pods", quotaNS, quotaJob)
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Println()
			say("Ctrl-C: shutting down")
			return ctx.Err()
		case <-exp.Exited():
			return fmt.Errorf("the exporter exited:\n%s", exp.Logs())
		case <-tick.C:
		}
		d.seq++
		k := kinds[(d.seq-1)%len(kinds)]
		d.create(ctx, k.make(fmt.Sprintf("%s-%d", k.name, d.seq)), k.what)
		if d.seq%2 == 0 {
			d.cronRun(ctx)
		}
		d.cleanup(ctx)
		d.summary(ctx, exp)
	}
}

// cleanup deletes finished Jobs older than keep (the harness's pod driver
// then removes their pods, as the garbage collector would).
func (d *demo) cleanup(ctx context.Context) {
	jobs, err := d.client.BatchV1().Jobs(demoNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	for _, j := range jobs.Items {
		for _, c := range j.Status.Conditions {
			if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == v1.ConditionTrue && time.Since(c.LastTransitionTime.Time) > d.keep {
				err := d.client.BatchV1().Jobs(demoNS).Delete(ctx, j.Name, metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationBackground)})
				if err == nil {
					say("deleted finished job %s/%s (older than %s); its series disappear", demoNS, j.Name, d.keep)
				}
			}
		}
	}
}

// summary prints what the exporter currently reports.
func (d *demo) summary(ctx context.Context, exp *harness.Exporter) {
	m, err := exp.Scrape(ctx)
	if err != nil {
		return
	}
	sel := harness.Labels{"namespace": demoNS}
	reasons := map[string]int{}
	for _, s := range m.Samples("kubejob_failed", sel) {
		reasons[s.Labels["reason"]]++
	}
	var failed []string
	for r, n := range reasons {
		failed = append(failed, fmt.Sprintf("%s %d", r, n))
	}
	sort.Strings(failed)
	say("exporter sees %d jobs: %d complete, failed: [%s], %d pods waiting, %d pod failures",
		len(m.Samples("kubejob_info", sel)), int(m.Sum("kubejob_complete", sel)), strings.Join(failed, ", "),
		int(m.Sum("kubejob_pods_waiting", sel)), int(m.Sum("kubejob_pod_failures", sel)))
}
