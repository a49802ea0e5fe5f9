// Package cronjob is what the exporter knows of a CronJob: the fields of
// the object it reads (a compact Record), its schedule as the CronJob
// controller reads it, and the Summary of the CronJob and its runs that the
// metrics, the diagnose command and the runbook pages render.
package cronjob

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// MaxScheduleLength bounds the schedule kept (and shown in a label): the
// API server accepts any schedule the cron parser does, which may list
// every minute of the hour.
const MaxScheduleLength = 128

// Record is what the exporter keeps of a CronJob: the spec fields that
// decide when runs start, and the status the CronJob controller writes.
type Record struct {
	Namespace, Name string
	UID             types.UID
	ResourceVersion string
	Created         time.Time

	// Schedule is spec.schedule, at most MaxScheduleLength bytes (longer
	// ones end in "…"; Next still reads the whole one, kept in schedule).
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

	schedule string // the whole spec.schedule
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
		Schedule:                bounded(cj.Spec.Schedule, MaxScheduleLength),
		ConcurrencyPolicy:       string(cj.Spec.ConcurrencyPolicy),
		Suspend:                 cj.Spec.Suspend != nil && *cj.Spec.Suspend,
		StartingDeadlineSeconds: cj.Spec.StartingDeadlineSeconds,
		schedule:                cj.Spec.Schedule,
	}
	if r.ConcurrencyPolicy == "" {
		r.ConcurrencyPolicy = string(batchv1.AllowConcurrent)
	}
	if cj.Spec.TimeZone != nil {
		r.TimeZone = bounded(*cj.Spec.TimeZone, MaxScheduleLength)
	}
	if t := cj.Status.LastScheduleTime; t != nil {
		r.LastScheduleTime = t.Time
	}
	if t := cj.Status.LastSuccessfulTime; t != nil {
		r.LastSuccessfulTime = t.Time
	}
	for _, a := range cj.Status.Active {
		r.Active = append(r.Active, a.Name)
	}
	return r
}

// bounded cuts s to at most limit bytes at a rune boundary, marking the cut.
func bounded(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// ParseSchedule parses the schedule as the CronJob controller does
// (formatSchedule, then cron.ParseStandard): spec.timeZone becomes a TZ=
// prefix unless the schedule names a zone itself (TZ= or CRON_TZ=).
func (r *Record) ParseSchedule() (cron.Schedule, error) {
	spec := r.schedule
	if r.TimeZone != "" && !strings.Contains(spec, "TZ") {
		if _, err := time.LoadLocation(r.TimeZone); err != nil {
			return nil, fmt.Errorf("time zone %q: %w", r.TimeZone, err)
		}
		spec = "TZ=" + r.TimeZone + " " + spec
	}
	return parse(spec)
}

// parse is cron.ParseStandard, which panics on some inputs the API
// server accepts (the controller recovers the same way).
func parse(spec string) (s cron.Schedule, err error) {
	defer func() {
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("invalid schedule %q: %v", spec, p)
		}
	}()
	return cron.ParseStandard(spec)
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
