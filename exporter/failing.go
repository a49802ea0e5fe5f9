package exporter

import (
	"container/heap"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/kube-job-exporter/kube-job-exporter/cronjob"
	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/watcher"
)

// FailingPageMax bounds the rows of the failing-now page. The page is
// capped, not paged: the list is newest first and changes whenever a Job
// does, so a second page fetched a moment later would repeat or skip rows;
// the newest are what someone opening it needs, the counts at the top
// cover every row, ?namespace= narrows a big cluster down, and Prometheus
// has the full set. 100 rows are about 65 KB of HTML; selecting them
// from 100,000 failed Jobs takes about 0.1s.
const FailingPageMax = 100

// failingBoard is the model behind the failing-now page: the Jobs that
// are failing, stuck or failed now, one compact entry each (about 350
// bytes), kept up to date from the Summaries the watcher hands its Sink
// (failingSink). Healthy, complete and suspended Jobs take no room (and
// cost 20ns an update), so its size follows the failures, not the
// cluster; a page reads it without touching a pod.
//
// It also keeps the evidence of failed Jobs that were deleted (deleted):
// a Job deleted the moment it fails (ttlSecondsAfterFinished 0, a
// failedJobsHistoryLimit of 0, someone cleaning up) would otherwise leave
// no trace for the person its alert pages.
type failingBoard struct {
	mu      sync.Mutex
	jobs    map[string]failingEntry // by "namespace/name"
	deleted deletedJobs
}

// newFailingBoard returns an empty board that keeps the evidence of at
// most keepDeleted deleted failed Jobs for keepDeletedFor after their
// deletion (0: DefaultKeepDeleted, DefaultKeepDeletedFor).
func newFailingBoard(keepDeleted int, keepDeletedFor time.Duration) *failingBoard {
	if keepDeleted <= 0 {
		keepDeleted = DefaultKeepDeleted
	}
	if keepDeletedFor <= 0 {
		keepDeletedFor = DefaultKeepDeletedFor
	}
	return &failingBoard{jobs: map[string]failingEntry{},
		deleted: deletedJobs{max: keepDeleted, keepFor: keepDeletedFor, byJob: map[keptKey]*deletedJob{}}}
}

// failingEntry is one row of the page: a Job or a CronJob.
type failingEntry struct {
	CronJobRow bool // a CronJob's row (else a Job's)
	Namespace  string
	Name       string
	// CronJob is the CronJob a Job is a run of.
	CronJob string
	Health  diagnose.Health
	// State says how far it is from the end, in a few words.
	State string
	// Cause is what went wrong, in one sentence.
	Cause string
	// Since is when the newest evidence of the problem appeared: the
	// failure, the newest failed pod, the refused pod, the start of a Job
	// whose pods do not start, the run a CronJob missed. The page sorts
	// by it, newest first.
	Since time.Time
	// Runbook is the alert whose runbook page shows this one's live
	// report.
	Runbook string
	// UID tells a Job from an earlier one of the same name.
	UID types.UID
	// kept is the last Summary of a deleted Job, whose evidence the
	// board keeps (deletedJobs); nil for a Job that exists. Kept
	// Summaries are never changed: readers use them outside the lock.
	kept *job.Summary
}

func (e *failingEntry) key() string { return e.Namespace + "/" + e.Name }

// newer orders rows newest first, then by kind and name (a Job that
// exists before a deleted one of its name), so equal times list in a
// stable order.
func newer(a, b *failingEntry) bool {
	if !a.Since.Equal(b.Since) {
		return a.Since.After(b.Since)
	}
	if a.CronJobRow != b.CronJobRow {
		return !a.CronJobRow
	}
	if a.key() != b.key() {
		return a.key() < b.key()
	}
	if (a.kept == nil) != (b.kept == nil) {
		return a.kept == nil
	}
	return a.UID < b.UID
}

// jobChanged lists the Job "namespace/name" as its Summary, judged at
// now, says, or takes it off.
func (b *failingBoard) jobChanged(key string, s *job.Summary, now time.Time) {
	e, listed := judgeJob(s, now)
	b.mu.Lock()
	defer b.mu.Unlock()
	if listed {
		b.jobs[key] = e
	} else {
		delete(b.jobs, key)
	}
}

func (b *failingBoard) jobGone(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.jobs, key)
}

// cause is the cause listed for the Job "namespace/name": the one that
// exists, else the newest deleted one kept (a CronJob's run its history
// limit deleted).
func (b *failingBoard) cause(key string, now time.Time) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.jobs[key]; ok {
		return e.Cause, true
	}
	namespace, name := splitJobKey(key)
	if e, ok := b.deleted.newestLocked(now, func(e *failingEntry) bool { return e.Namespace == namespace && e.Name == name }); ok {
		return e.Cause, true
	}
	return "", false
}

func splitJobKey(key string) (namespace, name string) {
	namespace, name, _ = strings.Cut(key, "/")
	return namespace, name
}

// jobDeleted keeps the evidence of a Job deleted after it failed: its
// last Summary (s, s.Deleted set) and the row judged from it as of its
// deletion. A Job deleted without failing leaves nothing: its deletion
// is no failure, and it is not what the page or an alert asks about. The
// Job's row as it existed goes (JobGone follows, later); a Job re-created
// under its name has another UID and keeps its own row.
func (b *failingBoard) jobDeleted(key string, s *job.Summary, now time.Time) {
	if !s.Failed {
		return
	}
	kept := compacted(*s)
	if kept.Deleted.IsZero() {
		kept.Deleted = now
	}
	e, listed := judgeJob(&kept, kept.Deleted)
	if !listed {
		return
	}
	e.kept = &kept
	b.mu.Lock()
	defer b.mu.Unlock()
	if live, ok := b.jobs[key]; ok && live.UID == s.UID {
		delete(b.jobs, key)
	}
	b.deleted.keepLocked(e, now)
}

// compacted is a Summary as the board keeps it, for up to keepFor: its
// attempt lists without the spare capacity appending left them (a list of
// 50 has room for 71: 3 KB more than the 8 KB it needs), and its index
// failures only as many as the report shows (it counts the others from
// IndexesWithFailures). Kept so, a Job with 50 failed attempts and 20
// departed costs about 17 KB (TestDeletedJobMemory).
func compacted(s job.Summary) job.Summary {
	s.Attempts = slices.Clone(s.Attempts)
	s.Departed.Attempts = slices.Clone(s.Departed.Attempts)
	s.IndexFailures = slices.Clone(s.IndexFailures[:min(len(s.IndexFailures), diagnose.MaxReportIndexes)])
	return s
}

// keptJob is the entry kept of the deleted failed Job namespace/name
// with UID uid, or, for uid "", of the newest deleted one of that name.
func (b *failingBoard) keptJob(namespace, name string, uid types.UID, now time.Time) (failingEntry, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.deleted.newestLocked(now, func(e *failingEntry) bool {
		return e.Namespace == namespace && e.Name == name && (uid == "" || e.UID == uid)
	})
}

// deletedOfOwner are the kept deleted Jobs of owner in namespace, newest
// deletion first, at most limit of them, and how many are kept in all.
func (b *failingBoard) deletedOfOwner(namespace string, owner job.Owner, limit int, now time.Time) ([]failingEntry, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.deleted.expireLocked(now)
	var out []failingEntry
	for _, d := range b.deleted.order {
		if e := &d.entry; e.Namespace == namespace && e.kept.Owner == owner {
			out = append(out, *e)
		}
	}
	sort.Slice(out, func(i, k int) bool { return deletedBefore(&out[k], &out[i]) })
	return out[:min(len(out), limit)], len(out)
}

// deletedRun is the kept deleted run of the CronJob namespace/cronjob
// (of the CronJob with UID cronJobUID, when known) that failed at
// failedAt: the run a CronJob's memory says failed last, when its
// history limit deleted it.
func (b *failingBoard) deletedRun(namespace, cronjob string, cronJobUID types.UID, failedAt time.Time, now time.Time) (failingEntry, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.deleted.newestLocked(now, func(e *failingEntry) bool {
		s := e.kept
		return e.Namespace == namespace && s.OwnerKind == job.OwnerKindCronJob && s.OwnerName == cronjob &&
			(cronJobUID == "" || s.OwnerUID == cronJobUID) && s.FailedAt.Equal(failedAt)
	})
}

// deletedKept is the number of deleted failed Jobs whose evidence is kept
// now.
func (b *failingBoard) deletedKept(now time.Time) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.deleted.expireLocked(now)
	return len(b.deleted.byJob)
}

// deletedJobs keeps the evidence of deleted failed Jobs, by Job (its
// UID: a Job re-created under the same name is another one), for keepFor
// after each deletion and at most max of them: beyond that the oldest
// deletion goes first. Entries that expire are dropped when the board is
// next written or read, not by a timer. Lookups scan it in deletion
// order, about 12µs for the default 1,000 (a failing-now page does so
// once per failed CronJob whose newest run is gone).
type deletedJobs struct {
	max     int
	keepFor time.Duration
	byJob   map[keptKey]*deletedJob
	order   deletionOrder // oldest deletion first
}

// keptKey names a deleted Job: the UID tells it from another of the same
// name; namespace and name keep Jobs without a UID (objects built by
// hand) apart.
type keptKey struct {
	namespace, name string
	uid             types.UID
}

type deletedJob struct {
	entry failingEntry
	// deleted is when the Job was deleted, no later than when the
	// exporter learnt of it (a clock ahead of the exporter's cannot make
	// evidence outlive keepFor): what expiry and eviction go by.
	deleted time.Time
	index   int // in order
}

func (d *deletedJobs) keepLocked(e failingEntry, now time.Time) {
	d.expireLocked(now)
	k := keptKey{e.Namespace, e.Name, e.UID}
	if old, ok := d.byJob[k]; ok {
		heap.Remove(&d.order, old.index)
		delete(d.byJob, k)
	}
	at := e.kept.Deleted
	if at.After(now) {
		at = now
	}
	if now.Sub(at) >= d.keepFor {
		return
	}
	dj := &deletedJob{entry: e, deleted: at}
	d.byJob[k] = dj
	heap.Push(&d.order, dj)
	for len(d.byJob) > d.max {
		d.dropLocked(heap.Pop(&d.order).(*deletedJob))
	}
}

func (d *deletedJobs) expireLocked(now time.Time) {
	for len(d.order) > 0 && now.Sub(d.order[0].deleted) >= d.keepFor {
		d.dropLocked(heap.Pop(&d.order).(*deletedJob))
	}
}

func (d *deletedJobs) dropLocked(dj *deletedJob) {
	e := &dj.entry
	delete(d.byJob, keptKey{e.Namespace, e.Name, e.UID})
}

// newestLocked is the newest deletion kept that match accepts.
func (d *deletedJobs) newestLocked(now time.Time, match func(e *failingEntry) bool) (failingEntry, bool) {
	d.expireLocked(now)
	var newest *failingEntry
	for _, dj := range d.order {
		if e := &dj.entry; match(e) && (newest == nil || deletedBefore(newest, e)) {
			newest = e
		}
	}
	if newest == nil {
		return failingEntry{}, false
	}
	return *newest, true
}

// deletedBefore orders kept entries by deletion, then by UID, so equal
// times list in a stable order.
func deletedBefore(a, b *failingEntry) bool {
	if !a.kept.Deleted.Equal(b.kept.Deleted) {
		return a.kept.Deleted.Before(b.kept.Deleted)
	}
	return a.UID < b.UID
}

// deletionOrder is a min-heap of kept Jobs by deletion time.
type deletionOrder []*deletedJob

func (o deletionOrder) Len() int           { return len(o) }
func (o deletionOrder) Less(i, k int) bool { return o[i].deleted.Before(o[k].deleted) }
func (o deletionOrder) Swap(i, k int) {
	o[i], o[k] = o[k], o[i]
	o[i].index, o[k].index = i, k
}
func (o *deletionOrder) Push(x any) {
	dj := x.(*deletedJob)
	dj.index = len(*o)
	*o = append(*o, dj)
}
func (o *deletionOrder) Pop() any {
	old := *o
	dj := old[len(old)-1]
	old[len(old)-1] = nil
	*o = old[:len(old)-1]
	return dj
}

// deletedBy says who deleted a Job, as far as its Summary tells: its TTL
// ("by its TTL (ttlSecondsAfterFinished=0)"), else "not by its TTL: …".
func deletedBy(s *job.Summary) string {
	ttl := s.TTLSecondsAfterFinished
	switch {
	case s.DeletedByTTL():
		return fmt.Sprintf("by its TTL (ttlSecondsAfterFinished=%d)", *ttl)
	case ttl != nil && s.FailedAt.IsZero() && s.CompletedAt.IsZero():
		return fmt.Sprintf("perhaps by its TTL (ttlSecondsAfterFinished=%d; its conditions have no time to tell)", *ttl)
	case ttl != nil:
		return fmt.Sprintf("not by its TTL (ttlSecondsAfterFinished=%d had not passed): by hand or another controller", *ttl)
	}
	return "not by its TTL: by hand or another controller"
}

// failingSink passes what the watcher reports on to the metrics and keeps
// the failing-now board from the same Summaries: one model, two views.
type failingSink struct {
	watcher.Sink
	board *failingBoard
}

func (s failingSink) JobChanged(key string, sum *job.Summary) {
	s.Sink.JobChanged(key, sum)
	s.board.jobChanged(key, sum, time.Now())
}

func (s failingSink) JobDeleted(key string, sum *job.Summary) {
	s.Sink.JobDeleted(key, sum)
	s.board.jobDeleted(key, sum, time.Now())
}

func (s failingSink) JobGone(key string) {
	s.Sink.JobGone(key)
	s.board.jobGone(key)
}

// judgeJob decides whether a Job is listed, and how: the health the
// diagnose report gives (the CLI's and the runbook pages' words), without
// a run-time limit (the page lists what fails, not what runs long).
func judgeJob(s *job.Summary, now time.Time) (failingEntry, bool) {
	if !s.Failed && s.Retries == 0 && len(s.Attempts) == 0 && len(s.Waiting) == 0 && len(s.CreateFailures) == 0 && !s.WithoutPods {
		// The common case, a Job without trouble, costs no report.
		return failingEntry{}, false
	}
	r := diagnose.FromSummary(*s, now, diagnose.Limits{})
	e := failingEntry{Namespace: s.Namespace, Name: s.Name, CronJob: r.CronJob, Health: r.Health, UID: s.UID}
	switch r.Health {
	case diagnose.Failed:
		e.State = "failed: " + s.FailedReason
		e.Since = s.FailedAt
		e.Runbook = failedRunbook(s.FailedReason)
	case diagnose.Failing:
		e.State = "failing, retrying: " + retriesLeft(s)
		e.Since = s.LastFailure
		switch {
		case r.Verdict.Kind == diagnose.VerdictResource:
			e.Runbook = "KubeJobOOMKilled"
		case r.Verdict.Kind == diagnose.VerdictDeterministic:
			e.Runbook = "KubeJobFailingEveryAttempt"
		case s.BackoffLimitPerIndex != nil:
			e.Runbook = "KubeJobIndexesFailing"
		default:
			e.Runbook = "KubeJobRetryBudgetNearlyExhausted"
		}
	case diagnose.Stuck:
		e.Since = s.StartTime
		switch {
		case len(s.CreateFailures) > 0:
			e.State, e.Since, e.Runbook = "stuck: its pods are refused", s.CreateFailures[0].Last, "KubeJobCannotCreatePods"
		case s.WithoutPods:
			e.State, e.Runbook = "stuck: no pod", "KubeJobCannotCreatePods"
		default:
			e.State, e.Runbook = "stuck: pods not starting", "KubeJobPodsStuckWaiting"
		}
	default:
		return failingEntry{}, false
	}
	if e.Since.IsZero() {
		e.Since = s.Created
	}
	e.Cause = jobCause(s, r)
	return e, true
}

// failedRunbook is the alert that pages for a Job failed for reason.
func failedRunbook(reason string) string {
	switch reason {
	case "BackoffLimitExceeded":
		return "KubeJobBackoffLimitExceeded"
	case "DeadlineExceeded":
		return "KubeJobDeadlineExceeded"
	case "PodFailurePolicy":
		return "KubeJobFailedByPodFailurePolicy"
	case "FailedIndexes":
		return "KubeJobFailedIndexes"
	case "MaxFailedIndexesExceeded":
		return "KubeJobMaxFailedIndexesExceeded"
	}
	return "KubeJobFailedOtherReason"
}

// retriesLeft says how close a retrying Job is to failing for good.
func retriesLeft(s *job.Summary) string {
	var out string
	switch {
	case s.BackoffLimitPerIndex != nil:
		out = fmt.Sprintf("%d failures, backoffLimitPerIndex %d", s.Retries, *s.BackoffLimitPerIndex)
	case s.BackoffLimit == nil:
		out = fmt.Sprintf("%d failures", s.Retries)
	case s.RestartPolicy == "OnFailure":
		out = fmt.Sprintf("%d of %d restarts", s.Retries, *s.BackoffLimit)
	default:
		out = fmt.Sprintf("%d failures, fails for good at %d", s.Retries, int64(*s.BackoffLimit)+1)
	}
	if !s.NextRetry.IsZero() {
		out += ", next retry " + s.NextRetry.UTC().Format("15:04:05")
	}
	return out
}

// jobCause is the cause of a Job's trouble in one sentence, from its
// report: the API server's refusal, the deadline, the newest failed
// attempt, the reason its pods wait, else the report's verdict.
func jobCause(s *job.Summary, r diagnose.Report) string {
	switch {
	case len(r.CreateFailures) > 0:
		f := r.CreateFailures[0]
		return "the API server refuses its pods (" + f.Cause + "): " + f.Meaning
	case r.WithoutPods:
		return "started, and not a single pod: no FailedCreate event says why"
	case s.FailedReason == "DeadlineExceeded":
		return r.Verdict.Text
	case len(r.Attempts) > 0:
		a := r.Attempts[len(r.Attempts)-1] // the newest
		where := "container " + a.Container
		if a.Init {
			where = "init container " + a.Container
		}
		if a.Container == "" {
			where = "pod " + a.Pod
		}
		cause := where + ": " + a.Meaning
		if a.Policy != "" {
			cause += " (podFailurePolicy " + a.Policy + ")"
		}
		return cause
	case len(r.Waiting) > 0:
		w := r.Waiting[0]
		m := job.ExplainWaiting(w.Reason).Meaning
		if !strings.Contains(m, w.Reason) {
			m = w.Reason + ": " + m
		}
		return fmt.Sprintf("%d pod(s) waiting: %s", w.Count, m)
	}
	return r.Verdict.Text
}

// judgeCronJob decides whether a CronJob is listed: its newest run failed
// or a run is overdue past the grace, as its runbook pages say. The board
// gives the cause recorded for its newest failed run, present or deleted;
// run is the run its cause names, "" if none.
func judgeCronJob(cs cronjob.Summary, now time.Time, grace time.Duration, board *failingBoard) (e failingEntry, run string, listed bool) {
	r := diagnose.FromCronJob(cs, nil, now, grace)
	e = failingEntry{CronJobRow: true, Namespace: cs.Namespace, Name: cs.Name, Health: r.Health}
	switch r.Health {
	case diagnose.Stuck:
		e.State = "missed its schedule: " + r.Overdue + " late"
		e.Since, e.Cause, e.Runbook = cs.Next, r.Verdict.Text, "KubeCronJobMissedSchedule"
	case diagnose.Failed:
		e.State = fmt.Sprintf("newest run failed (%d in a row)", cs.ConsecutiveFailures)
		e.Since, e.Runbook = cs.LastFailure, "KubeCronJobLastRunFailed"
		e.Cause = "its newest run failed (" + cs.FailureReason + ")"
		if last := cs.LastRun; last != nil && last.Failed {
			run = last.Name
			e.Cause = "its newest run " + run + " failed (" + last.Reason + ")"
			if c, ok := board.cause(cs.Namespace+"/"+run, now); ok {
				e.Cause += ": " + c
			}
		} else if deleted, ok := board.deletedRun(cs.Namespace, cs.Name, cronJobUID(cs), cs.LastFailure, now); ok {
			run = deleted.Name
			e.Cause = "its newest run " + run + " failed (" + deleted.kept.FailedReason + ") and was deleted: " + deleted.Cause
		}
	default:
		return failingEntry{}, "", false
	}
	return e, run, true
}

// cronJobUID is the UID of a CronJob's object, "" without it.
func cronJobUID(cs cronjob.Summary) types.UID {
	if cs.Record == nil {
		return ""
	}
	return cs.Record.UID
}

// newestRows keeps the max newest of the rows offered (a min-heap on
// newness): a page over a board of 100,000 failed Jobs holds 100 rows, not
// a copy of the board.
type newestRows struct {
	max  int
	rows []failingEntry
}

func (h *newestRows) Len() int           { return len(h.rows) }
func (h *newestRows) Less(i, k int) bool { return newer(&h.rows[k], &h.rows[i]) }
func (h *newestRows) Swap(i, k int)      { h.rows[i], h.rows[k] = h.rows[k], h.rows[i] }
func (h *newestRows) Push(x any)         { h.rows = append(h.rows, x.(failingEntry)) }
func (h *newestRows) Pop() any {
	last := h.rows[len(h.rows)-1]
	h.rows = h.rows[:len(h.rows)-1]
	return last
}

func (h *newestRows) offer(e failingEntry) {
	switch {
	case len(h.rows) < h.max:
		heap.Push(h, e)
	case newer(&e, &h.rows[0]):
		h.rows[0] = e
		heap.Fix(h, 0)
	}
}

// sorted returns the rows kept, newest first.
func (h *newestRows) sorted() []failingEntry {
	sort.Slice(h.rows, func(i, k int) bool { return newer(&h.rows[i], &h.rows[k]) })
	return h.rows
}

// failingHandler serves the failing-now page.
type failingHandler struct {
	board *failingBoard
	// cronJobs are the CronJobs reported, as of now; nil: none.
	cronJobs    func(now time.Time) []cronjob.Summary
	missedGrace time.Duration
	shard       watcher.Shard
	// jobs is the number of Jobs reported (for "nothing fails among N").
	jobs func() int
	// ready says why the caches are not complete yet; nil once they are.
	ready func() error
	// runbooks tells whether a runbook page exists; nil: no runbook
	// pages, so no report links.
	runbooks func(alert string) bool
	// metricsPath is the path of /metrics, without the leading slash.
	metricsPath string
	max         int
	// now is the clock the page is judged by; nil: time.Now.
	now func() time.Time
}

// failingPage is what the template renders.
type failingPage struct {
	Now        time.Time
	Namespace  string // the filter, "" for all
	Rows       []failingRow
	Total      int            // rows matching, listed or not
	More       int            // rows matching and not listed (older)
	Counts     map[string]int // by health, of the rows matching
	Jobs       int
	NotReady   string
	Shard      watcher.Shard
	KeepFor    string // how long deleted failed Jobs stay listed
	Runbooks   bool
	Metrics    string
	MaxRows    int
	HealthList []diagnose.Health
}

type failingRow struct {
	failingEntry
	Age string
	// Report is the relative link to the live report (the kept one of a
	// deleted Job), "" without one.
	Report string
	// Deleted says when a deleted Job was deleted and by what; "" for a
	// Job that exists.
	Deleted string
}

// deletedRow is a deleted Job's deletion as its row says it: "deleted 3m
// ago by its TTL (…)", "deleted 3m ago, not by its TTL: …".
func deletedRow(s *job.Summary, now time.Time) string {
	sep := ", "
	if s.DeletedByTTL() {
		sep = " "
	}
	return "deleted " + age(now.Sub(s.Deleted)) + " ago" + sep + deletedBy(s)
}

func (h *failingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ns := r.URL.Query().Get("namespace")
	if ns != "" && !validName.MatchString(ns) {
		http.Error(w, "invalid namespace: not a Kubernetes namespace name", http.StatusBadRequest)
		return
	}
	now := time.Now()
	if h.now != nil {
		now = h.now()
	}
	page := h.page(now, ns)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// An error here is the client going away: the status is out already.
	_ = failingTemplate.Execute(w, page)
}

// page selects the rows of namespace ns ("" all): the max newest, with the
// counts of all.
func (h *failingHandler) page(now time.Time, ns string) failingPage {
	p := failingPage{Now: now, Namespace: ns, Counts: map[string]int{}, Shard: h.shard, KeepFor: age(h.board.deleted.keepFor),
		Runbooks: h.runbooks != nil, Metrics: h.metricsPath, MaxRows: h.max,
		HealthList: []diagnose.Health{diagnose.Failed, diagnose.Failing, diagnose.Stuck}}
	if h.jobs != nil {
		p.Jobs = h.jobs()
	}
	if h.ready != nil {
		if err := h.ready(); err != nil {
			p.NotReady = err.Error()
		}
	}
	rows := &newestRows{max: h.max}
	offer := func(e failingEntry) {
		if ns != "" && e.Namespace != ns {
			return
		}
		p.Total++
		p.Counts[string(e.Health)]++
		rows.offer(e)
	}
	// A deleted run a CronJob's row names as its newest failed run is
	// shown there (and in the CronJob's report), not a second time as a
	// row of its own.
	namedRuns := map[string]bool{} // "namespace/name"
	if h.cronJobs != nil {
		for _, cs := range h.cronJobs(now) {
			if e, run, ok := judgeCronJob(cs, now, h.missedGrace, h.board); ok {
				if run != "" {
					namedRuns[cs.Namespace+"/"+run] = true
				}
				offer(e)
			}
		}
	}
	h.board.mu.Lock()
	h.board.deleted.expireLocked(now)
	for _, e := range h.board.jobs {
		if _, deleted := h.board.deleted.byJob[keptKey{e.Namespace, e.Name, e.UID}]; !deleted {
			offer(e)
		}
	}
	for _, d := range h.board.deleted.order {
		if e := d.entry; e.CronJob == "" || !namedRuns[e.key()] {
			offer(e)
		}
	}
	h.board.mu.Unlock()
	for _, e := range rows.sorted() {
		row := failingRow{failingEntry: e, Age: age(now.Sub(e.Since))}
		if h.runbooks != nil && h.runbooks(e.Runbook) {
			row.Report = reportLink(e)
		}
		if e.kept != nil {
			row.Deleted = deletedRow(e.kept, now)
		}
		p.Rows = append(p.Rows, row)
	}
	p.More = p.Total - len(p.Rows)
	return p
}

// reportLink is the link to a row's runbook page with its live report,
// relative to the page (so it works behind a path prefix, such as the API
// server's service proxy); html/template escapes the query values.
func reportLink(e failingEntry) string { return "runbooks/" + runbookQuery(e) }

// runbookQuery is the runbook page of an entry with its report, relative
// to /runbooks/: a deleted Job's names its UID, so that the page shows
// the kept report even when a Job of that name exists again.
func runbookQuery(e failingEntry) string {
	q := url.Values{"namespace": {e.Namespace}}
	switch {
	case e.CronJobRow:
		q.Set("cronjob", e.Name)
	case e.kept != nil:
		q.Set("job_name", e.Name)
		q.Set("job_uid", string(e.UID))
	default:
		q.Set("job_name", e.Name)
	}
	return e.Runbook + "?" + q.Encode()
}

// pageTimeFormat is how the pages write a time, in UTC.
const pageTimeFormat = "2006-01-02 15:04:05"

// age is a duration as a person reads it: "45s", "12m", "3h10m", "2d4h".
func age(d time.Duration) string {
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}

var failingTemplate = template.Must(template.New("failing").Funcs(template.FuncMap{
	"utc":   func(t time.Time) string { return t.UTC().Format(pageTimeFormat) },
	"count": func(m map[string]int, h diagnose.Health) int { return m[string(h)] },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Failing now — kube-job-exporter</title>
<style>
body{font-family:sans-serif;margin:0;line-height:1.45;color:#222}
header{background:#e6522c;color:#fff;padding:.8em 1.2em}
header h1{margin:0;font-size:1.4em}
header a{color:#fff}
main{padding:0 1.2em 1.2em}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:.45em .6em;border-bottom:1px solid #ddd}
th{background:#f4f4f4;white-space:nowrap}
td.when{white-space:nowrap;font-variant-numeric:tabular-nums}
td.job{min-width:14em;overflow-wrap:anywhere}
td.state{min-width:12em;max-width:20em}
.state strong,.state .deleted{display:block}
.failed .state strong{color:#b00020}.failing .state strong{color:#c25400}.stuck .state strong{color:#6a3d9a}
.kind{color:#666;font-size:.85em}
.note{background:#fff6d6;border-left:4px solid #e0b000;padding:.5em .8em}
.counts span{margin-right:1.2em}
code{background:#f4f4f4}
</style></head>
<body>
<header><h1>Failing now</h1><a href="./">kube-job-exporter</a>{{if .Runbooks}} · <a href="runbooks/">Runbooks</a>{{end}} · <a href="{{.Metrics}}">Metrics</a></header>
<main>
<p>Jobs and CronJobs that failed, are failing (retrying, at risk of failing for good) or are stuck{{if .Namespace}} in namespace <code>{{.Namespace}}</code> (<a href="failing">all namespaces</a>){{end}}, newest first, as of {{utc .Now}} UTC, from the exporter's cache of {{.Jobs}} Jobs; failed Jobs deleted since stay listed for {{.KeepFor}} after their deletion.{{if .Runbooks}} A name opens its live report, on the page of the alert's runbook.{{end}}</p>
{{if .NotReady}}<p class="note">The exporter's caches are not complete yet ({{.NotReady}}): this list may miss some.</p>{{end}}
{{if .Shard.Enabled}}<p class="note">This replica is shard {{.Shard.Index}} of {{.Shard.Total}} (<code>--shard={{.Shard.Index}}</code>): it lists only the Jobs and CronJobs of its shard. Open this page on every replica to see them all.</p>{{end}}
{{if .Rows}}<p class="counts">{{range .HealthList}}<span>{{count $.Counts .}} {{.}}</span>{{end}}</p>
<table>
<thead><tr><th>Since (UTC)</th><th>Job or CronJob</th><th>State</th><th>Cause</th></tr></thead>
<tbody>
{{range .Rows}}<tr class="{{.Health}}">
<td class="when">{{utc .Since}}<br><span class="kind">{{.Age}} ago</span></td>
<td class="job">{{if .CronJobRow}}<span class="kind">CronJob</span>{{else if .Deleted}}<span class="kind">deleted Job</span>{{else}}<span class="kind">Job</span>{{end}} <a href="?namespace={{.Namespace}}" title="only namespace {{.Namespace}}">{{.Namespace}}</a>/{{if .Report}}<a href="{{.Report}}" title="{{if .Deleted}}kept report{{else}}live report{{end}}"><strong>{{.Name}}</strong></a>{{else}}<strong>{{.Name}}</strong>{{end}}{{if .CronJob}}<br><span class="kind">run of CronJob {{.CronJob}}</span>{{end}}</td>
<td class="state"><strong>{{.State}}</strong>{{if .Deleted}}<span class="deleted">{{.Deleted}}</span>{{end}}{{if .Report}}<span class="kind">alert {{.Runbook}}</span>{{end}}</td>
<td>{{.Cause}}</td>
</tr>
{{end}}</tbody>
</table>
{{if .More}}<p class="note">… and {{.More}} more, older: the page lists the {{.MaxRows}} newest{{if not .Namespace}}; a namespace's link lists only that namespace{{end}}. The <code>kubejob_*</code> metrics have them all.</p>{{end}}
{{else}}<p><strong>Nothing has failed, is failing or is stuck{{if .Namespace}} in namespace <code>{{.Namespace}}</code>{{end}} now.</strong></p>{{end}}
</main>
</body></html>
`))
