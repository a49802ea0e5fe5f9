package diagnose

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteJSON writes the report as indented JSON.
func (r Report) WriteJSON(w io.Writer) error { return writeJSON(w, r) }

// writeJSON writes a report as indented JSON.
func writeJSON(w io.Writer, report any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(report)
}

// WriteText writes the report as a short plain-text page.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	title := fmt.Sprintf("Job %s/%s", r.Namespace, r.Job)
	if r.CronJob != "" {
		title += fmt.Sprintf(" (CronJob %s)", r.CronJob)
	}
	fmt.Fprintf(&b, "%s: %s", title, strings.ToUpper(string(r.Health)))
	if r.Reason != "" {
		fmt.Fprintf(&b, " (%s)", r.Reason)
	}
	if r.Health == Complete && r.Completions != "" {
		fmt.Fprintf(&b, " (%s)", r.Completions)
	}
	b.WriteString("\n\n")
	fmt.Fprintf(&b, "Retries:   %s\n", r.Budget)
	if r.BackoffDelay != "" {
		fmt.Fprintf(&b, "Backoff:   %s", r.BackoffDelay)
		if r.NextRetry != nil {
			fmt.Fprintf(&b, ", next retry at %s", r.NextRetry.UTC().Format(time.RFC3339))
		}
		b.WriteString("\n")
	}
	if r.Deadline != nil {
		fmt.Fprintf(&b, "Deadline:  %s (%s)\n", r.Deadline.UTC().Format(time.RFC3339), r.DeadlineLeft)
	}
	if r.RunningFor != "" {
		fmt.Fprintf(&b, "Running:   for %s\n", r.RunningFor)
	}
	if len(r.CreateFailures) > 0 {
		b.WriteString("\nPods the API server refuses to create (newest first):\n")
		for _, f := range r.CreateFailures {
			fmt.Fprintf(&b, "  %s ×%d, last at %s\n      %s\n", f.Cause, f.Count, f.Last.UTC().Format(time.RFC3339), f.Meaning)
		}
	} else if r.WithoutPods {
		b.WriteString("\nPods: none, although the Job has started\n")
	}
	if len(r.Attempts) > 0 {
		b.WriteString("\nFailed attempts (oldest first):\n")
		if r.OlderAttempts > 0 {
			fmt.Fprintf(&b, "  … %d older failed pod(s) not listed\n", r.OlderAttempts)
		}
		for _, a := range r.Attempts {
			fmt.Fprintf(&b, "  %s", a.Pod)
			if a.Index != nil {
				fmt.Fprintf(&b, " [index %d]", *a.Index)
			}
			if a.Container != "" {
				kind := "container"
				if a.Init {
					kind = "init container"
				}
				fmt.Fprintf(&b, " %s %s", kind, a.Container)
			}
			if a.ExitCode != nil {
				fmt.Fprintf(&b, " exit %d", *a.ExitCode)
			}
			fmt.Fprintf(&b, " %s\n      %s\n", a.Reason, a.Meaning)
			if a.Command != "" {
				fmt.Fprintf(&b, "      command: %s (image %s)\n", a.Command, a.Image)
			}
			if a.Policy != "" {
				fmt.Fprintf(&b, "      podFailurePolicy action: %s\n", a.Policy)
			}
		}
	}
	for _, wt := range r.Waiting {
		fmt.Fprintf(&b, "\nWaiting: %d pod(s) %s\n", wt.Count, wt.Reason)
	}
	if len(r.IndexFailures) > 0 {
		b.WriteString("\nIndexes with failures:")
		for _, f := range r.IndexFailures {
			fmt.Fprintf(&b, " %d(×%d)", f.Index, f.Failures)
		}
		if r.MoreIndexes > 0 {
			fmt.Fprintf(&b, " and %d more", r.MoreIndexes)
		}
		b.WriteString("\n")
	}
	if r.Gone != "" {
		fmt.Fprintf(&b, "\nNo longer known: %s\n", r.Gone)
	}
	if len(r.Events) > 0 || r.EventsNote != "" {
		b.WriteString("\nEvents (newest first):\n")
		for _, e := range r.Events {
			fmt.Fprintf(&b, "  %s  %-8s %s  %s", e.Last.UTC().Format(time.RFC3339), e.Type, e.Object, e.Reason)
			if e.Count > 1 {
				fmt.Fprintf(&b, " (×%d since %s)", e.Count, e.First.UTC().Format(time.RFC3339))
			}
			fmt.Fprintf(&b, "\n      %s\n", e.Message)
		}
		if r.EventsNote != "" {
			fmt.Fprintf(&b, "  (%s)\n", r.EventsNote)
		}
	}
	fmt.Fprintf(&b, "\nVerdict (%s): %s\n", r.Verdict.Kind, r.Verdict.Text)
	b.WriteString("\nNext:\n")
	for _, c := range r.Commands {
		fmt.Fprintf(&b, "  %s\n", c)
	}
	for _, l := range r.Logs {
		prev := ""
		if l.Previous {
			prev = " --previous"
		}
		fmt.Fprintf(&b, "\nLast lines of the log of pod %s container %s (kubectl logs %s -n %s -c %s%s):\n", l.Pod, l.Container, l.Pod, r.Namespace, l.Container, prev)
		if len(l.Lines) == 0 {
			b.WriteString("  (empty)\n")
		}
		for _, line := range l.Lines {
			fmt.Fprintf(&b, "  | %s\n", line)
		}
	}
	if r.LogsNote != "" {
		fmt.Fprintf(&b, "\n(%s)\n", r.LogsNote)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
