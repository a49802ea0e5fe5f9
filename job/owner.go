package job

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// CronJobOwner returns the name of the CronJob that controls a Job, read
// from the Job's owner references. Whoever may create a Job writes those
// references as they like (any apiVersion, kind and name), and the name
// ends up in labels, alerts, links and suggested commands; so only a
// controller reference to a batch/v1 CronJob with a name the API server
// would accept for a CronJob, and a UID of the shape the API server makes
// (ValidUID), counts. Anything else is no owner. (Whether
// that CronJob exists, the exporter tells by its UID where it watches
// CronJobs.)
func CronJobOwner(j metav1.Object) (name string, uid types.UID, ok bool) {
	ref := metav1.GetControllerOfNoCopy(j)
	if ref == nil || ref.APIVersion != "batch/v1" || ref.Kind != "CronJob" ||
		len(ref.Name) > MaxCronJobNameLength || !ValidName(ref.Name) || !ValidUID(ref.UID) {
		return "", "", false
	}
	return ref.Name, ref.UID, true
}

// Executable is what the exporter keeps of a container's command: the
// program command[0] names, up to its first blank, at most
// MaxExecutableLength bytes. Exit codes 126 and 127 are about that
// program; everything after it (a whole command line written as one
// string: `sh -c "... --password=..."`) may hold secrets and is never kept.
func Executable(command []string) string {
	if len(command) == 0 {
		return ""
	}
	exe, _, _ := strings.Cut(strings.TrimLeft(command[0], " \t\n\r"), " ")
	exe, _, _ = strings.Cut(exe, "\t")
	exe, _, _ = strings.Cut(exe, "\n")
	return Bounded(exe, MaxExecutableLength)
}
