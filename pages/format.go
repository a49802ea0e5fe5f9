package pages

import (
	"fmt"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/job"
)

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

// deletedRow is a deleted Job's deletion as its row says it: "deleted 3m
// ago by its TTL (…)", "deleted 3m ago, not by its TTL: …".
func deletedRow(s *job.Summary, now time.Time) string {
	sep := ", "
	if s.DeletedByTTL() {
		sep = " "
	}
	return "deleted " + age(now.Sub(s.Deleted)) + " ago" + sep + deletedBy(s)
}

// deletedHeading heads a deleted Job's kept report.
func deletedHeading(s *job.Summary) string {
	return "This Job was deleted at " + s.Deleted.UTC().Format(pageTimeFormat) + " UTC, " + deletedBy(s)
}
