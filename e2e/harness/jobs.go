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
