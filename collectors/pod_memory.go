package collectors

import (
	"sort"
	"strings"

	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/metricstore"
)

// PodMemoryFamily is the per-Job memory working set read from
// metrics.k8s.io by the podmetrics poller.
var PodMemoryFamily = metricstore.Family{
	Name: "kubejob_container_memory_working_set_bytes",
	Help: "Highest memory working set of a container among the Job's running pods, from metrics.k8s.io (metrics-server), in bytes; compare with kubejob_container_memory_limit_bytes. Only with --collector.pod-metrics.",
	Type: "gauge",
}

// PodMemory renders what the podmetrics poller reads.
type PodMemory struct {
	Store *metricstore.Store
	// MaxSeries caps the series per Job (Options.MaxContainerSeries), the
	// first containers by name; 0 means DefaultMaxContainerSeries.
	MaxSeries int
}

// NewPodMemory returns the per-Job memory working set family.
func NewPodMemory() *PodMemory {
	return &PodMemory{Store: metricstore.New([]metricstore.Family{PodMemoryFamily})}
}

// Replace renders usage (per "namespace/name" of a Job, per container,
// the highest working set in bytes) and drops every Job not in it: a poll
// replaces the previous one whole, and a failed one (nil) leaves nothing,
// as stale usage next to a limit would mislead.
func (m *PodMemory) Replace(usage map[string]map[string]int64) {
	for key, containers := range usage {
		ns, name, _ := strings.Cut(key, "/")
		w := m.Store.NewWriter("namespace", ns, "job_name", name)
		w.Family(0)
		names := make([]string, 0, len(containers))
		for c := range containers {
			names = append(names, c)
		}
		sort.Strings(names)
		if limit := (Options{MaxContainerSeries: m.MaxSeries}).maxContainerSeries(); len(names) > limit {
			job.CountCut(job.CutSeries, len(names)-limit)
			names = names[:limit]
		}
		for _, c := range names {
			w.Sample(float64(containers[c]), "container", c)
		}
		m.Store.Set(key, w.Rendered())
	}
	for _, key := range m.Store.Keys() {
		if _, ok := usage[key]; !ok {
			m.Store.Delete(key)
		}
	}
}
