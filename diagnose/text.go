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
	if r.Deleted != nil {
		fmt.Fprintf(&b, "Deleted:   %s, %s\n", r.Deleted.UTC().Format(time.RFC3339), r.DeletedBy())
	}
	if r.Cost != nil {
		fmt.Fprintf(&b, "Cost:      %s\n", r.Cost.Sentence())
	}
	writeQueue(&b, r.Queue, r.QueueNote)
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
		writeAttempts(&b, r.Attempts, "  ")
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
	if d := r.Departed; d != nil {
		fmt.Fprintf(&b, "\n%s (%s; %d seen):\n", DepartedTitle, FromDeparted, d.Pods)
		for _, f := range d.Failures {
			b.WriteString("  ")
			if f.Container != "" {
				fmt.Fprintf(&b, "container %s ", f.Container)
			}
			if f.ExitCode != "" {
				fmt.Fprintf(&b, "exit %s ", f.ExitCode)
			}
			fmt.Fprintf(&b, "%s ×%d", f.Reason, f.Count)
			if f.Restarts {
				b.WriteString(" restarts")
			}
			fmt.Fprintf(&b, "\n      %s\n", f.Meaning)
		}
		if len(d.Attempts) > 0 {
			b.WriteString("  Failed attempts (oldest first):\n")
			writeAttempts(&b, d.Attempts, "    ")
		}
		for _, wt := range d.Waiting {
			fmt.Fprintf(&b, "  Waiting: %d pod(s) %s\n", wt.Count, wt.Reason)
		}
	}
	if len(r.Events) > 0 || r.EventsNote != "" {
		b.WriteString("\nEvents (newest first):\n")
		for _, e := range r.Events {
			object := e.Object
			if e.PodGone {
				object += " (gone)"
			}
			fmt.Fprintf(&b, "  %s  %-8s %s  %s", e.Last.UTC().Format(time.RFC3339), e.Type, object, e.Reason)
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

// writeQueue writes where the Job stands in its Kueue queue, or why that
// could not be read.
func writeQueue(b *strings.Builder, q *Queue, note string) {
	if q == nil {
		if note != "" {
			fmt.Fprintf(b, "Queue:     not read (%s)\n", note)
		}
		return
	}
	fmt.Fprintf(b, "Queue:     %s, %s", q.Where(), q.State)
	if q.Since != nil {
		fmt.Fprintf(b, " for %s (since %s)", q.For, q.Since.UTC().Format(time.RFC3339))
	}
	b.WriteString("\n")
	if q.Workload != "" {
		fmt.Fprintf(b, "           Workload %s\n", q.Workload)
	}
	if q.Cause != "" {
		fmt.Fprintf(b, "           %s: %s\n", q.Cause, q.Meaning)
	}
	if q.Message != "" {
		fmt.Fprintf(b, "           Kueue says: %s\n", q.Message)
	}
	if e := q.Evicted(); e != "" {
		fmt.Fprintf(b, "Evictions: %s\n", e)
	}
}

// writeAttempts lists failed attempts, each line indented so.
func writeAttempts(b *strings.Builder, attempts []Attempt, indent string) {
	for _, a := range attempts {
		fmt.Fprintf(b, "%s%s", indent, a.Pod)
		if a.Index != nil {
			fmt.Fprintf(b, " [index %d]", *a.Index)
		}
		if a.Container != "" {
			kind := "container"
			if a.Init {
				kind = "init container"
			}
			fmt.Fprintf(b, " %s %s", kind, a.Container)
		}
		if a.ExitCode != nil {
			fmt.Fprintf(b, " exit %d", *a.ExitCode)
		}
		fmt.Fprintf(b, " %s\n%s    %s\n", a.Reason, indent, a.Meaning)
		if a.Command != "" {
			fmt.Fprintf(b, "%s    command: %s (image %s)\n", indent, a.Command, a.Image)
		}
		if a.Policy != "" {
			fmt.Fprintf(b, "%s    podFailurePolicy action: %s\n", indent, a.Policy)
		}
	}
}

// DeletedBy says who deleted the Job, as far as the report can tell: the
// TTL-after-finished controller (job.Summary.DeletedByTTL), or someone or
// something else, which the Job does not record.
func (r Report) DeletedBy() string {
	finished := r.Health == Failed || r.Health == Complete
	others := "a person, a tool or a controller"
	if r.CronJob != "" {
		// The CronJob controller deletes the finished runs past its
		// history limits, and a running one for concurrencyPolicy
		// Replace; the garbage collector deletes them with the CronJob.
		others = "its CronJob's concurrencyPolicy Replace, the CronJob's deletion, a person or a tool"
		if finished {
			others = "its CronJob's history limit, the CronJob's deletion, a person or a tool"
		}
	}
	switch {
	case r.DeletedByTTL != nil && *r.DeletedByTTL:
		return fmt.Sprintf("by its TTL (ttlSecondsAfterFinished %s after it finished)", secondsString(r.TTLSecondsAfterFinished))
	case !finished:
		return "before it finished, so not by a TTL: by " + others
	case r.TTLSecondsAfterFinished != nil:
		return fmt.Sprintf("not by its TTL (ttlSecondsAfterFinished %s had not passed since it finished): by %s", secondsString(r.TTLSecondsAfterFinished), others)
	}
	return "not by a TTL (it has none): by " + others
}
