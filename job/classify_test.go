package job

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFailedReason(t *testing.T) {
	for _, r := range FailedReasons {
		if got := FailedReason(r); got != r {
			t.Errorf("FailedReason(%q) = %q, want itself", r, got)
		}
	}
	for _, r := range []string{"", "Unknown", "backofflimitexceeded", "BackoffLimitExceeded ", "SuccessPolicy", "\xff"} {
		if got := FailedReason(r); got != Other {
			t.Errorf("FailedReason(%q) = %q, want %q", r, got, Other)
		}
	}
}

func TestContainerReason(t *testing.T) {
	for _, r := range ContainerReasons {
		if got := ContainerReason(r); got != r {
			t.Errorf("ContainerReason(%q) = %q, want itself", r, got)
		}
	}
	for _, r := range []string{"", "oomkilled", "Evicted", "CrashLoopBackOff", "\xff\xfe"} {
		if got := ContainerReason(r); got != Other {
			t.Errorf("ContainerReason(%q) = %q, want %q", r, got, Other)
		}
	}
}

func TestWaitingReason(t *testing.T) {
	for _, r := range WaitingReasons {
		if slices.Contains(StartingReasons, r) {
			continue
		}
		got, ok := WaitingReason(r)
		if got != r || !ok {
			t.Errorf("WaitingReason(%q) = %q, %v, want itself, true", r, got, ok)
		}
	}
	for _, r := range []string{"ContainerCreating", "PodInitializing", ""} {
		if got, ok := WaitingReason(r); got != "" || ok {
			t.Errorf("WaitingReason(%q) = %q, %v, want \"\", false (normal start)", r, got, ok)
		}
	}
	// Scheduling states are read from the pod's conditions, never from a
	// container's waiting reason.
	for _, r := range []string{"RunContainerError", "imagepullbackoff", "\xff", "SchedulingGated", "NotScheduled"} {
		if got, ok := WaitingReason(r); got != Other || !ok {
			t.Errorf("WaitingReason(%q) = %q, %v, want %q, true", r, got, ok, Other)
		}
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		code int32
		want string
	}{
		{math.MinInt32, Other},
		{-1, Other},
		{0, "0"},
		{1, "1"},
		{137, "137"},
		{255, "255"},
		{256, Other},
		{math.MaxInt32, Other},
	}
	for _, tt := range tests {
		if got := ExitCode(tt.code); got != tt.want {
			t.Errorf("ExitCode(%d) = %q, want %q", tt.code, got, tt.want)
		}
	}
}

func TestPodReason(t *testing.T) {
	tests := []struct {
		status, disruption string
		deleted            bool
		want               string
	}{
		{"Evicted", "TerminationByKubelet", false, PodReasonEvicted},
		{"DeadlineExceeded", "", false, PodReasonDeadline},
		{"Shutdown", "", false, PodReasonShutdown},
		{"Terminated", "", false, PodReasonShutdown},
		{"NodeLost", "", false, PodReasonNodeLost},
		{"UnexpectedAdmissionError", "", false, PodReasonAdmission},
		{"OutOfcpu", "", false, PodReasonOutOfResources},
		{"OutOfpods", "", false, PodReasonOutOfResources},
		{"", "PreemptionByScheduler", false, PodReasonPreempted},
		{"", "DeletionByTaintManager", true, PodReasonDisrupted},
		{"", "", true, PodReasonDeleted},
		{"", "", false, Other},
		{"Whatever", "", false, Other},
	}
	for _, tt := range tests {
		got := podReason(tt.status, tt.disruption, tt.deleted)
		if got != tt.want {
			t.Errorf("podReason(%q, %q, %v) = %q, want %q", tt.status, tt.disruption, tt.deleted, got, tt.want)
		}
		if oneOf(got, PodReasons) != got {
			t.Errorf("podReason(%q, ...) = %q, not in PodReasons", tt.status, got)
		}
	}
}

func TestExplainExit(t *testing.T) {
	tests := []struct {
		name          string
		code          int32
		reason        string
		kind          string
		deterministic bool
		meaning       string // substring
	}{
		{"137 with OOMKilled", 137, "OOMKilled", "OOMKilled", true, "memory"},
		{"137 without OOMKilled", 137, "Error", "Killed", false, "SIGKILL"},
		{"127", 127, "Error", "CommandNotFound", true, "not found"},
		{"126", 126, "Error", "NotExecutable", true, "cannot be executed"},
		{"143", 143, "Error", "Terminated", false, "SIGTERM"},
		{"1", 1, "Error", "Error", false, "code 1"},
		{"StartError", 128, "StartError", "NotExecutable", true, "StartError"},
		{"ContainerCannotRun", 128, "ContainerCannotRun", "NotExecutable", true, "ContainerCannotRun"},
		{"SIGINT", 130, "Error", "Killed", false, "signal 2"},
		{"SIGSEGV", 139, "Error", "Killed", false, "signal 11"},
		{"SIGABRT", 134, "Error", "Killed", false, "signal 6"},
		{"128 is no signal", 128, "Error", "Error", false, "code 128"},
		{"160 is no signal", 160, "Error", "Error", false, "code 160"},
		{"deadline", 2, "DeadlineExceeded", "Deadline", false, "activeDeadlineSeconds"},
		{"negative", -1, "Error", "Error", false, "code -1"},
		{"exit 0", 0, "Completed", "Unknown", false, "did not report"},
		{"OOMKilled reason wins over code", 1, "OOMKilled", "OOMKilled", true, "memory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ExplainExit(tt.code, tt.reason)
			if c.Kind != tt.kind || c.Deterministic != tt.deterministic || !strings.Contains(c.Meaning, tt.meaning) {
				t.Errorf("ExplainExit(%d, %q) = %+v, want kind %s deterministic %v meaning containing %q", tt.code, tt.reason, c, tt.kind, tt.deterministic, tt.meaning)
			}
		})
	}
}

func TestExplainPodReason(t *testing.T) {
	want := map[string]string{
		PodReasonEvicted: "Evicted", PodReasonDeadline: "Deadline", PodReasonShutdown: "Disrupted",
		PodReasonNodeLost: "Disrupted", PodReasonAdmission: "Unschedulable", PodReasonOutOfResources: "Unschedulable",
		PodReasonPreempted: "Disrupted", PodReasonDisrupted: "Disrupted", PodReasonDeleted: "Disrupted", Other: "Unknown",
	}
	for _, r := range PodReasons {
		c := ExplainPodReason(r)
		if c.Kind != want[r] || c.Deterministic || c.Meaning == "" {
			t.Errorf("ExplainPodReason(%q) = %+v, want kind %q, not deterministic", r, c, want[r])
		}
	}
}

func TestExplainWaiting(t *testing.T) {
	want := map[string]struct {
		kind string
		det  bool
	}{
		"ErrImagePull": {"ImagePull", true}, "ImagePullBackOff": {"ImagePull", true}, "InvalidImageName": {"ImagePull", true},
		"CreateContainerConfigError": {"Config", true}, "CrashLoopBackOff": {"Error", false},
		"Unschedulable": {"Unschedulable", false}, Other: {"Unknown", false},
		"ContainerCreating": {"NotStarting", false}, "PodInitializing": {"NotStarting", false},
		"SchedulingGated": {"NotStarting", false}, "NotScheduled": {"NotStarting", false},
	}
	for _, r := range WaitingReasons {
		c := ExplainWaiting(r)
		if w := want[r]; c.Kind != w.kind || c.Deterministic != w.det || c.Meaning == "" {
			t.Errorf("ExplainWaiting(%q) = %+v, want kind %q deterministic %v", r, c, w.kind, w.det)
		}
	}
}

var causeKinds = []string{"OOMKilled", "CommandNotFound", "NotExecutable", "Killed", "Terminated", "Error", "ImagePull", "Config", "Unschedulable", "NotStarting", "Evicted", "Deadline", "Disrupted", "Unknown"}

func checkLabel(t *testing.T, what, v string, allowed []string) {
	t.Helper()
	if !utf8.ValidString(v) || !slices.Contains(allowed, v) {
		t.Fatalf("%s = %q, not in %q", what, v, allowed)
	}
}

func FuzzClassify(f *testing.F) {
	for _, r := range slices.Concat(FailedReasons, ContainerReasons, WaitingReasons, PodReasons) {
		f.Add(r, int32(1))
	}
	f.Add("", int32(0))
	f.Add("ContainerCreating", int32(137))
	f.Add("OutOf\xff", int32(-1))
	f.Add("\xc3\x28", int32(256))
	f.Add("Terminated", int32(math.MaxInt32))
	f.Fuzz(func(t *testing.T, reason string, code int32) {
		checkLabel(t, "FailedReason", FailedReason(reason), FailedReasons)
		checkLabel(t, "ContainerReason", ContainerReason(reason), ContainerReasons)
		if w, ok := WaitingReason(reason); ok {
			checkLabel(t, "WaitingReason", w, WaitingReasons)
		} else if w != "" {
			t.Fatalf("WaitingReason(%q) = %q, false", reason, w)
		}
		ec := ExitCode(code)
		if !utf8.ValidString(ec) || (ec != Other && (code < 0 || code > 255 || ec != strconv.Itoa(int(code)))) {
			t.Fatalf("ExitCode(%d) = %q", code, ec)
		}
		for _, deleted := range []bool{false, true} {
			checkLabel(t, "podReason", podReason(reason, reason, deleted), PodReasons)
			checkLabel(t, "podReason", podReason(reason, "", deleted), PodReasons)
		}
		checkLabel(t, "ExplainExit.Kind", ExplainExit(code, reason).Kind, causeKinds)
		checkLabel(t, "ExplainPodReason.Kind", ExplainPodReason(reason).Kind, causeKinds)
		checkLabel(t, "ExplainWaiting.Kind", ExplainWaiting(reason).Kind, causeKinds)
	})
}
