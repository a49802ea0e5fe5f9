package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/alecthomas/kingpin/v2"

	"github.com/kube-job-exporter/kube-job-exporter/watcher"
)

// The options layer: one file per subsystem (options_*.go), each with a
// struct of its settings, register (the flags, their defaults taken from
// the package's Default* constants), validate (an error naming the flag)
// and a conversion into the package's configuration. A command is the
// options it registers: serve (serve.go) registers them all, diagnose and
// the kubectl plugin (diagnose.go, plugin.go) the ones they share.
//
// Every flag follows one scheme, <subsystem>.<setting>: kube.* (the API
// connection), watch.* (what is watched), job.* (the Job model and its
// bounds), cronjob.*, outcomes.*, evidence.*, collector.*, web.*,
// runtime.*, log.* (as promslog defines them). diagnose's own flags
// (-n, -o, --logs, --timeout, --run-time-limit, --queue-wait-limit) and the kubectl plugin's
// --kubeconfig and --context are a terminal user's, named as kubectl names
// its own.

// flagSet is where options register their flags: a command of the
// exporter, or the application of the kubectl plugin.
type flagSet interface {
	Flag(name, help string) *kingpin.FlagClause
	Arg(name, help string) *kingpin.ArgClause
	GetFlag(name string) *kingpin.FlagClause
}

// rename is a flag renamed into the scheme, with the name it had before.
type rename struct{ old, new string }

// renamed are the flags that had another name until v0.1: each old name
// stays, for one release, a hidden flag setting the same value that warns
// once, at start, naming the new one.
var renamed = []rename{
	{"kubeconfig", "kube.config"},
	{"namespaces", "watch.namespaces"},
	{"namespaces-exclude", "watch.namespaces-exclude"},
	{"job.selector", "watch.job-selector"},
	{"shard", "watch.shard"},
	{"total-shards", "watch.total-shards"},
	{"pods.start-timeout", "job.pod-start-timeout"},
	{"backoff.initial", "job.backoff-initial"},
	{"backoff.max", "job.backoff-max"},
	{"indexes.max-per-job", "job.max-index-series"},
}

// deprecations are the old flag names given on a command line.
type deprecations struct {
	used []rename
}

// addOldNames defines on s, for each renamed flag s has, its old name: a
// hidden flag sharing the new one's value (so a default, set first, is
// overwritten by either) that records its use in d.
func (d *deprecations) addOldNames(s flagSet) {
	for _, r := range renamed {
		current := s.GetFlag(r.new)
		if current == nil {
			continue
		}
		s.Flag(r.old, "Deprecated: use --"+r.new+".").Hidden().
			Action(func(*kingpin.ParseContext) error {
				if !slices.Contains(d.used, r) {
					d.used = append(d.used, r)
				}
				return nil
			}).
			SetValue(current.Model().Value)
	}
}

// log warns once for each old name used.
func (d *deprecations) log(logger *slog.Logger) {
	for _, r := range d.used {
		logger.Warn("deprecated flag: it will be removed in the next release", "flag", "--"+r.old, "use", "--"+r.new)
	}
}

// print warns once for each old name used, for a command without a logger.
func (d *deprecations) print(prog string, w io.Writer) {
	for _, r := range d.used {
		fmt.Fprintf(w, "%s: --%s is deprecated and will be removed in the next release: use --%s\n", prog, r.old, r.new)
	}
}

// fieldFlags names the flag that sets each field of a package's
// configuration, so that a package's error about its fields (a
// *watcher.FieldError) reads in flags.
type fieldFlags map[string]string

// explain says err in flag names when it is about fields of fs.
func (fs fieldFlags) explain(err error) error {
	var fe *watcher.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	names := make([]string, len(fe.Fields))
	for i, f := range fe.Fields {
		if flag, ok := fs[f]; ok {
			names[i] = "--" + flag
		} else {
			names[i] = f
		}
	}
	return fmt.Errorf("%s: %s", strings.Join(names, " and "), fe.Reason)
}
