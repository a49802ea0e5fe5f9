package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/exporter"
	"github.com/kube-job-exporter/kube-job-exporter/failing"
)

// evidenceOptions bound the last reports of deleted failed Jobs that the
// failing-now and runbook pages keep.
type evidenceOptions struct {
	keepFor time.Duration
	maxJobs int
}

func (o *evidenceOptions) register(s flagSet) {
	s.Flag("evidence.keep-for", "How long the last report of a deleted failed Job stays on the failing-now and runbook pages.").
		Default(failing.DefaultKeepDeletedFor.String()).DurationVar(&o.keepFor)
	s.Flag("evidence.max-jobs", "Most deleted failed Jobs whose last report is kept (the oldest deleted go first).").
		Default(strconv.Itoa(failing.DefaultKeepDeleted)).IntVar(&o.maxJobs)
}

func (o *evidenceOptions) validate() error {
	if o.keepFor <= 0 || o.maxJobs < 1 {
		return fmt.Errorf("--evidence.keep-for must be > 0 and --evidence.max-jobs at least 1, got %s and %d", o.keepFor, o.maxJobs)
	}
	return nil
}

func (o *evidenceOptions) apply(cfg *exporter.Config) {
	cfg.KeepDeletedFor, cfg.KeepDeleted = o.keepFor, o.maxJobs
}
