package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	kubeversion "k8s.io/apimachinery/pkg/version"
)

// unreachableKubeconfig writes a kubeconfig pointing at a loopback port
// nothing listens on.
func unreachableKubeconfig(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://%s"}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
users: [{name: u, user: {}}]
current-context: c
`, addr)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestStartupErrors: bad input fails at start-up with one clear line and a
// non-zero exit code, before serving anything.
func TestStartupErrors(t *testing.T) {
	t.Setenv("HOSTNAME", "workstation")
	kubeconfig := unreachableKubeconfig(t)
	badWebConfig := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(badWebConfig, []byte("tls_server_config:\n  cert_file: /nonexistent.crt\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		says string
	}{
		{"unknown flag", []string{"--no-such-flag"}, 2, "unknown long flag"},
		{"bad duration", []string{"--job.backoff-max=soon"}, 2, `invalid duration "soon"`},
		{"bad selector", []string{"--kube.config", kubeconfig, "--watch.job-selector=team in (a"}, 1, `--watch.job-selector: "team in (a" is not a label selector`},
		{"both namespace flags", []string{"--kube.config", kubeconfig, "--watch.namespaces=a", "--watch.namespaces-exclude=b"}, 1, "--watch.namespaces and --watch.namespaces-exclude: cannot be used together"},
		{"bad namespace", []string{"--kube.config", kubeconfig, "--watch.namespaces=Not_A_Namespace"}, 1, `--watch.namespaces: invalid namespace "Not_A_Namespace"`},
		{"bad excluded namespace", []string{"--kube.config", kubeconfig, "--watch.namespaces-exclude=kube-system,-x"}, 1, `--watch.namespaces-exclude: invalid namespace "-x"`},
		{"backoff cap below initial", []string{"--kube.config", kubeconfig, "--job.backoff-initial=1m", "--job.backoff-max=10s"}, 1, "need 0 < --job.backoff-initial (1m0s) <= --job.backoff-max (10s)"},
		{"bad web config", []string{"--kube.config", kubeconfig, "--web.config.file=" + badWebConfig}, 1, "invalid --web.config.file"},
		{"missing kubeconfig", []string{"--kube.config", "/nonexistent/kubeconfig"}, 1, "cannot load Kubernetes client configuration"},
		{"shard out of range", []string{"--kube.config", kubeconfig, "--watch.shard=3", "--watch.total-shards=3"}, 1, "--watch.shard and --watch.total-shards: shard 3 of 3: need 0 <= shard < total"},
		{"shard auto without ordinal", []string{"--kube.config", kubeconfig, "--watch.shard=auto"}, 1, "--watch.shard=auto needs"},
		{"shard neither number nor auto", []string{"--kube.config", kubeconfig, "--watch.shard=first"}, 1, `--watch.shard: "first" is neither a number nor 'auto'`},
		{"unreachable API server", []string{"--kube.config", kubeconfig, "--kube.connect-timeout=1s"}, 1, "cannot reach the Kubernetes API server"},
		{"memory limit ratio above 1", []string{"--kube.config", kubeconfig, "--runtime.memory-limit-ratio=1.5"}, 1, "invalid --runtime.memory-limit-ratio"},
		{"negative start timeout", []string{"--kube.config", kubeconfig, "--job.pod-start-timeout=-1s"}, 1, "--job.pod-start-timeout must be >= 0"},
		{"zero index series per Job", []string{"--kube.config", kubeconfig, "--job.max-index-series=0"}, 1, "--job.max-index-series must be at least 1, got 0"},
		{"no page requests", []string{"--kube.config", kubeconfig, "--web.max-page-requests=0"}, 1, "--web.max-page-requests must be at least 1, got 0"},
		{"negative index series per Job", []string{"--kube.config", kubeconfig, "--job.max-index-series=-5"}, 1, "--job.max-index-series must be at least 1, got -5"},
		{"zero containers per Job", []string{"--kube.config", kubeconfig, "--job.max-containers=0"}, 1, "--job.max-containers and --job.max-container-series must be at least 1, got 0 and 30"},
		{"zero container series per Job", []string{"--kube.config", kubeconfig, "--job.max-container-series=0"}, 1, "must be at least 1, got 20 and 0"},
		{"negative write progress timeout", []string{"--kube.config", kubeconfig, "--web.write-progress-timeout=-1s"}, 1, "--web.write-progress-timeout must be >= 0"},
		{"backoff initial above the default cap", []string{"--kube.config", kubeconfig, "--job.backoff-initial=11m"}, 1, "need 0 < --job.backoff-initial (11m0s) <= --job.backoff-max (10m0s)"},
		{"negative missed grace", []string{"--kube.config", kubeconfig, "--cronjob.missed-grace=-1m"}, 1, "--cronjob.missed-grace must be >= 0"},
		{"zero Kueue discovery interval", []string{"--kube.config", kubeconfig, "--collector.kueue.discovery-interval=0s"}, 1, "--collector.kueue.discovery-interval must be > 0"},
		{"bad owner label", []string{"--kube.config", kubeconfig, "--outcomes.owner-label=a b"}, 1, `--outcomes.owner-label "a b" is not a label key`},
		{"zero outcome retention", []string{"--kube.config", kubeconfig, "--outcomes.retention=0s"}, 1, "--outcomes.retention must be > 0"},
		{"no owners", []string{"--kube.config", kubeconfig, "--outcomes.max-owners=0"}, 1, "--outcomes.max-owners must be at least 1"},
		{"no evidence kept", []string{"--kube.config", kubeconfig, "--evidence.max-jobs=0"}, 1, "--evidence.keep-for must be > 0 and --evidence.max-jobs at least 1"},
		{"an old name, checked as the new", []string{"--kube.config", kubeconfig, "--indexes.max-per-job=0"}, 1, "--job.max-index-series must be at least 1, got 0"},
		{"serve named", []string{"serve", "--kube.config", kubeconfig, "--job.max-index-series=0"}, 1, "--job.max-index-series must be at least 1, got 0"},
		{"diagnose: negative --logs", []string{"diagnose", "--kube.config", kubeconfig, "--logs=-1", "j"}, 1, "--logs must be >= 0"},
		{"diagnose: negative start timeout", []string{"diagnose", "--kube.config", kubeconfig, "--job.pod-start-timeout=-1s", "j"}, 1, "--job.pod-start-timeout must be >= 0"},
		{"diagnose: backoff cap below initial", []string{"diagnose", "--kube.config", kubeconfig, "--job.backoff-initial=1m", "--job.backoff-max=10s", "j"}, 1, "need 0 < --job.backoff-initial (1m0s) <= --job.backoff-max (10s)"},
		{"diagnose: a serve flag", []string{"diagnose", "--kube.config", kubeconfig, "--web.max-requests=3", "j"}, 2, "unknown long flag '--web.max-requests'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			args := tt.args
			if args[0] != "diagnose" {
				args = append(args, "--web.listen-address=127.0.0.1:0")
			}
			code := run(args, io.Discard, &stderr)
			if code != tt.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			// logfmt escapes the quotes of the values an error quotes.
			if !strings.Contains(strings.ReplaceAll(stderr.String(), `\"`, `"`), tt.says) {
				t.Errorf("stderr does not say %q:\n%s", tt.says, stderr.String())
			}
		})
	}
}

// TestBackoffFromServerVersion: unset backoff flags take the Job
// controller's values for the API server's version; a flag set by hand,
// under its name or its old one, wins; an unknown version keeps the
// current defaults.
func TestBackoffFromServerVersion(t *testing.T) {
	parse := func(t *testing.T, args []string) *jobOptions {
		t.Helper()
		app := kingpin.New("t", "")
		var o jobOptions
		o.register(app)
		var d deprecations
		d.addOldNames(app)
		if _, err := app.Parse(args); err != nil {
			t.Fatal(err)
		}
		return &o
	}
	tests := []struct {
		args       []string
		major      string
		minor      string
		wantMax    time.Duration
		wantInit   time.Duration
		wantSource string
	}{
		{nil, "1", "27", 6 * time.Minute, 10 * time.Second, "server version"},
		{nil, "1", "27+", 6 * time.Minute, 10 * time.Second, "server version"},
		{nil, "1", "28", 10 * time.Minute, 10 * time.Second, "server version"},
		{nil, "1", "37", 10 * time.Minute, 10 * time.Second, "server version"},
		{nil, "", "", 10 * time.Minute, 10 * time.Second, "defaults (server version unknown)"},
		{[]string{"--job.backoff-max=5m"}, "1", "27", 5 * time.Minute, 10 * time.Second, "server version"},
		{[]string{"--job.backoff-max=4s", "--job.backoff-initial=1s"}, "1", "27", 4 * time.Second, time.Second, "flags"},
		{[]string{"--backoff.max=4s", "--backoff.initial=1s"}, "1", "27", 4 * time.Second, time.Second, "flags"},
		{[]string{"--job.backoff-initial=20s"}, "1", "26", 6 * time.Minute, 20 * time.Second, "server version"},
		// Set to the default of an unknown version by hand: still the flag's.
		{[]string{"--job.backoff-max=10m"}, "1", "27", 10 * time.Minute, 10 * time.Second, "server version"},
	}
	for _, tt := range tests {
		o := parse(t, tt.args)
		server := kubeversion.Info{Major: tt.major, Minor: tt.minor}
		got, err := o.backoff(server)
		if err != nil || got.Max != tt.wantMax || got.Initial != tt.wantInit || o.backoffSource(server) != tt.wantSource {
			t.Errorf("%v on %s.%s: %+v (%s), %v; want initial %s max %s (%s)", tt.args, tt.major, tt.minor, got, o.backoffSource(server), err, tt.wantInit, tt.wantMax, tt.wantSource)
		}
	}
	// An explicit initial above an older server's cap is an error there.
	if _, err := parse(t, []string{"--job.backoff-initial=8m"}).backoff(kubeversion.Info{Major: "1", Minor: "27"}); err == nil {
		t.Error("--job.backoff-initial=8m accepted with a 6m cap")
	}
}

func TestParseShard(t *testing.T) {
	for _, tt := range []struct {
		flag, host string
		want       int
		ok         bool
	}{
		{"0", "", 0, true}, {"2", "", 2, true}, {"auto", "kube-job-exporter-2", 2, true},
		{"auto", "kube-job-exporter-12", 12, true}, {"auto", "laptop", 0, false}, {"auto", "x-", 0, false}, {"two", "", 0, false},
	} {
		got, err := parseShard(tt.flag, tt.host)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseShard(%q, %q) = %d, %v", tt.flag, tt.host, got, err)
		}
	}
}

// TestApplyMemoryLimitLogs: the runtime's memory limit follows the
// container's, and a cgroup file that cannot be read says so.
func TestApplyMemoryLimitLogs(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	t.Setenv("GOMEMLIMIT", "")
	os.Unsetenv("GOMEMLIMIT")
	for _, tt := range []struct {
		file, says string
		limit      int64
	}{
		{"268435456", `msg="Go runtime memory limit set from the container's" limit_bytes=241591910 container_limit_bytes=268435456`, 241591910},
		{"a lot", "cannot read the container's memory limit", math.MaxInt64},
	} {
		debug.SetMemoryLimit(math.MaxInt64)
		var logs bytes.Buffer
		applyMemoryLimit(promslog.New(&promslog.Config{Writer: &logs}), 0.9, fstest.MapFS{"memory.max": {Data: []byte(tt.file)}})
		if !strings.Contains(logs.String(), tt.says) {
			t.Errorf("memory.max %q: log does not say %q:\n%s", tt.file, tt.says, logs.String())
		}
		if got := debug.SetMemoryLimit(-1); got != tt.limit {
			t.Errorf("memory.max %q: runtime limit %d, want %d", tt.file, got, tt.limit)
		}
	}
}

// TestGCPercentDefault: the exporter's own GC target applies when GOGC is
// unset; a GOGC in the environment (read by the runtime at start) wins.
func TestGCPercentDefault(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	logger := promslog.New(&promslog.Config{Writer: io.Discard})

	t.Setenv("GOGC", "")
	os.Unsetenv("GOGC")
	applyGCPercent(logger)
	if got := debug.SetGCPercent(100); got != defaultGCPercent {
		t.Errorf("GOGC unset: GC percent %d, want %d", got, defaultGCPercent)
	}

	// The runtime applied GOGC=77 at start; applyGCPercent must leave it.
	t.Setenv("GOGC", "77")
	debug.SetGCPercent(77)
	applyGCPercent(logger)
	if got := debug.SetGCPercent(100); got != 77 {
		t.Errorf("GOGC=77: GC percent %d, want 77 (the environment's)", got)
	}
}
