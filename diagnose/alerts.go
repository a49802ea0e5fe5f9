package diagnose

import "github.com/kube-job-exporter/kube-job-exporter/job"

// The alerts of the mixin the judging names: the alert that pages for a
// Job or CronJob in the state a report finds. They are the names of the
// mixin's rules (mixin/runbooks/alerts.json, written by
// mixin/build.jsonnet); TestAlertsAreTheMixins fails when one is not
// there or has no runbook.
const (
	AlertBackoffLimitExceeded       = "KubeJobBackoffLimitExceeded"
	AlertDeadlineExceeded           = "KubeJobDeadlineExceeded"
	AlertFailedByPodFailurePolicy   = "KubeJobFailedByPodFailurePolicy"
	AlertFailedIndexes              = "KubeJobFailedIndexes"
	AlertMaxFailedIndexesExceeded   = "KubeJobMaxFailedIndexesExceeded"
	AlertFailedOtherReason          = "KubeJobFailedOtherReason"
	AlertOOMKilled                  = "KubeJobOOMKilled"
	AlertFailingEveryAttempt        = "KubeJobFailingEveryAttempt"
	AlertIndexesFailing             = "KubeJobIndexesFailing"
	AlertRetryBudgetNearlyExhausted = "KubeJobRetryBudgetNearlyExhausted"
	AlertCannotCreatePods           = "KubeJobCannotCreatePods"
	AlertPodsStuckWaiting           = "KubeJobPodsStuckWaiting"
	AlertRunningTooLong             = "KubeJobRunningTooLong"
	AlertCronJobMissedSchedule      = "KubeCronJobMissedSchedule"
	AlertCronJobLastRunFailed       = "KubeCronJobLastRunFailed"
	AlertWaitingForAdmission        = "KubeJobWaitingForAdmission"
	AlertAdmittedNotStarted         = "KubeJobAdmittedNotStarted"
	AlertEvictedRepeatedly          = "KubeJobEvictedRepeatedly"
)

// JudgedAlerts are every alert the judging may name (for the test that
// checks them against the mixin).
var JudgedAlerts = []string{
	AlertBackoffLimitExceeded, AlertDeadlineExceeded, AlertFailedByPodFailurePolicy, AlertFailedIndexes,
	AlertMaxFailedIndexesExceeded, AlertFailedOtherReason, AlertOOMKilled, AlertFailingEveryAttempt,
	AlertIndexesFailing, AlertRetryBudgetNearlyExhausted, AlertCannotCreatePods, AlertPodsStuckWaiting,
	AlertRunningTooLong, AlertCronJobMissedSchedule, AlertCronJobLastRunFailed,
	AlertWaitingForAdmission, AlertAdmittedNotStarted, AlertEvictedRepeatedly,
}

// jobAlert is the alert that pages for a Job in the state its report
// says: by its terminal reason once failed, by what its failures show
// while it retries, by what holds it up while stuck; "" for a Job no
// alert is about (healthy, running, complete, suspended).
func jobAlert(s job.Summary, r Report) string {
	switch r.Health {
	case Failed:
		return failedAlert(s.FailedReason)
	case Failing:
		switch {
		case r.Verdict.Kind == VerdictResource:
			return AlertOOMKilled
		case r.Verdict.Kind == VerdictDeterministic:
			return AlertFailingEveryAttempt
		case s.BackoffLimitPerIndex != nil:
			return AlertIndexesFailing
		}
		return AlertRetryBudgetNearlyExhausted
	case Stuck:
		switch {
		case len(s.CreateFailures) > 0 || s.WithoutPods:
			return AlertCannotCreatePods
		case r.Verdict.Kind == VerdictTooLong:
			return AlertRunningTooLong
		}
		return AlertPodsStuckWaiting
	}
	return ""
}

// failedAlert is the alert that pages for a Job failed for reason.
func failedAlert(reason string) string {
	switch reason {
	case "BackoffLimitExceeded":
		return AlertBackoffLimitExceeded
	case "DeadlineExceeded":
		return AlertDeadlineExceeded
	case "PodFailurePolicy":
		return AlertFailedByPodFailurePolicy
	case "FailedIndexes":
		return AlertFailedIndexes
	case "MaxFailedIndexesExceeded":
		return AlertMaxFailedIndexesExceeded
	}
	return AlertFailedOtherReason
}

// cronJobAlert is the alert that pages for a CronJob in the state its
// report says: a missed run, a failed newest run; "" otherwise.
func cronJobAlert(r CronJobReport) string {
	switch r.Health {
	case Stuck:
		return AlertCronJobMissedSchedule
	case Failed:
		return AlertCronJobLastRunFailed
	}
	return ""
}
