package pages

import (
	"context"
	"net/url"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/kube-job-exporter/kube-job-exporter/cronjob"
	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
	"github.com/kube-job-exporter/kube-job-exporter/failing"
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// ownerListMax bounds the deleted Jobs an owner's page lists.
const ownerListMax = 20

// evidence is what a runbook page shows above the runbook, in this order,
// each part only when set: the evidence template renders it.
type evidence struct {
	// OtherShard: the Job is another replica's.
	OtherShard *otherShard
	// Error: the Job's summary could not be computed.
	Error string
	// Owner lists the kept deleted Jobs of an owner.
	Owner *ownerList
	// RunDeleted: a CronJob's newest failed run was deleted; its kept
	// Summary stands in the CronJob's report.
	RunDeleted *runDeleted
	// Live is the report of a Job or CronJob from the exporter's caches.
	Live *liveReport
	// Earlier: a Job of the live one's name was deleted after it failed.
	Earlier *earlierJob
	// Kept is the kept report of a deleted failed Job.
	Kept *keptReport
	// MissingJob, MissingCronJob: nothing to show of the Job or CronJob
	// the query names.
	MissingJob     *missingJob
	MissingCronJob *missingCronJob
}

type otherShard struct {
	Key          string
	Shard, Total int
}

type liveReport struct {
	Title string
	At    time.Time
	// Job or CronJob: one is set.
	Job     *diagnose.Report
	CronJob *diagnose.CronJobReport
}

type earlierJob struct {
	Deleted time.Time
	// Query opens its kept report, relative to the page.
	Query string
}

type keptReport struct {
	Heading string
	Summary *job.Summary
	Report  diagnose.Report
}

type missingJob struct {
	Namespace, Name string
	UID             types.UID
	// KeepFor is how long a failed Job's evidence is kept; "" without a
	// board.
	KeepFor string
}

type missingCronJob struct{ Namespace, Name string }

type ownerList struct {
	Owner, Namespace string
	Jobs             []ownedJob
	More             int // kept and not listed
	KeepFor          string
	MaxKept          int
	// Shards: how many shards keep deleted Jobs, when more than one.
	Shards int
}

type ownedJob struct {
	failing.Entry
	// Link opens its report, relative to the page; "" without a runbook
	// for its alert.
	Link      string
	DeletedBy string
}

type runDeleted struct {
	Name      string
	Deleted   time.Time
	DeletedBy string
}

// evidence is the live diagnosis of the Job the query names (or of the
// CronJob's run, or the deleted Jobs of an owner), or why there is none;
// nil when the query names nothing. Names were validated by ServeHTTP.
func (h *runbookHandler) evidence(ctx context.Context, q url.Values) *evidence {
	namespace := q.Get("namespace")
	if h.cfg.Jobs == nil || namespace == "" {
		return nil
	}
	switch {
	case q.Get("job_name") != "":
		return h.jobEvidence(ctx, namespace, q.Get("job_name"), types.UID(q.Get("job_uid")))
	case q.Get("cronjob") != "":
		return h.cronJobEvidence(ctx, namespace, q.Get("cronjob"))
	case q.Get("owner_name") != "":
		return h.ownerEvidence(ctx, namespace, q.Get("owner_name"))
	}
	return nil
}

// jobEvidence is the Job namespace/name: the live one, else (or the one
// uid names) the kept evidence of a deleted one.
func (h *runbookHandler) jobEvidence(ctx context.Context, namespace, name string, uid types.UID) *evidence {
	key := namespace + "/" + name
	if shard, total, mine := h.cfg.Jobs.ShardOf(key); !mine {
		return &evidence{OtherShard: &otherShard{Key: key, Shard: shard, Total: total}}
	}
	s, live, err := h.summaries.get(key)
	if err != nil {
		return &evidence{Error: err.Error()}
	}
	if live && (uid == "" || s.UID == uid) {
		// No run-time limit: the mixin's may differ per namespace or Job;
		// the report says how long the Job has run, the alert whether too
		// long.
		now := time.Now()
		report := diagnose.FromSummary(s, now, diagnose.Limits{})
		h.addEvents(ctx, s, &report)
		ev := &evidence{Live: &liveReport{Title: "This Job now", At: now, Job: &report}}
		if e, ok := h.keptJob(namespace, name, ""); ok && e.UID != s.UID {
			// The alert may be about the earlier Job of this name.
			q := url.Values{"namespace": {namespace}, "job_name": {name}, "job_uid": {string(e.UID)}}
			ev.Earlier = &earlierJob{Deleted: e.Kept.Deleted, Query: "?" + q.Encode()}
		}
		return ev
	}
	if e, ok := h.keptJob(namespace, name, uid); ok {
		return &evidence{Kept: h.kept(ctx, e)}
	}
	missing := &missingJob{Namespace: namespace, Name: name, UID: uid}
	if h.cfg.Board != nil {
		missing.KeepFor = age(h.cfg.Board.KeepFor())
	}
	return &evidence{MissingJob: missing}
}

// keptJob is the kept entry of a deleted failed Job (see
// failing.Board.KeptJob), as of the pages' clock.
func (h *runbookHandler) keptJob(namespace, name string, uid types.UID) (failing.Entry, bool) {
	if h.cfg.Board == nil {
		return failing.Entry{}, false
	}
	return h.cfg.Board.KeptJob(namespace, name, uid, h.cfg.Now())
}

// kept is the kept report of a deleted failed Job: its last Summary
// judged as of its deletion (when its state stopped), with the events the
// API server still has of it and its pods.
func (h *runbookHandler) kept(ctx context.Context, e failing.Entry) *keptReport {
	s := e.Kept
	report := diagnose.FromSummary(*s, s.Deleted, diagnose.Limits{})
	h.addEvents(ctx, *s, &report)
	return &keptReport{Heading: deletedHeading(s), Summary: s, Report: report}
}

// ownerEvidence lists the kept deleted failed Jobs of the standalone
// owner namespace/owner (the owner KubeJobFailedAndDeleted pages for),
// newest first, each with its cause and a link to its report, and the
// newest's report.
func (h *runbookHandler) ownerEvidence(ctx context.Context, namespace, owner string) *evidence {
	board := h.cfg.Board
	if board == nil {
		return nil
	}
	kept, total := board.DeletedOfOwner(namespace, job.Owner{Kind: job.OwnerKindJob, Name: owner}, ownerListMax, h.cfg.Now())
	list := &ownerList{Owner: owner, Namespace: namespace, More: total - len(kept), KeepFor: age(board.KeepFor()), MaxKept: board.MaxKept()}
	for _, e := range kept {
		o := ownedJob{Entry: e, DeletedBy: deletedBy(e.Kept)}
		if h.has(e.Alert) {
			o.Link = runbookQuery(e)
		}
		list.Jobs = append(list.Jobs, o)
	}
	if _, shards, _ := h.cfg.Jobs.ShardOf(namespace + "/" + owner); shards > 1 {
		list.Shards = shards
	}
	ev := &evidence{Owner: list}
	if len(kept) > 0 {
		ev.Kept = h.kept(ctx, kept[0])
	}
	return ev
}

// cronJobEvidence is the live diagnosis of a CronJob, with its newest
// failed run's: present, or deleted and kept (a history limit of 0).
func (h *runbookHandler) cronJobEvidence(ctx context.Context, namespace, name string) *evidence {
	now := time.Now()
	var cs cronjob.Summary
	ok := false
	if h.cfg.CronJobs != nil {
		cs, ok = h.cfg.CronJobs.Summary(namespace+"/"+name, now)
	}
	if !ok {
		return &evidence{MissingCronJob: &missingCronJob{Namespace: namespace, Name: name}}
	}
	var failed *job.Summary
	var newest *cronjob.Run
	for i := range cs.Runs {
		if r := &cs.Runs[i]; r.Failed && (newest == nil || r.Finished.After(newest.Finished)) {
			newest = r
		}
	}
	if newest != nil {
		// A run whose summary could not be computed is shown as not
		// present: the CronJob's own report still stands.
		if s, ok, err := h.summaries.get(namespace + "/" + newest.Name); ok && err == nil {
			failed = &s
		}
	}
	ev := &evidence{}
	if board := h.cfg.Board; board != nil {
		if e, ok := board.DeletedRun(namespace, name, failing.CronJobUID(cs), cs.LastFailure, h.cfg.Now()); ok && (failed == nil || e.Kept.FailedAt.After(failed.FailedAt)) {
			failed = e.Kept
			ev.RunDeleted = &runDeleted{Name: e.Name, Deleted: e.Kept.Deleted, DeletedBy: deletedBy(e.Kept)}
		}
	}
	report := diagnose.FromCronJob(cs, failed, now, h.cfg.MissedGrace)
	if report.NewestFailed != nil {
		h.addEvents(ctx, *failed, report.NewestFailed)
	}
	ev.Live = &liveReport{Title: "This CronJob now", At: now, CronJob: &report}
	return ev
}

// addEvents reads the events of a Job and its pods into its report.
func (h *runbookHandler) addEvents(ctx context.Context, s job.Summary, r *diagnose.Report) {
	if h.events == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, eventsTimeout)
	defer cancel()
	events, err := h.events.read(ctx, s)
	if err != nil {
		r.EventsNote = "some events could not be read: " + err.Error()
	}
	r.AddEvents(s, events)
}
