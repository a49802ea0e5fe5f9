package main

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/kube-job-exporter/kube-job-exporter/internal/memlimit"
)

// runtimeOptions tune the Go runtime to the container it runs in.
type runtimeOptions struct {
	memoryLimitRatio float64
}

func (o *runtimeOptions) register(s flagSet) {
	s.Flag("runtime.memory-limit-ratio", "Set the Go runtime's soft memory limit to this fraction of the container's cgroup memory limit, so the GC tightens before an OOM kill (go_gc_gomemlimit_bytes shows it). GOMEMLIMIT, when set, wins; 0 disables.").
		Default("0.9").Float64Var(&o.memoryLimitRatio)
}

func (o *runtimeOptions) validate() error {
	if err := memlimit.CheckRatio(o.memoryLimitRatio); err != nil {
		return fmt.Errorf("invalid --runtime.memory-limit-ratio: %w", err)
	}
	return nil
}

// apply sets the runtime's memory limit and GC target, and says so.
func (o *runtimeOptions) apply(logger *slog.Logger) {
	applyMemoryLimit(logger, o.memoryLimitRatio, os.DirFS("/sys/fs/cgroup"))
	applyGCPercent(logger)
}

// defaultGCPercent is the exporter's GOGC unless the environment sets one.
// Its live heap is small and grows only with the cluster (compact records
// of Jobs and pods, rendered series), while every watch event and scrape
// allocates garbage; with Go's default of 100 the heap grows to twice the
// live heap before each collection, and the process keeps those pages. At
// 2,500 Jobs / 10,000 pods (docs/scale.md, issue 17) 25 took the peak RSS
// from 60–62 to 50 MiB (steady from 47.5–47.8 to 44.8–45.5), the margin
// the ⅕-of-kube-state-metrics target needed (35 peaked at 51.6), for more
// CPU: a third to four fifths more in the initial list, a quarter to two
// thirds more per pod event (0.3 instead of 0.2 ms). GOGC=100 in the
// environment restores Go's default.
const defaultGCPercent = 25

// applyGCPercent sets the GC target to defaultGCPercent unless GOGC is
// set (the runtime has read it then).
func applyGCPercent(logger *slog.Logger) {
	if v, ok := os.LookupEnv("GOGC"); ok {
		logger.Debug("GC target from GOGC", "GOGC", v)
		return
	}
	debug.SetGCPercent(defaultGCPercent)
}

// applyMemoryLimit sets the runtime's memory limit from the container's
// (see internal/memlimit) and says what it did.
func applyMemoryLimit(logger *slog.Logger, ratio float64, cgroupFS fs.FS) {
	res, err := memlimit.Apply(ratio, cgroupFS)
	switch {
	case err != nil:
		logger.Warn("cannot read the container's memory limit; the Go runtime keeps no memory limit of its own (set GOMEMLIMIT)", "err", err)
	case res.Source == "GOMEMLIMIT":
		logger.Info("Go runtime memory limit from GOMEMLIMIT", "limit_bytes", res.Limit)
	case res.Cgroup > 0:
		logger.Info("Go runtime memory limit set from the container's", "limit_bytes", res.Limit, "container_limit_bytes", res.Cgroup, "ratio", ratio, "cgroup_file", res.Source)
	}
}
