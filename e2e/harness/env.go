package harness

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// JobTimeout bounds a Job of the e2e suites reaching its terminal state:
// generous, CI machines are small and shared.
const JobTimeout = 2 * time.Minute

// Env is one test's namespace in a shared cluster, with the Job helpers
// every suite uses. Suites embed it and add their own.
type Env struct {
	T      *testing.T
	Ctx    context.Context
	NS     string
	Client kubernetes.Interface
}

// NewEnv creates the namespace ns and returns its Env.
func NewEnv(t *testing.T, client kubernetes.Interface, ns string) *Env {
	t.Helper()
	e := &Env{T: t, Ctx: context.Background(), NS: ns, Client: client}
	e.CreateNamespace()
	return e
}

// CreateNamespace creates the Env's namespace (NewEnv does; a test that
// must wait for the API server first builds its Env itself).
func (e *Env) CreateNamespace() {
	e.T.Helper()
	if _, err := e.Client.CoreV1().Namespaces().Create(e.Ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.NS}}, metav1.CreateOptions{}); err != nil {
		e.T.Fatalf("create namespace %s: %v", e.NS, err)
	}
}

// NewJob is a Job in the namespace whose pods follow outcome (OutcomeJob).
func (e *Env) NewJob(name, outcome string) *batchv1.Job { return OutcomeJob(e.NS, name, outcome) }

// Create creates the Job.
func (e *Env) Create(job *batchv1.Job) *batchv1.Job {
	e.T.Helper()
	j, err := e.Client.BatchV1().Jobs(e.NS).Create(e.Ctx, job, metav1.CreateOptions{})
	if err != nil {
		e.T.Fatalf("create job %s: %v", job.Name, err)
	}
	return j
}

// GetJob reads the Job.
func (e *Env) GetJob(name string) *batchv1.Job {
	e.T.Helper()
	j, err := e.Client.BatchV1().Jobs(e.NS).Get(e.Ctx, name, metav1.GetOptions{})
	if err != nil {
		e.T.Fatalf("get job %s: %v", name, err)
	}
	return j
}

// WaitJob polls the API (every PollInterval) until cond holds for the Job,
// and returns it and when the test saw it.
func (e *Env) WaitJob(name, what string, cond func(*batchv1.Job) bool) (*batchv1.Job, time.Time) {
	e.T.Helper()
	var last *batchv1.Job
	var seen time.Time
	err := Eventually(e.Ctx, JobTimeout, func(ctx context.Context) (bool, string, error) {
		j, err := e.Client.BatchV1().Jobs(e.NS).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		last, seen = j, time.Now()
		return cond(j), fmt.Sprintf("job %s/%s: waiting for %s; status %s", e.NS, name, what, JobStatus(j)), nil
	})
	if err != nil {
		e.T.Fatal(err)
	}
	return last, seen
}

// WaitFinished waits for the real Job controller to finish the Job with
// condition typ (Complete or Failed) and reason ("" for any).
func (e *Env) WaitFinished(name string, typ batchv1.JobConditionType, reason string) (*batchv1.Job, time.Time) {
	e.T.Helper()
	j, seen := e.WaitJob(name, string(typ), func(j *batchv1.Job) bool {
		return Condition(j, batchv1.JobComplete) != nil || Condition(j, batchv1.JobFailed) != nil
	})
	c := Condition(j, typ)
	if c == nil {
		e.T.Fatalf("job %s/%s finished without %s: %s", e.NS, name, typ, JobStatus(j))
	}
	if reason != "" && c.Reason != reason {
		e.T.Fatalf("job %s/%s: %s reason %q, want %q (the controller's behaviour changed?)", e.NS, name, typ, c.Reason, reason)
	}
	return j, seen
}

// Condition is the Job's condition of type typ that is True, or nil.
func Condition(j *batchv1.Job, typ batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range j.Status.Conditions {
		if c := &j.Status.Conditions[i]; c.Type == typ && c.Status == v1.ConditionTrue {
			return c
		}
	}
	return nil
}

// JobStatus is the Job's status in one line, for failure messages.
func JobStatus(j *batchv1.Job) string {
	var conds []string
	for _, c := range j.Status.Conditions {
		conds = append(conds, fmt.Sprintf("%s=%s(%s)", c.Type, c.Status, c.Reason))
	}
	s := fmt.Sprintf("active=%d ready=%d succeeded=%d failed=%d terminating=%d conditions=[%s]",
		j.Status.Active, Deref(j.Status.Ready), j.Status.Succeeded, j.Status.Failed, Deref(j.Status.Terminating), strings.Join(conds, " "))
	if j.Status.FailedIndexes != nil {
		s += " failedIndexes=" + *j.Status.FailedIndexes
	}
	if j.Status.CompletedIndexes != "" {
		s += " completedIndexes=" + j.Status.CompletedIndexes
	}
	return s
}

// Deref is *p, or the zero value for nil (the optional fields of a Job's
// status).
func Deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
