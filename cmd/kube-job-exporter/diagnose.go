package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
)

type diagnoseCommand struct {
	namespace *string
	output    *string
	job       *string
	timeout   *time.Duration
}

func addDiagnoseCommand(app *kingpin.Application) *diagnoseCommand {
	c := app.Command("diagnose", "Explain why a Job fails, from the Job and its pods, and what to do next. Exit status: 0 healthy, 2 failing, 3 failed, 1 error.")
	return &diagnoseCommand{
		namespace: c.Flag("namespace", "Namespace of the Job.").Short('n').Default("default").String(),
		output:    c.Flag("output", "Output format: text or json.").Short('o').Default("text").Enum("text", "json"),
		timeout:   c.Flag("timeout", "How long to wait for the API server.").Default("15s").Duration(),
		job:       c.Arg("job", "Name of the Job.").Required().String(),
	}
}

func (c *diagnoseCommand) run(kubeconfig, kubeContext string, backoff job.Backoff, stdout, stderr io.Writer) int {
	clients, err := kube.NewClients(kubeconfig, kubeContext)
	if err != nil {
		fmt.Fprintf(stderr, "kube-job-exporter diagnose: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), *c.timeout)
	defer cancel()
	s, err := diagnose.Fetch(ctx, clients.Kubernetes, *c.namespace, *c.job, job.Options{Backoff: backoff})
	if err != nil {
		fmt.Fprintf(stderr, "kube-job-exporter diagnose: %v\n", err)
		return 1
	}
	r := diagnose.FromSummary(s, time.Now())
	if *c.output == "json" {
		err = r.WriteJSON(stdout)
	} else {
		err = r.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "kube-job-exporter diagnose: %v\n", err)
		return 1
	}
	return r.Health.ExitCode()
}
