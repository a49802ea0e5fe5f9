package job

import (
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Whoever may create a Job, a pod, a CronJob or an event in a namespace
// writes most of its strings, and the API server bounds many of them only
// by the object's size (about 1.5 MiB): an image reference, an owner
// reference, an event's involvedObject. What the exporter keeps of them is
// bounded here, where the record is made, so that memory and series grow
// with the number of objects, never with what a tenant writes into them.
// A value too long for its bound is cut to it, with CutMarker at the end;
// a name or UID that the API server would not have given the object it
// refers to makes the reference no reference (not kept).

// The limits. Names and label values are the API's own; the others are
// lengths no real value reaches.
const (
	// MaxNameLength is a DNS subdomain, the longest name the API server
	// accepts for a Job, a pod or a CronJob (validation.DNS1123SubdomainMaxLength).
	MaxNameLength = validation.DNS1123SubdomainMaxLength
	// MaxLabelLength is the longest label value (validation.LabelValueMaxLength),
	// and the longest DNS label, such as a container's name.
	MaxLabelLength = validation.LabelValueMaxLength
	// MaxCronJobNameLength is the longest name a CronJob can have: the
	// CronJob controller appends "-" and an 8-digit schedule time to make
	// its Jobs' names, which must stay within 63 characters.
	MaxCronJobNameLength = 52
	// MaxUIDLength is a UID as the API server makes them: a UUID in its
	// 36-character text form.
	MaxUIDLength = 36
	// MaxImageLength bounds a container's image reference, which the API
	// sets no limit on. The longest real one fits: 255 bytes of registry
	// and repository (the limit clients impose, per the OCI distribution
	// spec), ":" and a tag of at most 128, "@" and a sha512 digest (135):
	// 520.
	MaxImageLength = 1024
	// MaxExecutableLength bounds Executable: a path, not a script.
	MaxExecutableLength = 256
	// MaxScheduleLength bounds a CronJob's schedule and time zone as
	// kept and shown in a label: the API server accepts any schedule the
	// cron parser does, which may list every minute of the hour.
	MaxScheduleLength = 128
	// MaxReasonLength bounds a condition's reason, which a writer of the
	// status chooses (metav1.Condition's own limit).
	MaxReasonLength = 1024
)

// DefaultMaxContainers is how many of a pod template's containers a Job
// record keeps by default (Options.MaxContainers): a pod may have
// thousands, real Jobs have a few. Init containers come first.
const DefaultMaxContainers = 20

// CutMarker ends a value Bounded cut.
const CutMarker = "…"

// Bounded is s as valid UTF-8 (each invalid byte sequence replaced by
// U+FFFD: labels and pages need valid text) of at most limit bytes: a
// longer one is cut at a rune boundary and ends in CutMarker. Within its
// bound, valid s is returned as is, without a copy.
func Bounded(s string, limit int) string {
	if len(s) <= limit && utf8.ValidString(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= limit {
		return s
	}
	marker := CutMarker
	if limit < len(marker) {
		marker = "" // no room for it
	}
	cut := limit - len(marker)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + marker
}

// BoundedCount is Bounded, counting a cut under what.
func BoundedCount(s string, limit int, what Cut) string {
	b := Bounded(s, limit)
	if b != s {
		countCut(what, 1)
	}
	return b
}

// ValidName tells whether name is one the API server accepts for an
// object named by a DNS subdomain (Jobs, pods, CronJobs, events).
func ValidName(name string) bool {
	return len(validation.IsDNS1123Subdomain(name)) == 0
}

// ValidUID tells whether uid has the shape of a UID the API server
// makes: 1 to MaxUIDLength letters, digits and dashes. (The API server
// sets every object's UID itself; an owner reference's UID is whatever
// its writer put there.)
func ValidUID(uid types.UID) bool {
	if len(uid) == 0 || len(uid) > MaxUIDLength {
		return false
	}
	for i := 0; i < len(uid); i++ {
		c := uid[i]
		if c != '-' && (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

// Cut is what kubejob_exporter_tenant_values_cut_total counts a cut
// under (its what label): a bounded set.
type Cut int

// The values cut or dropped where records are made.
const (
	CutImage          Cut = iota // a container image reference cut to MaxImageLength
	CutContainer                 // a template container beyond Options.MaxContainers, not kept
	CutOwnerReference            // an owner reference with an invalid name or UID, not kept
	CutEventObject               // a FailedCreate event about an invalid object name or UID, not kept
	CutSchedule                  // a CronJob schedule or time zone cut to MaxScheduleLength
	CutReason                    // a condition reason cut to MaxReasonLength
	CutSeries                    // a per-container series beyond the per-Job bound, not emitted
	CutQueueMessage              // a Kueue Workload condition message cut to MaxQueueMessage
	numCuts
)

// CutNames are the what label values, in Cut order.
var CutNames = [numCuts]string{"image", "container", "owner_reference", "event_object", "schedule", "reason", "series", "queue_message"}

var cuts [numCuts]atomic.Int64

// countCut counts n values cut or dropped.
func countCut(what Cut, n int) { cuts[what].Add(int64(n)) }

// CountCut counts n values of what cut or dropped outside this package
// (the collectors' series bound).
func CountCut(what Cut, n int) { countCut(what, n) }

// Cuts is how many values of each kind were cut or dropped since the
// process started, in Cut order. A record is made again at every change
// of its object and at every re-list: one object cut counts each time.
func Cuts() [numCuts]int64 {
	var out [numCuts]int64
	for i := range cuts {
		out[i] = cuts[i].Load()
	}
	return out
}
