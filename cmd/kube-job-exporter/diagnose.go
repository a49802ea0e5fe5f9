package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
)

type diagnoseCommand struct {
	prog      string // names the command in error messages
	namespace *string
	output    *string
	job       *string
	timeout   *time.Duration
	logs      *int64
	runTime   *time.Duration
}

// diagnoseHelp describes the command, as `kube-job-exporter diagnose` and
// as the kubectl plugin (plugin.go).
const diagnoseHelp = "Explain why a Job fails or is stuck, from the Job, its pods and their events, and what to do next; or, for cronjob/NAME, whether a CronJob runs on time and how its runs ended. Exit status: 0 healthy, running (no run-time limit), complete or suspended, 2 failing or stuck (a CronJob: a run missed), 3 failed (a CronJob: its newest run failed), 1 error."

func addDiagnoseCommand(app *kingpin.Application) *diagnoseCommand {
	c := app.Command("diagnose", diagnoseHelp)
	return addDiagnoseFlags(c, c.Flag("namespace", "Namespace of the Job.").Short('n').Default("default").String())
}

// flagSet is where diagnose's flags and argument are defined: the diagnose
// command of the exporter, or the whole application when the binary runs
// as the kubectl plugin.
type flagSet interface {
	Flag(name, help string) *kingpin.FlagClause
	Arg(name, help string) *kingpin.ArgClause
}

// addDiagnoseFlags defines on c every flag of diagnose but --namespace,
// whose default differs (the plugin takes the kubeconfig context's, as
// kubectl does), and the Job argument.
func addDiagnoseFlags(c flagSet, namespace *string) *diagnoseCommand {
	return &diagnoseCommand{
		prog:      "kube-job-exporter diagnose",
		namespace: namespace,
		output:    c.Flag("output", "Output format: text or json.").Short('o').Default("text").Enum("text", "json"),
		timeout:   c.Flag("timeout", "How long to wait for the API server.").Default("15s").Duration(),
		logs:      c.Flag("logs", "Last lines of each failing container's log to print (needs get on pods/log); 0 prints none.").Default(fmt.Sprint(diagnose.DefaultLogLines)).Int64(),
		runTime:   c.Flag("run-time-limit", "A Job running longer than this without any other problem is reported stuck (the mixin's KubeJobRunningTooLong default); 0 never.").Default(diagnose.DefaultLimits.RunTime.String()).Duration(),
		job:       c.Arg("job", "Name of the Job (or job/NAME), or cronjob/NAME for a CronJob.").Required().String(),
	}
}

func (c *diagnoseCommand) run(kubeconfig, kubeContext string, backoff *backoffFlags, startTimeout, missedGrace time.Duration, stdout, stderr io.Writer) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, c.prog+": "+format+"\n", args...)
		return 1
	}
	if *c.logs < 0 {
		return fail("--logs must be >= 0, got %d", *c.logs)
	}
	clients, err := kube.NewClients(kubeconfig, kubeContext)
	if err != nil {
		return fail("%v", err)
	}
	server, err := kube.CheckReachable(context.Background(), clients.Kubernetes, *c.timeout)
	if err != nil {
		return fail("cannot reach the API server at %s: %v", clients.Host, err)
	}
	// The reads get their own --timeout, whatever the version check took.
	ctx, cancel := context.WithTimeout(context.Background(), *c.timeout)
	defer cancel()
	bo, err := backoff.resolve(server)
	if err != nil {
		return fail("%v", err)
	}
	now := time.Now()
	opts := job.Options{Backoff: bo, StartTimeout: startTimeout, Now: now}
	name := strings.TrimPrefix(*c.job, "job/")
	if cj, ok := strings.CutPrefix(name, "cronjob/"); ok {
		s, failed, err := diagnose.FetchCronJob(ctx, clients.Kubernetes, *c.namespace, cj, opts)
		if err != nil {
			return fail("%v", err)
		}
		r := diagnose.FromCronJob(s, failed, now, missedGrace)
		if err := c.write(r, stdout); err != nil {
			return fail("%v", err)
		}
		return r.Health.ExitCode()
	}
	ev, err := diagnose.Fetch(ctx, clients.Kubernetes, *c.namespace, name, opts)
	if err != nil {
		return fail("%v", err)
	}
	r := diagnose.FromSummary(ev.Summary, now, diagnose.Limits{RunTime: *c.runTime})
	r.AddEvents(ev.Summary, ev.Events)
	if ev.EventsErr != nil {
		r.EventsNote = ev.EventsErr.Error()
	}
	if *c.logs > 0 {
		r.Logs, err = diagnose.FetchLogs(ctx, clients.Kubernetes, *c.namespace, ev, *c.logs)
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
	if *c.output == "json" {
		return r.WriteJSON(w)
	}
	return r.WriteText(w)
}
