package main

import (
	"fmt"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
	"github.com/kube-job-exporter/kube-job-exporter/exporter"
)

// cronJobOptions are the settings of the CronJob model: serve, diagnose
// and the kubectl plugin share them.
type cronJobOptions struct {
	missedGrace time.Duration
}

func (o *cronJobOptions) register(s flagSet) {
	s.Flag("cronjob.missed-grace", "How late a CronJob's run may start before the runbook pages and diagnose cronjob/NAME call it missed (the mixin's cronJobMissedScheduleGraceSeconds).").
		Default(diagnose.DefaultMissedGrace.String()).DurationVar(&o.missedGrace)
}

func (o *cronJobOptions) validate() error {
	if o.missedGrace < 0 {
		return fmt.Errorf("--cronjob.missed-grace must be >= 0, got %s", o.missedGrace)
	}
	return nil
}

func (o *cronJobOptions) apply(cfg *exporter.Config) {
	cfg.MissedGrace = o.missedGrace
}
