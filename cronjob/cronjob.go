// Package cronjob is what the exporter knows of a CronJob: the fields of
// the object it reads (a compact Record), its schedule as the CronJob
// controller reads it, the Summary of the CronJob and its runs that the
// metrics, the diagnose command and the runbook pages render, and the
// Book of every CronJob the watcher reports (book.go), which tells a
// Renderer each change and gives pages a Summary as of now.
package cronjob

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// Record is what the exporter keeps of a CronJob: the spec fields that
// decide when runs start, and the status the CronJob controller writes.
type Record struct {
	Namespace, Name string
	UID             types.UID
	ResourceVersion string
	Created         time.Time

	// Schedule is spec.schedule, at most job.MaxScheduleLength bytes
	// (longer ones end in job.CutMarker; ParseSchedule still reads the
	// whole one, parsed when the record was made).
	Schedule string
	// TimeZone is spec.timeZone, "" for the controller's own zone.
	TimeZone                string
	ConcurrencyPolicy       string // Allow, Forbid or Replace
	Suspend                 bool
	StartingDeadlineSeconds *int64

	// LastScheduleTime is when the controller last started a run (the
	// run's scheduled time); zero if never.
	LastScheduleTime time.Time
	// LastSuccessfulTime is when a run last succeeded, as the controller
	// records it; it outlives the runs (history limits, TTL).
	LastSuccessfulTime time.Time
	// Active are the names of the runs the controller counts as active.
	Active []string

	// The whole schedule parsed (ParseSchedule), not the text: a schedule
	// the API server accepts may be megabytes long, its parsed form never
	// is.
	schedule    cron.Schedule
	scheduleErr error
	// next and interval are NextRun's answer, computed with the record:
	// they depend only on the schedule, its zone, the creation and
	// status.lastScheduleTime, and a schedule that seldom or never comes
	// (30 February) makes the parser search years ahead. Computed once per
	// change, a page or a render over 10,000 CronJobs does no cron work.
	next     time.Time
	interval time.Duration
}

// GetObjectMeta lets the informer's key functions read the record.
func (r *Record) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Namespace: r.Namespace, Name: r.Name, UID: r.UID, ResourceVersion: r.ResourceVersion}
}

// Key is "namespace/name".
func (r *Record) Key() string { return r.Namespace + "/" + r.Name }

// Transform is the CronJob informer's transform: the Record of a CronJob,
// anything else unchanged.
func Transform(obj any) (any, error) {
	cj, ok := obj.(*batchv1.CronJob)
	if !ok {
		return obj, nil
	}
	return NewRecord(cj), nil
}

// NewRecord keeps what the exporter reads of a CronJob.
func NewRecord(cj *batchv1.CronJob) *Record {
	r := &Record{
		Namespace: cj.Namespace, Name: cj.Name, UID: cj.UID, ResourceVersion: cj.ResourceVersion,
		Created:                 cj.CreationTimestamp.Time,
		Schedule:                job.BoundedCount(cj.Spec.Schedule, job.MaxScheduleLength, job.CutSchedule),
		ConcurrencyPolicy:       string(cj.Spec.ConcurrencyPolicy),
		Suspend:                 cj.Spec.Suspend != nil && *cj.Spec.Suspend,
		StartingDeadlineSeconds: cj.Spec.StartingDeadlineSeconds,
	}
	if r.ConcurrencyPolicy == "" {
		r.ConcurrencyPolicy = string(batchv1.AllowConcurrent)
	}
	if cj.Spec.TimeZone != nil {
		r.TimeZone = job.BoundedCount(*cj.Spec.TimeZone, job.MaxScheduleLength, job.CutSchedule)
	}
	r.schedule, r.scheduleErr = parseSchedule(cj.Spec.Schedule, cj.Spec.TimeZone)
	if t := cj.Status.LastScheduleTime; t != nil {
		r.LastScheduleTime = t.Time
	}
	if t := cj.Status.LastSuccessfulTime; t != nil {
		r.LastSuccessfulTime = t.Time
	}
	for _, a := range cj.Status.Active {
		r.Active = append(r.Active, a.Name)
	}
	if r.scheduleErr == nil {
		r.next, r.interval = r.NextRun(r.schedule)
	}
	return r
}

// Scheduled is NextRun's answer for the record's own schedule, as computed
// when the record was made, or why the schedule cannot be read.
func (r *Record) Scheduled() (next time.Time, interval time.Duration, err error) {
	return r.next, r.interval, r.scheduleErr
}

// ParseSchedule is the schedule as the CronJob controller reads it, or
// why it cannot be read (see parseSchedule).
func (r *Record) ParseSchedule() (cron.Schedule, error) { return r.schedule, r.scheduleErr }

// parseSchedule parses the schedule as the CronJob controller does
// (formatSchedule, then cron.ParseStandard): spec.timeZone becomes a TZ=
// prefix unless the schedule names a zone itself (TZ= or CRON_TZ=). The
// schedule's location is the one copy shared by every CronJob of that
// zone (sharedLocation).
func parseSchedule(schedule string, timeZone *string) (cron.Schedule, error) {
	spec := schedule
	if timeZone != nil && *timeZone != "" && !strings.Contains(spec, "TZ") {
		if _, err := time.LoadLocation(*timeZone); err != nil {
			return nil, fmt.Errorf("time zone %q: %w", job.Bounded(*timeZone, job.MaxScheduleLength), err)
		}
		spec = "TZ=" + *timeZone + " " + spec
	}
	s, err := parse(spec)
	if ss, ok := s.(*cron.SpecSchedule); ok {
		ss.Location = sharedLocation(ss.Location)
	}
	return s, err
}

// locations holds one *time.Location per zone name: a loaded zone is a
// few KiB of transitions, which 10,000 CronJobs in one zone would
// otherwise each keep. Only zones that loaded are in it, so it is
// bounded by the time zone database.
var locations sync.Map // zone name → *time.Location

func sharedLocation(loc *time.Location) *time.Location {
	if loc == nil || loc == time.Local || loc == time.UTC {
		return loc
	}
	got, _ := locations.LoadOrStore(loc.String(), loc)
	return got.(*time.Location)
}

// parse is cron.ParseStandard, which panics on some inputs the API
// server accepts (the controller recovers the same way). Its errors quote
// the schedule at most job.MaxScheduleLength bytes long.
func parse(spec string) (s cron.Schedule, err error) {
	defer func() {
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("invalid schedule %q: %v", job.Bounded(spec, job.MaxScheduleLength), p)
		}
	}()
	s, err = cron.ParseStandard(spec)
	if err != nil {
		err = fmt.Errorf("%s", job.Bounded(err.Error(), 2*job.MaxScheduleLength))
	}
	return s, err
}

// NextRun is when the next run is due: the first scheduled time after the
// last one the controller started a run for (or after the CronJob's
// creation). The controller records a scheduled time only when it creates
// the run, so a time in the past means a run is overdue: blocked by an
// active run under concurrencyPolicy Forbid, missed past
// startingDeadlineSeconds, or the controller not running. Interval is the
// time between that run and the one after it (zero for a schedule that
// never comes, such as 30 February).
func (r *Record) NextRun(s cron.Schedule) (next time.Time, interval time.Duration) {
	from := r.Created
	if !r.LastScheduleTime.IsZero() {
		from = r.LastScheduleTime
	}
	next = s.Next(from)
	if next.IsZero() {
		return next, 0
	}
	if after := s.Next(next); !after.IsZero() {
		interval = after.Sub(next)
	}
	return next, interval
}
