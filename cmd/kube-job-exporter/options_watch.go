package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/kube-job-exporter/kube-job-exporter/exporter"
	"github.com/kube-job-exporter/kube-job-exporter/watcher"
)

// watchOptions say what the exporter watches: which namespaces and Jobs,
// which of the optional resources, and its shard of them.
type watchOptions struct {
	namespaces, excludeNamespaces, jobSelector string
	cronJobs, events                           bool
	shard                                      string // a number or "auto"
	totalShards                                int
}

// watchFlags names the flag of each watcher.Config field watchOptions set.
var watchFlags = fieldFlags{
	"Namespaces":        "watch.namespaces",
	"ExcludeNamespaces": "watch.namespaces-exclude",
	"JobSelector":       "watch.job-selector",
	"Events":            "watch.events",
	"CronJobs":          "watch.cronjobs",
	"Shard.Index":       "watch.shard",
	"Shard.Total":       "watch.total-shards",
}

func (o *watchOptions) register(s flagSet) {
	s.Flag(watchFlags["Namespaces"], "Comma-separated namespaces to watch (default: all).").StringVar(&o.namespaces)
	s.Flag(watchFlags["ExcludeNamespaces"], "Comma-separated namespaces to leave out when watching all.").StringVar(&o.excludeNamespaces)
	s.Flag(watchFlags["JobSelector"], "Label selector limiting the Jobs watched, e.g. team=data.").StringVar(&o.jobSelector)
	s.Flag(watchFlags["CronJobs"], "Watch the CronJob objects: schedules, next and missed runs, the controller's last success, and which CronJobs exist (a CronJob's series go with it). Needs list/watch on cronjobs; without it the CronJob series come from the runs alone.").
		Default("true").BoolVar(&o.cronJobs)
	s.Flag(watchFlags["Events"], "Watch the Job controller's FailedCreate Warning events (pods the API server refuses to create: quota, Pod Security, admission, ServiceAccount, LimitRange) into kubejob_pod_create_failure_timestamp_seconds. Needs list/watch on events.").
		Default("true").BoolVar(&o.events)
	s.Flag(watchFlags["Shard.Index"], "This replica's shard of the Jobs, 0-based; 'auto' takes the ordinal from a StatefulSet pod name ($HOSTNAME ending in -N).").
		Default("0").StringVar(&o.shard)
	s.Flag(watchFlags["Shard.Total"], "Replicas the Jobs are split across by hash of namespace/name; 1 reports every Job.").
		Default("1").IntVar(&o.totalShards)
}

// config is the watcher's selection.
func (o *watchOptions) config() (watcher.Config, error) {
	// A StatefulSet names its pods, and so their hostnames, with their
	// ordinal: --watch.shard=auto reads it there.
	index, err := parseShard(o.shard, os.Getenv("HOSTNAME"))
	if err != nil {
		return watcher.Config{}, err
	}
	return watcher.Config{
		Namespaces:        splitList(o.namespaces),
		ExcludeNamespaces: splitList(o.excludeNamespaces),
		JobSelector:       o.jobSelector,
		Events:            o.events,
		CronJobs:          o.cronJobs,
		Shard:             watcher.Shard{Index: index, Total: o.totalShards},
	}, nil
}

// validate checks the selection as the watcher will, in flag names.
func (o *watchOptions) validate() error {
	cfg, err := o.config()
	if err != nil {
		return err
	}
	return watchFlags.explain(cfg.Validate())
}

func (o *watchOptions) apply(cfg *exporter.Config) error {
	w, err := o.config()
	if err != nil {
		return err
	}
	cfg.Namespaces, cfg.ExcludeNamespaces, cfg.JobSelector = w.Namespaces, w.ExcludeNamespaces, w.JobSelector
	cfg.Events, cfg.CronJobs, cfg.Shard = w.Events, w.CronJobs, w.Shard
	return nil
}

// parseShard reads --watch.shard: a number, or "auto" for the ordinal at
// the end of a StatefulSet pod's hostname (kube-job-exporter-2 → 2).
func parseShard(flag, hostname string) (int, error) {
	if flag == "auto" {
		i := strings.LastIndexByte(hostname, '-')
		n, err := strconv.Atoi(hostname[i+1:])
		if i < 0 || err != nil || n < 0 {
			return 0, fmt.Errorf("--%s=auto needs a StatefulSet pod name ending in -<ordinal> in $HOSTNAME, got %q", watchFlags["Shard.Index"], hostname)
		}
		return n, nil
	}
	n, err := strconv.Atoi(flag)
	if err != nil {
		return 0, fmt.Errorf("--%s: %q is neither a number nor 'auto'", watchFlags["Shard.Index"], flag)
	}
	return n, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
