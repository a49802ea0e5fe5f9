package harness

import (
	"testing"
	"time"
)

func TestOutcomeResolve(t *testing.T) {
	cases := []struct {
		outcome        string
		index, attempt int
		want           Step
	}{
		{"", -1, 1, Step{Action: ActSucceed}},
		{"oom", -1, 3, Step{Action: ActExit, ExitCode: 137, Reason: "OOMKilled"}},
		{"exit=127", -1, 1, Step{Action: ActExit, ExitCode: 127, Reason: "Error"}},
		{"exit=0", -1, 1, Step{Action: ActSucceed}},
		{"fail-then-succeed", -1, 1, Step{Action: ActExit, ExitCode: 1, Reason: "Error"}},
		{"fail-then-succeed", -1, 2, Step{Action: ActSucceed}},
		{"fail-then-succeed=2", -1, 2, Step{Action: ActExit, ExitCode: 1, Reason: "Error"}},
		{"attempt=1-2 exit=1; run=3s succeed", -1, 2, Step{Action: ActExit, ExitCode: 1, Reason: "Error"}},
		{"attempt=1-2 exit=1; run=3s succeed", -1, 3, Step{Action: ActSucceed, Run: 3 * time.Second}},
		{"index=2 exit=1", 2, 1, Step{Action: ActExit, ExitCode: 1, Reason: "Error"}},
		{"index=2 exit=1", 1, 1, Step{Action: ActSucceed}},
		{"index=2 exit=1", -1, 1, Step{Action: ActSucceed}},
		{"index=1,3-4 exit=5 container=side", 4, 1, Step{Action: ActExit, ExitCode: 5, Reason: "Error", Container: "side"}},
		{"attempt=1 disruption; exit=42", -1, 1, Step{Action: ActDisruption}},
		{"attempt=1 disruption; exit=42", -1, 2, Step{Action: ActExit, ExitCode: 42, Reason: "Error"}},
		{"run=forever", -1, 1, Step{Action: ActRunForever, Forever: true}},
		{"run", -1, 1, Step{Action: ActRunForever, Forever: true}},
		{"run=30s", -1, 1, Step{Action: ActSucceed, Run: 30 * time.Second}},
		{"exit=143 reason=Error run=1s", -1, 1, Step{Action: ActExit, ExitCode: 143, Reason: "Error", Run: time.Second}},
		{"image-pull", -1, 1, Step{Action: ActImagePull}},
		{"unschedulable", -1, 1, Step{Action: ActUnschedulable}},
	}
	for _, c := range cases {
		o, err := ParseOutcome(c.outcome)
		if err != nil {
			t.Errorf("ParseOutcome(%q): %v", c.outcome, err)
			continue
		}
		if got := o.Resolve(c.index, c.attempt); got != c.want {
			t.Errorf("%q index %d attempt %d: got %+v, want %+v", c.outcome, c.index, c.attempt, got, c.want)
		}
	}
}

func TestOutcomeErrors(t *testing.T) {
	for _, s := range []string{"explode", "exit=x", "oom succeed", "index=a exit=1", "attempt=3-1 oom", "run=soon"} {
		if _, err := ParseOutcome(s); err == nil {
			t.Errorf("ParseOutcome(%q): no error", s)
		}
	}
}
