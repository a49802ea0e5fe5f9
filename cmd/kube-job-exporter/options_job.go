package main

import (
	"fmt"
	"strconv"
	"time"

	kubeversion "k8s.io/apimachinery/pkg/version"

	"github.com/kube-job-exporter/kube-job-exporter/collectors"
	"github.com/kube-job-exporter/kube-job-exporter/exporter"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
)

// jobOptions are the settings of the Job model: how long a pod may take
// to start, and the Job controller's backoff. serve, diagnose and the
// kubectl plugin share them.
type jobOptions struct {
	podStartTimeout time.Duration
	backoffInitial  optionalDuration
	backoffMax      optionalDuration
}

func (o *jobOptions) register(s flagSet) {
	s.Flag("job.pod-start-timeout", "How long a pod may stay Pending in a normal start (ContainerCreating, PodInitializing, not yet scheduled) before kubejob_pods_waiting and diagnose count it as stuck.").
		Default(job.DefaultStartTimeout.String()).DurationVar(&o.podStartTimeout)
	// The Job controller's backoff depends on its version
	// (job.ControllerBackoff): an unset flag takes the value of the API
	// server's version, a flag set by hand always wins (a patched or
	// managed control plane may differ). The placeholder shows the value
	// of a version that is not known.
	s.Flag("job.backoff-initial", "The Job controller's first pod-failure backoff (DefaultJobPodFailureBackOff). Default: from the API server's version.").
		PlaceHolder(job.DefaultBackoff.Initial.String()).SetValue(&o.backoffInitial)
	s.Flag("job.backoff-max", "The Job controller's backoff cap (MaxJobPodFailureBackOff). Default: from the API server's version: 10m since Kubernetes v1.28, 6m before.").
		PlaceHolder(job.DefaultBackoff.Max.String()).SetValue(&o.backoffMax)
}

// validate checks what can be checked before the API server's version is
// known: the backoff against the defaults of an unknown version.
func (o *jobOptions) validate() error {
	if o.podStartTimeout < 0 {
		return fmt.Errorf("--job.pod-start-timeout must be >= 0, got %s", o.podStartTimeout)
	}
	return o.checkBackoff(job.DefaultBackoff)
}

// checkBackoff validates the backoff with the unset flags at defaults.
func (o *jobOptions) checkBackoff(defaults job.Backoff) error {
	bo := o.backoffWith(defaults)
	if bo.Initial <= 0 || bo.Max < bo.Initial {
		return fmt.Errorf("need 0 < --job.backoff-initial (%s) <= --job.backoff-max (%s)", bo.Initial, bo.Max)
	}
	return nil
}

// backoffWith is the backoff of the flags, unset ones from defaults.
func (o *jobOptions) backoffWith(defaults job.Backoff) job.Backoff {
	bo := defaults
	if o.backoffInitial.set {
		bo.Initial = o.backoffInitial.d
	}
	if o.backoffMax.set {
		bo.Max = o.backoffMax.d
	}
	return bo
}

// backoff is the backoff for the API server that answered.
func (o *jobOptions) backoff(server kubeversion.Info) (job.Backoff, error) {
	defaults := job.DefaultBackoff
	if minor, ok := kube.MinorVersion(server); ok {
		defaults = job.ControllerBackoff(minor)
	}
	if err := o.checkBackoff(defaults); err != nil {
		return job.Backoff{}, err
	}
	return o.backoffWith(defaults), nil
}

// backoffSource says where the backoff came from, for the start-up log.
func (o *jobOptions) backoffSource(server kubeversion.Info) string {
	switch _, known := kube.MinorVersion(server); {
	case o.backoffInitial.set && o.backoffMax.set:
		return "flags"
	case known:
		return "server version"
	}
	return "defaults (server version unknown)"
}

func (o *jobOptions) apply(cfg *exporter.Config) {
	cfg.StartTimeout = o.podStartTimeout
}

// options is the Job model's configuration for the API server that
// answered, judged at now.
func (o *jobOptions) options(server kubeversion.Info, now time.Time) (job.Options, error) {
	bo, err := o.backoff(server)
	return job.Options{Backoff: bo, StartTimeout: o.podStartTimeout, Now: now}, err
}

// optionalDuration is a duration flag that tells whether it was given:
// the old name of a renamed flag sets the same value, so the value itself
// must know.
type optionalDuration struct {
	d   time.Duration
	set bool
}

func (v *optionalDuration) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q", s)
	}
	v.d, v.set = d, true
	return nil
}

func (v *optionalDuration) String() string { return v.d.String() }

// boundsOptions bound what one Job may cost in memory and series, however
// many containers and indexes it brings: serve's.
type boundsOptions struct {
	maxContainers, maxContainerSeries, maxIndexSeries int
}

func (o *boundsOptions) register(s flagSet) {
	s.Flag("job.max-containers", "Most containers (init containers first) the exporter keeps of a Job's pod template, for kubejob_container_memory_limit_bytes and the diagnosis: a pod may have thousands; the others are counted in kubejob_exporter_tenant_values_cut_total{what=\"container\"}. At least 1.").
		Default(strconv.Itoa(job.DefaultMaxContainers)).IntVar(&o.maxContainers)
	s.Flag("job.max-container-series", "Most series per Job of each per-container family (kubejob_pod_failures, the most failures first; kubejob_container_memory_limit_bytes; kubejob_container_memory_working_set_bytes); the others are counted in kubejob_exporter_tenant_values_cut_total{what=\"series\"}. At least 1.").
		Default(strconv.Itoa(collectors.DefaultMaxContainerSeries)).IntVar(&o.maxContainerSeries)
	s.Flag("job.max-index-series", "Most kubejob_index_failures series per Job (worst indexes first): 1 or more (0 is refused: it would lift the bound).").
		Default("50").IntVar(&o.maxIndexSeries)
}

func (o *boundsOptions) validate() error {
	if o.maxIndexSeries < 1 {
		// 0 is what the collector takes for "no bound": an unbounded
		// series count per Job is what the flag exists to prevent.
		return fmt.Errorf("--job.max-index-series must be at least 1, got %d: 0 would lift the bound (to see every failing index, set it to the largest .spec.completions of your Indexed Jobs)", o.maxIndexSeries)
	}
	if o.maxContainers < 1 || o.maxContainerSeries < 1 {
		// 0 is what the record and the collectors take for "the default".
		return fmt.Errorf("--job.max-containers and --job.max-container-series must be at least 1, got %d and %d", o.maxContainers, o.maxContainerSeries)
	}
	return nil
}

func (o *boundsOptions) apply(cfg *exporter.Config) {
	cfg.Collectors = collectors.Options{MaxIndexSeries: o.maxIndexSeries, MaxContainers: o.maxContainers, MaxContainerSeries: o.maxContainerSeries}
}
