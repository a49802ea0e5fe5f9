package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
)

// diagnoseCommand is `kube-job-exporter diagnose` and the kubectl plugin
// `kubectl job-diagnose`: one set of flags, registered by register for
// both.
type diagnoseCommand struct {
	prog    string // names the command in messages
	kube    kubeOptions
	job     jobOptions
	cronJob cronJobOptions

	namespace, output, jobName  string
	timeout, runTime, queueWait time.Duration
	logs                        int64

	deprecations deprecations
}

// diagnoseHelp describes the command, as `kube-job-exporter diagnose` and
// as the kubectl plugin (plugin.go).
const diagnoseHelp = "Explain why a Job fails or is stuck, from the Job, its pods and their events, and what to do next; or, for cronjob/NAME, whether a CronJob runs on time and how its runs ended. Exit status: 0 healthy, running (no run-time limit), complete, suspended or queued (waiting for admission in a Kueue queue, within --queue-wait-limit), 2 failing or stuck (a CronJob: a run missed), 3 failed (a CronJob: its newest run failed), 1 error."

func addDiagnoseCommand(app *kingpin.Application) *diagnoseCommand {
	c := &diagnoseCommand{prog: "kube-job-exporter diagnose"}
	c.register(app.Command("diagnose", diagnoseHelp), false)
	return c
}

// register defines the flags and the argument on s. asPlugin names the
// connection's flags as kubectl does and leaves the namespace empty by
// default: the plugin takes the kubeconfig context's, as kubectl does.
func (c *diagnoseCommand) register(s flagSet, asPlugin bool) {
	c.kube.register(s, asPlugin)
	nsHelp := "Namespace of the Job."
	if asPlugin {
		nsHelp = "Namespace of the Job (default: the context's namespace, else default)."
	}
	ns := s.Flag("namespace", nsHelp).Short('n')
	if !asPlugin {
		ns.Default("default")
	}
	ns.StringVar(&c.namespace)
	c.job.register(s)
	c.cronJob.register(s)
	s.Flag("output", "Output format: text or json.").Short('o').Default("text").EnumVar(&c.output, "text", "json")
	s.Flag("timeout", "How long to wait for the API server.").Default("15s").DurationVar(&c.timeout)
	s.Flag("logs", "Last lines of each failing container's log to print (needs get on pods/log); 0 prints none.").Default(fmt.Sprint(diagnose.DefaultLogLines)).Int64Var(&c.logs)
	s.Flag("run-time-limit", "A Job running longer than this without any other problem is reported stuck (the mixin's KubeJobRunningTooLong default); 0 never.").Default(diagnose.DefaultLimits.RunTime.String()).DurationVar(&c.runTime)
	s.Flag("queue-wait-limit", "A Job waiting longer than this for admission in its Kueue queue is reported stuck (the mixin's KubeJobWaitingForAdmission default); 0 never.").Default(diagnose.DefaultLimits.QueueWait.String()).DurationVar(&c.queueWait)
	s.Arg("job", "Name of the Job (or job/NAME), or cronjob/NAME for a CronJob.").Required().StringVar(&c.jobName)
	c.deprecations.addOldNames(s)
}

// validate checks the flags before anything connects; its error names the
// flag.
func (c *diagnoseCommand) validate() error {
	if c.logs < 0 {
		return fmt.Errorf("--logs must be >= 0, got %d", c.logs)
	}
	if err := c.job.validate(); err != nil {
		return err
	}
	return c.cronJob.validate()
}

func (c *diagnoseCommand) run(stdout, stderr io.Writer) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, c.prog+": "+format+"\n", args...)
		return 1
	}
	c.deprecations.print(c.prog, stderr)
	if err := c.validate(); err != nil {
		return fail("%v", err)
	}
	clients, err := c.kube.clients()
	if err != nil {
		return fail("%v", err)
	}
	server, err := kube.CheckReachable(context.Background(), clients.Kubernetes, c.timeout)
	if err != nil {
		return fail("cannot reach the API server at %s: %v", clients.Host, err)
	}
	// The reads get their own --timeout, whatever the version check took.
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	now := time.Now()
	opts, err := c.job.options(server, now)
	if err != nil {
		return fail("%v", err)
	}
	name := strings.TrimPrefix(c.jobName, "job/")
	if cj, ok := strings.CutPrefix(name, "cronjob/"); ok {
		s, failed, err := diagnose.FetchCronJob(ctx, clients.Kubernetes, c.namespace, cj, opts)
		if err != nil {
			return fail("%v", err)
		}
		r := diagnose.FromCronJob(s, failed, now, c.cronJob.missedGrace)
		if err := c.write(r, stdout); err != nil {
			return fail("%v", err)
		}
		return r.Health.ExitCode()
	}
	ev, err := diagnose.Fetch(ctx, clients.Kubernetes, c.namespace, name, opts)
	if err != nil {
		return fail("%v", err)
	}
	r := diagnose.FromSummary(ev.Summary, now, diagnose.Limits{RunTime: c.runTime, QueueWait: c.queueWait})
	r.AddEvents(ev.Summary, ev.Events)
	if ev.EventsErr != nil {
		r.EventsNote = ev.EventsErr.Error()
	}
	r.QueueNote = ev.QueueNote
	if c.logs > 0 {
		r.Logs, err = diagnose.FetchLogs(ctx, clients.Kubernetes, c.namespace, ev, c.logs)
		if err != nil {
			r.LogsNote = err.Error()
		}
	}
	if err := c.write(r, stdout); err != nil {
		return fail("%v", err)
	}
	return r.Health.ExitCode()
}

// report is a Job's or a CronJob's diagnosis.
type report interface {
	WriteJSON(io.Writer) error
	WriteText(io.Writer) error
}

// write writes r in the format --output asks for.
func (c *diagnoseCommand) write(r report, w io.Writer) error {
	if c.output == "json" {
		return r.WriteJSON(w)
	}
	return r.WriteText(w)
}
