// Package memlimit gives the Go runtime a soft memory limit below the
// container's, so the garbage collector works harder before the kernel
// OOM-kills the process, as GOMEMLIMIT would, without the operator having
// to compute it.
//
// Why not GOMEMLIMIT from the downward API (resourceFieldRef
// limits.memory): it can only pass the whole limit, and the cgroup also
// counts what the Go runtime does not manage (the binary's pages, about
// 40 MiB here). A ratio of the limit leaves that room.
package memlimit

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// The cgroup files that hold the memory limit, relative to the cgroup
// filesystem's mount point: cgroup v2 first, then v1. Inside a container
// both show the container's own cgroup.
var limitFiles = []string{"memory.max", "memory/memory.limit_in_bytes"}

// unlimitedV1 is where cgroup v1 reports "no limit" (page-rounded
// MaxInt64); anything at or above it means none.
const unlimitedV1 = math.MaxInt64 &^ (1<<12 - 1)

// Result says what Apply did.
type Result struct {
	Limit  int64  // the runtime's memory limit in bytes after Apply; math.MaxInt64 when none
	Source string // "GOMEMLIMIT", the cgroup file read, or "" when none applied
	Cgroup int64  // the container's limit, 0 when none was found
}

// Apply sets the runtime's memory limit to ratio × the cgroup's memory
// limit read from cgroupFS (os.DirFS("/sys/fs/cgroup") in production).
// It leaves the runtime alone when GOMEMLIMIT is set (the operator's word
// wins), when ratio is 0, and when no limit is found (no cgroup, or an
// unlimited one). A cgroup file it cannot parse is an error, and the
// runtime is left alone.
func Apply(ratio float64, cgroupFS fs.FS) (Result, error) {
	current := debug.SetMemoryLimit(-1)
	if err := CheckRatio(ratio); err != nil {
		return Result{Limit: current}, err
	}
	if _, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		return Result{Limit: current, Source: "GOMEMLIMIT"}, nil
	}
	if ratio == 0 {
		return Result{Limit: current}, nil
	}
	limit, file, err := cgroupLimit(cgroupFS)
	if err != nil || limit == 0 {
		return Result{Limit: current}, err
	}
	set := int64(float64(limit) * ratio)
	debug.SetMemoryLimit(set)
	return Result{Limit: set, Source: file, Cgroup: limit}, nil
}

// CheckRatio accepts 0 (off) to 1 (the whole container limit).
func CheckRatio(ratio float64) error {
	if ratio < 0 || ratio > 1 || math.IsNaN(ratio) {
		return fmt.Errorf("memory limit ratio must be between 0 (off) and 1, got %v", ratio)
	}
	return nil
}

// cgroupLimit returns the memory limit in bytes and the file it came from;
// 0 when there is none.
func cgroupLimit(fsys fs.FS) (int64, string, error) {
	for _, name := range limitFiles {
		b, err := fs.ReadFile(fsys, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, name, fmt.Errorf("read cgroup memory limit: %w", err)
		}
		v := strings.TrimSpace(string(b))
		if v == "max" {
			return 0, name, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return 0, name, fmt.Errorf("cgroup memory limit in %s: %q is not a byte count", name, v)
		}
		if n >= unlimitedV1 {
			return 0, name, nil
		}
		return n, name, nil
	}
	return 0, "", nil
}
