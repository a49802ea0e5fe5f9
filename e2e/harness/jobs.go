package harness

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// OutcomeJob returns a Job whose pods the pod driver runs according to
// outcome (see OutcomeAnnotation): restartPolicy Never, one container
// "main". Tests and the demo adjust the rest (backoffLimit, deadlines,
// completion mode, owner) on the returned object.
func OutcomeJob(namespace, name, outcome string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: batchv1.JobSpec{
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{OutcomeAnnotation: outcome}},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{
						Name: "main", Image: "registry.example/batch/worker:1.0",
						Command: []string{"/bin/worker"},
					}},
				},
			},
		},
	}
}

// SuspendedCronJob is a CronJob the tests own the runs of: suspend keeps the
// harness's CronJob controller from starting any. Tests create its Jobs
// themselves with RunOf. The controller still syncs it when a run changes:
// it sets status.lastSuccessfulTime from the runs that completed, records an
// UnexpectedJob event for an unfinished run it did not create (it does not
// adopt it into status.active), and deletes the oldest finished runs beyond
// successfulJobsHistoryLimit/failedJobsHistoryLimit (API defaults 3 and 1):
// set them higher on the returned object to keep more runs.
func SuspendedCronJob(namespace, name, schedule string, template batchv1.JobSpec) *batchv1.CronJob {
	suspend := true
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: batchv1.CronJobSpec{
			Schedule: schedule, Suspend: &suspend,
			JobTemplate: batchv1.JobTemplateSpec{Spec: template},
		},
	}
}

// RunOf makes j a run of cj, with the controller owner reference the
// CronJob controller sets.
func RunOf(j *batchv1.Job, cj *batchv1.CronJob) *batchv1.Job {
	controller := true
	j.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: cj.UID,
		Controller: &controller, BlockOwnerDeletion: &controller,
	}}
	return j
}
