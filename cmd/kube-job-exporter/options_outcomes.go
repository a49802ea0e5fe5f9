package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kube-job-exporter/kube-job-exporter/collectors"
	"github.com/kube-job-exporter/kube-job-exporter/exporter"
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// outcomesOptions say how Jobs' outcomes are counted per owner
// (kubejob_owner_*) and for how many owners, how long.
type outcomesOptions struct {
	ownerLabel string
	retention  time.Duration
	maxOwners  int
	// extendedResources is the flag's comma-separated list.
	extendedResources string
}

func (o *outcomesOptions) register(s flagSet) {
	s.Flag("outcomes.owner-label", "Count the outcomes of standalone Jobs (kubejob_owner_*) under the value of this Job label, e.g. app.kubernetes.io/name; Jobs without it count under their generateName, else their name. A CronJob's runs always count under the CronJob.").
		Default("").StringVar(&o.ownerLabel)
	s.Flag("outcomes.retention", "How long an owner's kubejob_owner_* series stay after its last Job went and its last outcome: longer than the owner's longest gap between runs, or its counters restart at each run.").
		Default(collectors.DefaultOutcomeRetention.String()).DurationVar(&o.retention)
	s.Flag("outcomes.max-owners", "Most owners with kubejob_owner_* series: a new owner takes the place of the one idle the longest without a Job; when every owner has a Job, further outcomes are counted only in kubejob_exporter_outcomes_dropped_total.").
		Default(strconv.Itoa(collectors.DefaultMaxOwners)).IntVar(&o.maxOwners)
	s.Flag("outcomes.extended-resources", "Extended resources (comma-separated, e.g. nvidia.com/gpu) whose resource-time held by finished pods kubejob_attempt_resource_seconds_total counts besides cpu and memory, at most "+strconv.Itoa(job.MaxExtendedResources)+"; any other resource a pod requests is not counted. Empty: none.").
		Default(job.DefaultExtendedResources).StringVar(&o.extendedResources)
}

func (o *outcomesOptions) validate() error {
	if l := o.ownerLabel; l != "" {
		if errs := validation.IsQualifiedName(l); len(errs) > 0 {
			return fmt.Errorf("--outcomes.owner-label %q is not a label key: %s", l, strings.Join(errs, "; "))
		}
	}
	if o.retention <= 0 {
		return fmt.Errorf("--outcomes.retention must be > 0, got %s", o.retention)
	}
	if o.maxOwners < 1 {
		return fmt.Errorf("--outcomes.max-owners must be at least 1, got %d", o.maxOwners)
	}
	if _, err := job.ParseExtendedResources(o.extendedResources); err != nil {
		return fmt.Errorf("--outcomes.extended-resources: %w", err)
	}
	return nil
}

func (o *outcomesOptions) apply(cfg *exporter.Config) {
	cfg.OwnerLabel, cfg.OutcomeRetention, cfg.MaxOwners = o.ownerLabel, o.retention, o.maxOwners
	cfg.ExtendedResources, _ = job.ParseExtendedResources(o.extendedResources) // validate refused an error
}
