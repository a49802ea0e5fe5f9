package main

import (
	"bytes"
	"io"
	"maps"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kingpin/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/kube-job-exporter/kube-job-exporter/exporter"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/watcher"
)

// parseServe parses args as the exporter's command line and returns serve
// and the configuration it makes.
func parseServe(t *testing.T, args ...string) (*serveCommand, exporter.Config) {
	t.Helper()
	app, serve, _ := newApp()
	command, err := app.Parse(args)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	if command != "serve" {
		t.Fatalf("%v: command %q, want serve", args, command)
	}
	cfg, err := serve.config(nil)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return serve, cfg
}

// flagNames are the visible (or, with hidden, the hidden) flags of a
// command, or of the whole application when command is "".
func flagNames(app *kingpin.Application, command string, hidden bool) []string {
	flags := app.Model().Flags
	for _, c := range app.Model().Commands {
		if c.Name == command {
			flags = c.Flags
		}
	}
	var names []string
	for _, f := range flags {
		if f.Hidden == hidden && f.Name != "help" && f.Name != "version" {
			names = append(names, f.Name)
		}
	}
	slices.Sort(names)
	return names
}

// TestServeFlags: every flag of serve reaches what it configures, under
// its name and, for a renamed flag, under its old name, with or without
// the command named.
func TestServeFlags(t *testing.T) {
	type check func(c *serveCommand, cfg exporter.Config) bool
	tests := []struct {
		flag, old, value string // old: the name until v0.1
		ok               check
	}{
		{"kube.config", "kubeconfig", "/k", func(c *serveCommand, _ exporter.Config) bool { return c.kube.config == "/k" }},
		{"kube.context", "", "prod", func(c *serveCommand, _ exporter.Config) bool { return c.kube.context == "prod" }},
		{"kube.connect-timeout", "", "3s", func(_ *serveCommand, cfg exporter.Config) bool { return cfg.ConnectTimeout == 3*time.Second }},
		{"kube.permission-check-interval", "", "2m", func(_ *serveCommand, cfg exporter.Config) bool {
			return cfg.PermissionCheckInterval == 2*time.Minute
		}},
		{"watch.namespaces", "namespaces", "a,b", func(_ *serveCommand, cfg exporter.Config) bool {
			return slices.Equal(cfg.Namespaces, []string{"a", "b"})
		}},
		{"watch.namespaces-exclude", "namespaces-exclude", "x, y", func(_ *serveCommand, cfg exporter.Config) bool {
			return slices.Equal(cfg.ExcludeNamespaces, []string{"x", "y"})
		}},
		{"watch.job-selector", "job.selector", "team=a", func(_ *serveCommand, cfg exporter.Config) bool { return cfg.JobSelector == "team=a" }},
		{"watch.cronjobs", "", "false", func(_ *serveCommand, cfg exporter.Config) bool { return !cfg.CronJobs && cfg.Events }},
		{"watch.events", "", "false", func(_ *serveCommand, cfg exporter.Config) bool { return !cfg.Events && cfg.CronJobs }},
		{"watch.shard", "shard", "1", func(_ *serveCommand, cfg exporter.Config) bool { return cfg.Shard == watcher.Shard{Index: 1, Total: 1} }},
		{"watch.total-shards", "total-shards", "3", func(_ *serveCommand, cfg exporter.Config) bool { return cfg.Shard == watcher.Shard{Total: 3} }},
		{"job.pod-start-timeout", "pods.start-timeout", "7m", func(_ *serveCommand, cfg exporter.Config) bool { return cfg.StartTimeout == 7*time.Minute }},
		{"job.backoff-initial", "backoff.initial", "3s", func(c *serveCommand, _ exporter.Config) bool {
			return c.job.backoffWith(job.DefaultBackoff) == job.Backoff{Initial: 3 * time.Second, Max: job.DefaultBackoff.Max}
		}},
		{"job.backoff-max", "backoff.max", "4m", func(c *serveCommand, _ exporter.Config) bool {
			return c.job.backoffWith(job.DefaultBackoff) == job.Backoff{Initial: job.DefaultBackoff.Initial, Max: 4 * time.Minute}
		}},
		{"job.max-containers", "", "5", func(_ *serveCommand, cfg exporter.Config) bool { return cfg.Collectors.MaxContainers == 5 }},
		{"job.max-container-series", "", "6", func(_ *serveCommand, cfg exporter.Config) bool { return cfg.Collectors.MaxContainerSeries == 6 }},
		{"job.max-index-series", "indexes.max-per-job", "7", func(_ *serveCommand, cfg exporter.Config) bool { return cfg.Collectors.MaxIndexSeries == 7 }},
		{"cronjob.missed-grace", "", "9m", func(_ *serveCommand, cfg exporter.Config) bool { return cfg.MissedGrace == 9*time.Minute }},
		{"outcomes.owner-label", "", "app", func(_ *serveCommand, cfg exporter.Config) bool { return cfg.OwnerLabel == "app" }},
		{"outcomes.retention", "", "2h", func(_ *serveCommand, cfg exporter.Config) bool { return cfg.OutcomeRetention == 2*time.Hour }},
		{"outcomes.max-owners", "", "12", func(_ *serveCommand, cfg exporter.Config) bool { return cfg.MaxOwners == 12 }},
		{"outcomes.extended-resources", "", "example.com/fpga, nvidia.com/gpu", func(_ *serveCommand, cfg exporter.Config) bool {
			return slices.Equal(cfg.ExtendedResources, []corev1.ResourceName{"example.com/fpga", "nvidia.com/gpu"})
		}},
		{"evidence.keep-for", "", "3h", func(_ *serveCommand, cfg exporter.Config) bool { return cfg.KeepDeletedFor == 3*time.Hour }},
		{"evidence.max-jobs", "", "9", func(_ *serveCommand, cfg exporter.Config) bool { return cfg.KeepDeleted == 9 }},
		{"collector.pod-metrics", "", "true", func(c *serveCommand, _ exporter.Config) bool { return c.collector.podMetrics }},
		{"collector.pod-metrics.interval", "", "1m", func(c *serveCommand, _ exporter.Config) bool { return c.collector.podMetricsInterval == time.Minute }},
		{"collector.kueue", "", "true", func(_ *serveCommand, cfg exporter.Config) bool { return cfg.Kueue && cfg.WatchConfig().Kueue }},
		{"collector.kueue.discovery-interval", "", "5s", func(_ *serveCommand, cfg exporter.Config) bool {
			return cfg.WatchConfig().KueueDiscoveryInterval == 5*time.Second
		}},
		{"web.listen-address", "", ":1", func(c *serveCommand, _ exporter.Config) bool {
			return slices.Equal(*c.web.toolkit.WebListenAddresses, []string{":1"})
		}},
		{"web.config.file", "", "/w.yml", func(c *serveCommand, _ exporter.Config) bool { return *c.web.toolkit.WebConfigFile == "/w.yml" }},
		{"web.systemd-socket", "", "true", func(c *serveCommand, _ exporter.Config) bool { return *c.web.toolkit.WebSystemdSocket }},
		{"web.telemetry-path", "", "/m", func(_ *serveCommand, cfg exporter.Config) bool { return cfg.TelemetryPath == "/m" }},
		{"web.max-requests", "", "3", func(_ *serveCommand, cfg exporter.Config) bool { return cfg.MaxRequests == 3 }},
		{"web.max-page-requests", "", "5", func(_ *serveCommand, cfg exporter.Config) bool { return cfg.MaxPageRequests == 5 }},
		{"web.write-progress-timeout", "", "1s", func(c *serveCommand, _ exporter.Config) bool { return c.web.writeProgress == time.Second }},
		{"web.enable-pprof", "", "true", func(_ *serveCommand, cfg exporter.Config) bool { return cfg.Pprof }},
		{"web.health-listen-address", "", ":2", func(c *serveCommand, _ exporter.Config) bool { return c.web.healthListen == ":2" }},
		{"runtime.memory-limit-ratio", "", "0.5", func(c *serveCommand, _ exporter.Config) bool { return c.runtime.memoryLimitRatio == 0.5 }},
		{"log.level", "", "debug", func(c *serveCommand, _ exporter.Config) bool { return c.log.Level.String() == "debug" }},
		{"log.format", "", "json", func(c *serveCommand, _ exporter.Config) bool { return c.log.Format.String() == "json" }},
	}
	tested := map[string]bool{}
	var olds []rename
	for _, tt := range tests {
		if tt.flag == "web.systemd-socket" && runtime.GOOS != "linux" {
			continue // the exporter toolkit defines it on Linux only
		}
		tested[tt.flag] = true
		names := []string{tt.flag}
		if tt.old != "" {
			names = append(names, tt.old)
			olds = append(olds, rename{tt.old, tt.flag})
		}
		for _, name := range names {
			given := [][]string{{"--" + name + "=" + tt.value}, {"serve", "--" + name, tt.value}}
			switch tt.value { // a boolean flag takes no value
			case "true":
				given = [][]string{{"--" + name}, {"serve", "--" + name}}
			case "false":
				given = [][]string{{"--no-" + name}, {"serve", "--no-" + name}}
			}
			for _, args := range given {
				if c, cfg := parseServe(t, args...); !tt.ok(c, cfg) {
					t.Errorf("%v: not what --%s=%s asks for", args, tt.flag, tt.value)
				}
			}
		}
		// Unset, it is not what it is set to here: the check can fail.
		if c, cfg := parseServe(t); tt.ok(c, cfg) {
			t.Errorf("--%s: the check passes without the flag", tt.flag)
		}
	}
	app, _, _ := newApp()
	if untested := slices.DeleteFunc(flagNames(app, "serve", false), func(n string) bool { return tested[n] }); len(untested) > 0 {
		t.Errorf("serve flags without a case here: %v", untested)
	}
	// The old names are the ones above, hidden.
	if hidden := flagNames(app, "serve", true); len(hidden) != len(olds) || len(renamed) != len(olds) {
		t.Errorf("serve's hidden flags %v, renamed %v; want the %d old names above", hidden, renamed, len(olds))
	}
}

// TestExtendedResourcesFlag: the default is the GPUs of job's list, empty
// is none (not the default), and a list that is not of extended resource
// names, or too long, is refused naming the flag.
func TestExtendedResourcesFlag(t *testing.T) {
	if _, cfg := parseServe(t); len(cfg.ExtendedResources) != 3 || cfg.ExtendedResources[0] != "nvidia.com/gpu" {
		t.Errorf("default = %v, want %s", cfg.ExtendedResources, job.DefaultExtendedResources)
	}
	if _, cfg := parseServe(t, "--outcomes.extended-resources="); cfg.ExtendedResources == nil || len(cfg.ExtendedResources) != 0 {
		t.Errorf("empty = %#v, want an empty list", cfg.ExtendedResources)
	}
	for _, bad := range []string{"cpu", "nvidia.com/gpu,nvidia.com/gpu", "kubernetes.io/x", "a b/c",
		"a.io/1,a.io/2,a.io/3,a.io/4,a.io/5,a.io/6,a.io/7,a.io/8,a.io/9"} {
		app, serve, _ := newApp()
		if _, err := app.Parse([]string{"--outcomes.extended-resources=" + bad}); err != nil {
			t.Fatal(err)
		}
		if err := serve.validate(); err == nil || !strings.Contains(err.Error(), "--outcomes.extended-resources") {
			t.Errorf("%q: error %v, want one naming --outcomes.extended-resources", bad, err)
		}
	}
}

// TestDeprecatedNamesWarn: an old name works and says, once, at start,
// which flag to use instead.
func TestDeprecatedNamesWarn(t *testing.T) {
	kubeconfig := unreachableKubeconfig(t)
	var stderr bytes.Buffer
	code := run([]string{"--kubeconfig", kubeconfig, "--namespaces=a", "--job.max-index-series=0", "--web.listen-address=127.0.0.1:0"}, io.Discard, &stderr)
	var warnings []string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, "deprecated flag") {
			warnings = append(warnings, l)
		}
	}
	if code != 1 || len(warnings) != 2 ||
		!strings.Contains(warnings[0], "level=WARN") || !strings.Contains(warnings[0], "flag=--kubeconfig use=--kube.config") ||
		!strings.Contains(warnings[1], "flag=--namespaces use=--watch.namespaces") {
		t.Errorf("exit %d, want 1, and one warning for --kubeconfig and one for --namespaces:\n%s", code, stderr.String())
	}

	stderr.Reset()
	code = run([]string{"diagnose", "--kube.config", kubeconfig, "--pods.start-timeout=-1s", "j"}, io.Discard, &stderr)
	want := "kube-job-exporter diagnose: --pods.start-timeout is deprecated and will be removed in the next release: use --job.pod-start-timeout\n" +
		"kube-job-exporter diagnose: --job.pod-start-timeout must be >= 0, got -1s\n"
	if code != 1 || stderr.String() != want {
		t.Errorf("exit %d, stderr:\n%s\nwant 1 and\n%s", code, stderr.String(), want)
	}

	// Without an old name, no warning.
	stderr.Reset()
	run([]string{"--kube.config", kubeconfig, "--job.max-index-series=0"}, io.Discard, &stderr)
	if strings.Contains(stderr.String(), "deprecated") {
		t.Errorf("a warning without an old name:\n%s", stderr.String())
	}
}

// TestDiagnoseSharesFlagsWithPlugin: diagnose and the kubectl plugin have
// the same flags, but for the connection's, which the plugin names as
// kubectl does; neither takes a flag of serve's alone.
func TestDiagnoseSharesFlagsWithPlugin(t *testing.T) {
	app, _, _ := newApp()
	plugin, _ := newPluginApp(io.Discard, io.Discard)
	kubectl := map[string]string{"kube.config": "kubeconfig", "kube.context": "context"}
	var diag []string
	for _, name := range flagNames(app, "diagnose", false) {
		if n, ok := kubectl[name]; ok {
			name = n
		}
		diag = append(diag, name)
	}
	slices.Sort(diag)
	if got := flagNames(plugin, "", false); !slices.Equal(got, diag) {
		t.Errorf("plugin flags %v\ndiagnose flags %v (connection flags as kubectl's)", got, diag)
	}
	for _, shared := range []string{"kube.config", "job.pod-start-timeout", "job.backoff-initial", "job.backoff-max", "cronjob.missed-grace"} {
		if !slices.Contains(flagNames(app, "diagnose", false), shared) {
			t.Errorf("diagnose has no --%s", shared)
		}
	}

	serveOnly := slices.DeleteFunc(flagNames(app, "serve", false), func(n string) bool {
		return slices.Contains(flagNames(app, "diagnose", false), n)
	})
	if len(serveOnly) < 20 {
		t.Fatalf("only %d flags of serve's alone: %v", len(serveOnly), serveOnly)
	}
	for _, name := range serveOnly {
		arg := "--" + name + "=1"
		var stderr bytes.Buffer
		if code := run([]string{"diagnose", arg, "j"}, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "unknown long flag '--"+name+"'") {
			t.Errorf("diagnose %s: exit %d, %s", arg, code, stderr.String())
		}
		stderr.Reset()
		if code := runPlugin([]string{arg, "j"}, io.Discard, &stderr); code != 1 || !strings.Contains(stderr.String(), "unknown long flag '--"+name+"'") {
			t.Errorf("kubectl job-diagnose %s: exit %d, %s", arg, code, stderr.String())
		}
	}
}

// TestHelpListsEachFlagOnce: the help of each command lists each of its
// flags once, and no old name.
func TestHelpListsEachFlagOnce(t *testing.T) {
	var usage bytes.Buffer
	app, _, _ := newApp()
	app.UsageWriter(&usage)
	plugin, _ := newPluginApp(&usage, io.Discard)
	for _, c := range []struct {
		app     *kingpin.Application
		command string
		// The help without a command lists serve's, the default command's.
		flagsOf string
	}{{app, "serve", "serve"}, {app, "diagnose", "diagnose"}, {app, "", "serve"}, {plugin, "", ""}} {
		usage.Reset()
		ctx, err := c.app.ParseContext([]string{c.command})
		if c.command == "" {
			ctx, err = c.app.ParseContext([]string{"--help"})
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := c.app.UsageForContext(ctx); err != nil {
			t.Fatal(err)
		}
		// A flag's line starts with it ("  -n, --namespace", "      --logs",
		// "  --kube.config" in the default command's list);
		// its help's lines, wrapped, start further right.
		listed := map[string]int{}
		for _, m := range regexp.MustCompile(`(?m)^  (?:-\w, |    )?--(?:\[no-\])?([\w.-]+)`).FindAllStringSubmatch(usage.String(), -1) {
			listed[m[1]]++
		}
		for _, builtin := range []string{"help", "help-long", "help-man", "version"} {
			delete(listed, builtin)
		}
		want := flagNames(c.app, c.flagsOf, false)
		if got := slices.Sorted(maps.Keys(listed)); !slices.Equal(got, want) {
			t.Errorf("%q --help lists %v, want %v", c.command, got, want)
		}
		for name, n := range listed {
			if n != 1 {
				t.Errorf("%q --help lists --%s %d times", c.command, name, n)
			}
		}
	}
}
