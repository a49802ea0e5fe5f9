package harness

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// OutcomeAnnotation, on a Job's pod template (and so on its pods), tells the
// pod driver what each pod's containers do. Its value is a list of clauses
// separated by ";". The first clause whose selectors all match the pod is
// used; a pod that no clause matches succeeds. An absent annotation means
// "succeed".
//
// A clause is whitespace-separated tokens:
//
//	selectors: index=LIST      completion index of an Indexed Job (LIST: 2 | 1,3 | 0-2)
//	           attempt=LIST    run number of this Job (or of this index) counted
//	                           from 1 over new pods and OnFailure restarts
//	modifiers: run=DURATION    time the container runs before the action (default
//	                           DriverOptions.RunTime); run=forever never ends
//	           container=NAME  the container that fails (default: the first)
//	           reason=REASON   override the terminated reason (default Error)
//	actions:   succeed                 exit 0, reason Completed
//	           exit=N                  exit N, reason Error
//	           oom                     exit 137, reason OOMKilled
//	           fail-then-succeed[=N]   attempts 1..N (default 1) exit 1, later ones succeed
//	           run                     run until deleted (same as run=forever)
//	           disruption              pod fails with a DisruptionTarget condition
//	                                   (TerminationByKubelet), container exit 137
//	           image-pull              waiting ErrImagePull, then ImagePullBackOff, forever
//	           invalid-image           waiting InvalidImageName, forever
//	           config-error            waiting CreateContainerConfigError, forever
//	           unschedulable           PodScheduled=False reason Unschedulable, forever
//	           volume-missing          scheduled, containers waiting ContainerCreating forever,
//	                                   a Warning FailedMount event on the pod (a missing Secret)
//	           init-hang               the first init container runs forever, the containers
//	                                   wait in PodInitializing
//
// With restartPolicy Never a failing container fails the pod (phase Failed).
// With OnFailure it is restarted in place: state Waiting CrashLoopBackOff with
// lastState Terminated, then Running with restartCount+1, and the outcome is
// evaluated again with the next attempt number.
//
// Examples: "oom"; "exit=127"; "attempt=1-2 exit=1; run=3s succeed";
// "index=2 exit=1"; "attempt=1 disruption; exit=42"; "run=forever".
const OutcomeAnnotation = "e2e.kube-job-exporter.io/outcome"

// Action is what a container does at the end of its run.
type Action string

// Actions of the outcome grammar.
const (
	ActSucceed       Action = "succeed"
	ActExit          Action = "exit"
	ActRunForever    Action = "run"
	ActDisruption    Action = "disruption"
	ActImagePull     Action = "image-pull"
	ActInvalidImage  Action = "invalid-image"
	ActConfigError   Action = "config-error"
	ActUnschedulable Action = "unschedulable"
	ActVolumeMissing Action = "volume-missing"
	ActInitHang      Action = "init-hang"
)

// Outcome is a parsed annotation.
type Outcome struct {
	Clauses []Clause
}

// Clause is one ";"-separated part of an Outcome.
type Clause struct {
	Indexes  []intRange // empty: any
	Attempts []intRange // empty: any
	Run      time.Duration
	Forever  bool
	Action   Action
	ExitCode int32
	Reason   string
	// Container that fails; "" means the first one.
	Container string
	// FailThenSucceed > 0: attempts 1..N fail with exit 1, later succeed.
	FailThenSucceed int
}

type intRange struct{ lo, hi int }

// Step is what the driver does for one attempt of a pod: resolved from a
// clause for a concrete index and attempt.
type Step struct {
	Action    Action
	Run       time.Duration // 0: DriverOptions.RunTime
	Forever   bool
	ExitCode  int32
	Reason    string
	Container string
}

// ParseOutcome parses an OutcomeAnnotation value.
func ParseOutcome(s string) (Outcome, error) {
	var o Outcome
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		c, err := parseClause(part)
		if err != nil {
			return Outcome{}, fmt.Errorf("outcome %q: %w", s, err)
		}
		o.Clauses = append(o.Clauses, c)
	}
	return o, nil
}

func parseClause(s string) (Clause, error) {
	var c Clause
	for _, tok := range strings.Fields(s) {
		key, val, hasVal := strings.Cut(tok, "=")
		var err error
		setAction := func(a Action) error {
			if c.Action != "" {
				return fmt.Errorf("clause %q has two actions", s)
			}
			c.Action = a
			return nil
		}
		switch key {
		case "index":
			c.Indexes, err = parseRanges(val)
		case "attempt":
			c.Attempts, err = parseRanges(val)
		case "run":
			switch {
			case !hasVal || val == "forever":
				c.Forever = true
				if !hasVal {
					err = setAction(ActRunForever)
				}
			default:
				c.Run, err = time.ParseDuration(val)
			}
		case "container":
			c.Container = val
		case "reason":
			c.Reason = val
		case "succeed":
			err = setAction(ActSucceed)
		case "exit":
			var n int64
			n, err = strconv.ParseInt(val, 10, 32)
			if err == nil {
				c.ExitCode = int32(n)
				err = setAction(ActExit)
				if n == 0 {
					c.Action = ActSucceed
				}
			}
		case "oom":
			err = setAction(ActExit)
			c.ExitCode, c.Reason = 137, "OOMKilled"
		case "fail-then-succeed":
			c.FailThenSucceed = 1
			if hasVal {
				c.FailThenSucceed, err = strconv.Atoi(val)
			}
			if err == nil {
				err = setAction(ActSucceed)
			}
		case string(ActDisruption), string(ActImagePull), string(ActInvalidImage), string(ActConfigError), string(ActUnschedulable),
			string(ActVolumeMissing), string(ActInitHang):
			err = setAction(Action(key))
		default:
			err = fmt.Errorf("unknown token %q", tok)
		}
		if err != nil {
			return Clause{}, err
		}
	}
	if c.Action == "" {
		if c.Forever {
			c.Action = ActRunForever
		} else {
			c.Action = ActSucceed
		}
	}
	return c, nil
}

func parseRanges(s string) ([]intRange, error) {
	var out []intRange
	for _, p := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(p, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("bad number list %q", s)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("bad range %q", p)
			}
		}
		out = append(out, intRange{a, b})
	}
	return out, nil
}

func inRanges(rs []intRange, n int) bool {
	if len(rs) == 0 {
		return true
	}
	for _, r := range rs {
		if n >= r.lo && n <= r.hi {
			return true
		}
	}
	return false
}

// Resolve returns the step for a pod of the given completion index (-1 when
// the Job is not Indexed) and attempt number (from 1).
func (o Outcome) Resolve(index, attempt int) Step {
	for _, c := range o.Clauses {
		if len(c.Indexes) > 0 && (index < 0 || !inRanges(c.Indexes, index)) {
			continue
		}
		if !inRanges(c.Attempts, attempt) {
			continue
		}
		st := Step{Action: c.Action, Run: c.Run, Forever: c.Forever, ExitCode: c.ExitCode, Reason: c.Reason, Container: c.Container}
		if c.FailThenSucceed > 0 && attempt <= c.FailThenSucceed {
			st.Action, st.ExitCode = ActExit, 1
		}
		if st.Action == ActExit && st.Reason == "" {
			st.Reason = "Error"
		}
		return st
	}
	return Step{Action: ActSucceed}
}
