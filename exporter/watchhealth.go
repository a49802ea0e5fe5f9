package exporter

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/watcher"
)

// WatchHealth is the state of the watches as the watcher reports it (it
// implements watcher.Recorder): whether each resource's list and watch
// work, whether its informers synced, what RBAC denies. /readyz asks it
// (Ready, ReadyBrief); it keeps the watch series of SelfMetrics in step and
// logs each outage once.
type WatchHealth struct {
	logger  *slog.Logger
	metrics *SelfMetrics
	// required are the resources /readyz waits for.
	required []string

	mu     sync.Mutex
	up     map[string]bool            // resource → last list/watch succeeded
	synced map[string]bool            // resource → informers synced
	errs   map[string]string          // resource → last error, while down
	briefs map[string]string          // resource → "verb resource: reason" of errs, without the server's text
	logged map[string]map[string]bool // resource → "verb reason" logged during this outage
	denied map[string][]string        // resource → permissions RBAC denies now
	// kueue is the last KueueAPI report ("" for not found), nil before
	// the first.
	kueue *string
}

// RequiredResources are the resources without which the exporter's numbers
// would be wrong: /readyz fails while they are not synced, denied or not
// watched. Events only add the cause of pods that cannot be created; their
// trouble shows in kubejob_exporter_watch_up and the log, not in /readyz.
var RequiredResources = []string{watcher.ResourceJobs, watcher.ResourcePods}

// NewWatchHealth starts with every watched resource up and not synced.
func NewWatchHealth(logger *slog.Logger, resources []string, metrics *SelfMetrics) *WatchHealth {
	h := &WatchHealth{
		logger: logger, metrics: metrics, required: RequiredResources,
		up: map[string]bool{}, synced: map[string]bool{}, errs: map[string]string{},
		briefs: map[string]string{}, logged: map[string]map[string]bool{}, denied: map[string][]string{},
	}
	for _, r := range resources {
		h.up[r] = true
	}
	return h
}

// ListWatchResult implements watcher.Recorder. Each distinct failure (verb
// and reason) of a required resource is logged once per outage, naming the
// verb, the resource and why, and the recovery once; retries are not logged
// again. An optional resource's trouble is one warning per outage, whatever
// the verb, saying what the exporter does without it.
func (h *WatchHealth) ListWatchResult(resource, verb string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		if !h.up[resource] {
			h.logger.Info("list/watch recovered", "resource", resource, "verb", verb)
		}
		h.up[resource] = true
		delete(h.errs, resource)
		delete(h.briefs, resource)
		delete(h.logged, resource)
		if len(h.denied[resource]) == 0 {
			h.metrics.watchUp.WithLabelValues(resource).Set(1)
		}
		return
	}
	reason := watcher.ClassifyError(err)
	h.metrics.watchErrors.WithLabelValues(resource, reason).Inc()
	if reason == watcher.ErrExpired {
		// A watch that expired is re-listed by the informer: normal.
		h.logger.Debug("watch expired, re-listing", "resource", resource, "err", err)
		return
	}
	switch {
	case h.optional(resource):
		if h.logOnce(resource, "optional") {
			msg := fmt.Sprintf("cannot %s %s: %s", verb, resource, reason)
			if reason == watcher.ErrForbidden {
				msg += "; " + optionalHint[resource]
			}
			h.logger.Warn(msg, "resource", resource, "verb", verb, "reason", reason, "err", err)
		}
	case h.logOnce(resource, verb+" "+reason):
		h.logger.Error(fmt.Sprintf("cannot %s %s: %s", verb, resource, reason), "resource", resource, "verb", verb, "reason", reason, "err", err)
	}
	h.up[resource] = false
	h.errs[resource] = fmt.Sprintf("%s %s: %s: %v", verb, resource, reason, err)
	h.briefs[resource] = fmt.Sprintf("%s %s: %s", verb, resource, reason)
	h.metrics.watchUp.WithLabelValues(resource).Set(0)
}

// optionalHint says, per optional resource, what the exporter does
// without it and how to stop asking.
var optionalHint = map[string]string{
	watcher.ResourceEvents:      "serving everything else; a Job whose pods the API server refuses shows as kubejob_without_pods but without its cause (grant list and watch on events, or pass --no-watch.events)",
	watcher.ResourceCronJobs:    "serving everything else; the kubejob_cronjob_* series come from the CronJobs' runs alone, without schedules, so KubeCronJobMissedSchedule, KubeCronJobNotSucceeding and KubeCronJobRunsOverlap cannot fire (grant list and watch on cronjobs, or pass --no-watch.cronjobs)",
	watcher.ResourceWorkloads:   kueueHint,
	watcher.ResourceLocalQueues: kueueHint,
}

const kueueHint = "serving everything else; no Job has kubejob_queue_* series, so KubeJobWaitingForAdmission and KubeJobAdmittedNotStarted cannot fire (grant list and watch on workloads and localqueues in kueue.x-k8s.io, or drop --collector.kueue)"

// KueueAPI implements watcher.Recorder: kubejob_exporter_kueue_api, and a
// log line when what discovery finds changes.
func (h *WatchHealth) KueueAPI(version string, found bool) {
	if !found {
		version = ""
	}
	h.mu.Lock()
	changed := h.kueue == nil || *h.kueue != version
	h.kueue = &version
	h.mu.Unlock()
	h.metrics.setKueueAPI(version, found)
	switch {
	case !changed:
	case found:
		h.logger.Info("Kueue's API found", "version", version)
	default:
		h.logger.Info("Kueue's API is not served: no Job has a queue state; looking for it again every " + watcher.DefaultKueueDiscoveryInterval.String())
	}
}

func (h *WatchHealth) optional(resource string) bool { return !slices.Contains(h.required, resource) }

// logOnce reports whether what has not been logged for resource during
// this outage, and marks it logged. Callers hold h.mu.
func (h *WatchHealth) logOnce(resource, what string) bool {
	if h.logged[resource] == nil {
		h.logged[resource] = map[string]bool{}
	}
	if h.logged[resource][what] {
		return false
	}
	h.logged[resource][what] = true
	return true
}

// Permissions implements watcher.Recorder: a denial marks the watch down
// (an open watch keeps streaming after its RoleBinding is gone, so the
// watch itself would not say so for minutes), counts a forbidden error and
// is logged once; when everything is allowed again the watch's own state
// decides.
func (h *WatchHealth) Permissions(resource string, denied []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	was := strings.Join(h.denied[resource], "; ")
	now := strings.Join(denied, "; ")
	switch {
	case now == was:
		return
	case now != "":
		h.denied[resource] = denied
		h.metrics.watchErrors.WithLabelValues(resource, watcher.ErrForbidden).Inc()
		h.metrics.watchUp.WithLabelValues(resource).Set(0)
		switch {
		case h.optional(resource):
			if h.logOnce(resource, "optional") {
				h.logger.Warn("RBAC denies the exporter: cannot "+now+"; "+optionalHint[resource], "resource", resource, "reason", watcher.ErrForbidden)
			}
		default:
			h.logger.Error("RBAC denies the exporter: cannot "+now, "resource", resource, "reason", watcher.ErrForbidden)
		}
	default:
		delete(h.denied, resource)
		h.logger.Info("RBAC allows the exporter again", "resource", resource)
		if h.up[resource] {
			h.metrics.watchUp.WithLabelValues(resource).Set(1)
		}
	}
}

// Synced implements watcher.Recorder.
func (h *WatchHealth) Synced(resource string, synced bool) {
	h.mu.Lock()
	h.synced[resource] = synced
	h.mu.Unlock()
	h.metrics.watchSynced.WithLabelValues(resource).Set(boolFloat(synced))
}

// EventProcessed implements watcher.Recorder.
func (h *WatchHealth) EventProcessed(d time.Duration) { h.metrics.eventDelay.Observe(d.Seconds()) }

// Ready returns nil once every required resource has synced and is being
// watched successfully, else why not. A failing watch makes the exporter
// unready: it would otherwise serve stale numbers that look healthy.
func (h *WatchHealth) Ready() error { return h.ready(false) }

// ReadyBrief is Ready naming only what is not ready and why, in the
// exporter's own words (the resource, the denied permissions, the class of
// error): for a listener without authentication, which must not hand the
// API server's error text to whoever asks.
func (h *WatchHealth) ReadyBrief() error { return h.ready(true) }

func (h *WatchHealth) ready(brief bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var problems []string
	for _, r := range h.required {
		if d := h.denied[r]; len(d) > 0 {
			problems = append(problems, "forbidden, RBAC denies: "+strings.Join(d, "; "))
		}
		if e, down := h.errs[r]; down {
			if brief {
				e = h.briefs[r]
			}
			problems = append(problems, "watch failing: "+e)
		}
	}
	for _, r := range h.required {
		if !h.synced[r] && len(problems) == 0 {
			problems = append(problems, r+" not synced yet")
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}
