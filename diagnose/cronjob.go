package diagnose

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-job-exporter/kube-job-exporter/cronjob"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
)

// VerdictMissed is the verdict on a CronJob whose run is overdue.
const VerdictMissed = "missed"

// DefaultMissedGrace is how late a run may start before the report calls
// it missed: the mixin's cronJobMissedScheduleGraceSeconds.
const DefaultMissedGrace = 5 * time.Minute

// CronJobReport is the diagnosis of a CronJob: whether it runs on time and
// how its runs ended, and, for its newest failed run present, that Job's
// report.
type CronJobReport struct {
	Namespace string `json:"namespace"`
	CronJob   string `json:"cronjob"`
	Health    Health `json:"health"`

	Schedule          string `json:"schedule,omitempty"`
	TimeZone          string `json:"timeZone,omitempty"`
	ConcurrencyPolicy string `json:"concurrencyPolicy,omitempty"`
	Suspended         bool   `json:"suspended,omitempty"`
	// ScheduleError says why the next run is not known.
	ScheduleError string `json:"scheduleError,omitempty"`
	// NextRun is when the next run is due; Overdue how late it is, when
	// it is.
	NextRun  *time.Time `json:"nextRun,omitempty"`
	Overdue  string     `json:"overdue,omitempty"`
	Interval string     `json:"interval,omitempty"`

	Active    []string `json:"active"`
	BlockedBy string   `json:"blockedBy,omitempty"`

	LastSuccess         *time.Time `json:"lastSuccess,omitempty"`
	LastFailure         *time.Time `json:"lastFailure,omitempty"`
	FailureReason       string     `json:"failureReason,omitempty"`
	ConsecutiveFailures int        `json:"consecutiveFailures"`

	// Runs are the runs present, newest first (at most cronjob.MaxRuns).
	Runs []RunReport `json:"runs"`

	Verdict Verdict `json:"verdict"`
	// Alert is the mixin's alert that pages for the CronJob in this
	// state; "" when none does.
	Alert    string   `json:"alert,omitempty"`
	Commands []string `json:"commands"`

	// NewestFailed is the report of the newest failed run present.
	NewestFailed *Report `json:"newestFailed,omitempty"`
}

// RunReport is one run of a CronJob.
type RunReport struct {
	Job      string    `json:"job"`
	Created  time.Time `json:"created"`
	Result   string    `json:"result"` // running, succeeded, failed
	Reason   string    `json:"reason,omitempty"`
	Duration string    `json:"duration,omitempty"`
}

// FromCronJob diagnoses a CronJob at now from its Summary; failed is the
// Summary of its newest failed run present, if any (its pods read), for
// the cause.
func FromCronJob(s cronjob.Summary, failed *job.Summary, now time.Time, grace time.Duration) CronJobReport {
	r := CronJobReport{Namespace: s.Namespace, CronJob: s.Name, Active: s.Active, BlockedBy: s.BlockedBy,
		ScheduleError: printable(s.ScheduleError, maxShort), FailureReason: s.FailureReason, ConsecutiveFailures: s.ConsecutiveFailures}
	if r.Active == nil {
		r.Active = []string{}
	}
	if rec := s.Record; rec != nil {
		r.Schedule, r.TimeZone, r.ConcurrencyPolicy, r.Suspended = printable(rec.Schedule, maxShort), rec.TimeZone, rec.ConcurrencyPolicy, rec.Suspend
	}
	if !s.Next.IsZero() {
		t := s.Next
		r.NextRun = &t
	}
	if s.Overdue > 0 {
		r.Overdue = s.Overdue.Round(time.Second).String()
	}
	if s.Interval > 0 {
		r.Interval = s.Interval.String()
	}
	if !s.LastSuccess.IsZero() {
		t := s.LastSuccess
		r.LastSuccess = &t
	}
	if !s.LastFailure.IsZero() {
		t := s.LastFailure
		r.LastFailure = &t
	}
	for _, run := range s.Runs {
		rr := RunReport{Job: run.Name, Created: run.Created, Result: "running"}
		switch {
		case run.Failed:
			rr.Result, rr.Reason = "failed", run.Reason
		case run.Succeeded:
			rr.Result = "succeeded"
		}
		if d := run.Duration(); d > 0 {
			rr.Duration = d.Round(time.Second).String()
		}
		r.Runs = append(r.Runs, rr)
	}
	if r.Runs == nil {
		r.Runs = []RunReport{}
	}
	if failed != nil {
		jr := FromSummary(*failed, now, Limits{})
		r.NewestFailed = &jr
	}
	// The newest outcome of any run seen, present or deleted (a history
	// limit of 0 deletes a failed run at once, while older successful
	// runs stay), as KubeCronJobLastRunFailed reads it.
	lastFailed := s.LastFailure.After(s.LastSuccess) || s.LastRun != nil && s.LastRun.Failed && s.LastSuccess.IsZero()
	switch {
	case r.Suspended:
		r.Health, r.Verdict = Suspended, Verdict{VerdictNone, "suspended: the CronJob starts no runs until spec.suspend is false"}
	case s.Overdue > grace:
		r.Health, r.Verdict = Stuck, Verdict{VerdictMissed, missedWhy(s)}
	case lastFailed:
		r.Health = Failed
		r.Verdict = Verdict{VerdictUnknown, "its newest run failed (" + s.FailureReason + ") and no failed run is left to say why: the Job's events are gone with it; the next run will show"}
		if r.NewestFailed != nil {
			r.Verdict = Verdict{r.NewestFailed.Verdict.Kind, fmt.Sprintf("its newest run %s failed (%s): %s", r.NewestFailed.Job, r.NewestFailed.Reason, r.NewestFailed.Verdict.Text)}
		}
	default:
		r.Health, r.Verdict = Healthy, Verdict{VerdictNone, "its runs start on time and the newest did not fail"}
	}
	r.Alert = cronJobAlert(r)
	ns, name := s.Namespace, s.Name
	r.Commands = []string{
		fmt.Sprintf("kubectl describe cronjob %s -n %s", name, ns),
		fmt.Sprintf("kubectl get jobs -n %s --sort-by=.metadata.creationTimestamp | grep %s", ns, name),
	}
	if r.BlockedBy != "" {
		r.Commands = append(r.Commands, fmt.Sprintf("kube-job-exporter diagnose -n %s %s   # the run that blocks the next", ns, r.BlockedBy))
	}
	if r.NewestFailed != nil {
		r.Commands = append(r.Commands, fmt.Sprintf("kube-job-exporter diagnose -n %s %s   # the newest failed run", ns, r.NewestFailed.Job))
	}
	r.Commands = append(r.Commands, fmt.Sprintf("kubectl create job %s-manual -n %s --from=cronjob/%s   # a run now", name, ns, name))
	return r
}

// missedWhy says why an overdue run has not started.
func missedWhy(s cronjob.Summary) string {
	due := s.Next.UTC().Format(time.RFC3339)
	rec := s.Record
	switch {
	case s.BlockedBy != "":
		return fmt.Sprintf("the run due at %s has not started: run %s is still active and concurrencyPolicy is Forbid, so the controller starts none while it runs. Find why it hangs (diagnose it), delete it so the next run starts, and set activeDeadlineSeconds in the template so a hang ends by itself", due, s.BlockedBy)
	case rec != nil && rec.StartingDeadlineSeconds != nil && s.Overdue > time.Duration(*rec.StartingDeadlineSeconds)*time.Second:
		return fmt.Sprintf("the run due at %s has not started and is now later than startingDeadlineSeconds (%ds): the controller skips it (its events say MissSchedule). Something delayed the controller (kube-controller-manager restarts, load), or the deadline is too tight", due, *rec.StartingDeadlineSeconds)
	}
	return fmt.Sprintf("the run due at %s has not started and nothing in the CronJob holds it back: the CronJob controller (kube-controller-manager) is not starting runs, or cannot load the time zone (its events say why)", due)
}

// WriteJSON writes the report as indented JSON.
func (r CronJobReport) WriteJSON(w io.Writer) error { return writeJSON(w, r) }

// WriteText writes the report as a short plain-text page, then the newest
// failed run's.
func (r CronJobReport) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "CronJob %s/%s: %s\n\n", r.Namespace, r.CronJob, strings.ToUpper(string(r.Health)))
	if r.Schedule != "" {
		zone := r.TimeZone
		if zone == "" {
			zone = "the controller's time zone"
		}
		fmt.Fprintf(&b, "Schedule:  %s (%s), concurrencyPolicy %s", r.Schedule, zone, r.ConcurrencyPolicy)
		if r.Suspended {
			b.WriteString(", suspended")
		}
		b.WriteString("\n")
	} else {
		b.WriteString("Schedule:  not known (the exporter cannot read CronJobs; only its runs)\n")
	}
	switch {
	case r.ScheduleError != "":
		fmt.Fprintf(&b, "Next run:  not known: %s\n", r.ScheduleError)
	case r.NextRun != nil && r.Overdue != "":
		fmt.Fprintf(&b, "Next run:  due %s, %s overdue\n", r.NextRun.UTC().Format(time.RFC3339), r.Overdue)
	case r.NextRun != nil:
		fmt.Fprintf(&b, "Next run:  %s", r.NextRun.UTC().Format(time.RFC3339))
		if r.Interval != "" {
			fmt.Fprintf(&b, " (every %s)", r.Interval)
		}
		b.WriteString("\n")
	}
	active := "none"
	if len(r.Active) > 0 {
		active = strings.Join(r.Active, ", ")
	}
	fmt.Fprintf(&b, "Active:    %s\n", active)
	when := func(t *time.Time) string {
		if t == nil {
			return "never seen"
		}
		return t.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(&b, "Succeeded: %s\n", when(r.LastSuccess))
	fmt.Fprintf(&b, "Failed:    %s", when(r.LastFailure))
	if r.FailureReason != "" {
		fmt.Fprintf(&b, " (%s)", r.FailureReason)
	}
	if r.ConsecutiveFailures > 0 {
		fmt.Fprintf(&b, ", %d run(s) failed in a row", r.ConsecutiveFailures)
	}
	b.WriteString("\n")
	if len(r.Runs) > 0 {
		b.WriteString("\nRuns present (newest first):\n")
		for _, run := range r.Runs {
			fmt.Fprintf(&b, "  %s  %s  %s", run.Job, run.Created.UTC().Format(time.RFC3339), run.Result)
			if run.Reason != "" {
				fmt.Fprintf(&b, " (%s)", run.Reason)
			}
			if run.Duration != "" {
				fmt.Fprintf(&b, " after %s", run.Duration)
			}
			b.WriteString("\n")
		}
	}
	fmt.Fprintf(&b, "\nVerdict (%s): %s\n", r.Verdict.Kind, r.Verdict.Text)
	b.WriteString("\nNext:\n")
	for _, c := range r.Commands {
		fmt.Fprintf(&b, "  %s\n", c)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if r.NewestFailed != nil {
		if _, err := io.WriteString(w, "\nThe newest failed run:\n\n"); err != nil {
			return err
		}
		return r.NewestFailed.WriteText(w)
	}
	return nil
}

// FetchCronJob reads a CronJob and its Jobs, and the pods of its newest
// failed run present, and summarizes them. Without permission to read
// CronJobs it falls back to the Jobs that name it as their owner.
func FetchCronJob(ctx context.Context, client kube.Client, namespace, name string, opts job.Options) (cronjob.Summary, *job.Summary, error) {
	var rec *cronjob.Record
	cjs, err := client.ListCronJobs(ctx, namespace, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	switch {
	case apierrors.IsForbidden(err):
		// Only the runs can tell.
	case err != nil:
		return cronjob.Summary{}, nil, fmt.Errorf("reading cronjob %s/%s: %w", namespace, name, err)
	default:
		for i := range cjs.Items {
			if cjs.Items[i].Name == name {
				rec = cronjob.NewRecord(&cjs.Items[i])
			}
		}
		if rec == nil {
			return cronjob.Summary{}, nil, fmt.Errorf("cronjob %s not found in namespace %s", name, namespace)
		}
	}
	jobs, err := client.ListJobs(ctx, namespace, metav1.ListOptions{})
	if err != nil {
		return cronjob.Summary{}, nil, fmt.Errorf("listing jobs of cronjob %s/%s: %w", namespace, name, err)
	}
	var runs []cronjob.Run
	var mem cronjob.Memory
	var newestFailed cronjob.Run
	for i := range jobs.Items {
		owner, uid, ok := job.CronJobOwner(&jobs.Items[i])
		if !ok || owner != name || (rec != nil && uid != rec.UID) {
			continue
		}
		s := job.Summarize(&jobs.Items[i], nil, nil, opts)
		run := cronjob.RunOf(&s)
		runs = append(runs, run)
		mem.Observe(run)
		if run.Failed && (newestFailed.Name == "" || run.Finished.After(newestFailed.Finished)) {
			newestFailed = run
		}
	}
	if rec == nil && len(runs) == 0 {
		return cronjob.Summary{}, nil, fmt.Errorf("no run of cronjob %s in namespace %s, and the CronJob itself cannot be read (forbidden)", name, namespace)
	}
	s := cronjob.Summarize(namespace, name, rec, runs, mem, opts.Now)
	if newestFailed.Name == "" {
		return s, nil, nil
	}
	ev, err := Fetch(ctx, client, namespace, newestFailed.Name, opts)
	if err != nil {
		return s, nil, nil // gone meanwhile: the report says what the runs tell
	}
	return s, &ev.Summary, nil
}
