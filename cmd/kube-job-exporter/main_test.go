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
		{"bad duration", []string{"--backoff.max=soon"}, 2, `invalid duration "soon"`},
		{"bad selector", []string{"--kubeconfig", kubeconfig, "--job.selector=team in (a"}, 1, "invalid --job.selector"},
		{"both namespace flags", []string{"--kubeconfig", kubeconfig, "--namespaces=a", "--namespaces-exclude=b"}, 1, "cannot be used together"},
		{"bad namespace", []string{"--kubeconfig", kubeconfig, "--namespaces=Not_A_Namespace"}, 1, "invalid namespace"},
		{"backoff cap below initial", []string{"--kubeconfig", kubeconfig, "--backoff.initial=1m", "--backoff.max=10s"}, 1, "backoff"},
		{"bad web config", []string{"--kubeconfig", kubeconfig, "--web.config.file=" + badWebConfig}, 1, "invalid --web.config.file"},
		{"missing kubeconfig", []string{"--kubeconfig", "/nonexistent/kubeconfig"}, 1, "cannot load Kubernetes client configuration"},
		{"shard out of range", []string{"--kubeconfig", kubeconfig, "--shard=3", "--total-shards=3"}, 1, "need 0 <= shard < total-shards"},
		{"shard auto without ordinal", []string{"--kubeconfig", kubeconfig, "--shard=auto"}, 1, "--shard=auto needs"},
		{"unreachable API server", []string{"--kubeconfig", kubeconfig, "--kube.connect-timeout=1s"}, 1, "cannot reach the Kubernetes API server"},
		{"memory limit ratio above 1", []string{"--kubeconfig", kubeconfig, "--runtime.memory-limit-ratio=1.5"}, 1, "invalid --runtime.memory-limit-ratio"},
		{"negative start timeout", []string{"--kubeconfig", kubeconfig, "--pods.start-timeout=-1s"}, 1, "--pods.start-timeout must be >= 0"},
		{"zero index series per Job", []string{"--kubeconfig", kubeconfig, "--indexes.max-per-job=0"}, 1, "--indexes.max-per-job must be at least 1, got 0"},
		{"no page requests", []string{"--kubeconfig", kubeconfig, "--web.max-page-requests=0"}, 1, "--web.max-page-requests must be at least 1, got 0"},
		{"negative index series per Job", []string{"--kubeconfig", kubeconfig, "--indexes.max-per-job=-5"}, 1, "--indexes.max-per-job must be at least 1, got -5"},
		{"zero containers per Job", []string{"--kubeconfig", kubeconfig, "--job.max-containers=0"}, 1, "--job.max-containers and --job.max-container-series must be at least 1, got 0 and 30"},
		{"zero container series per Job", []string{"--kubeconfig", kubeconfig, "--job.max-container-series=0"}, 1, "must be at least 1, got 20 and 0"},
		{"negative write progress timeout", []string{"--kubeconfig", kubeconfig, "--web.write-progress-timeout=-1s"}, 1, "--web.write-progress-timeout must be >= 0"},
		{"backoff initial above the default cap", []string{"--kubeconfig", kubeconfig, "--backoff.initial=11m"}, 1, "need 0 < --backoff.initial (11m0s) <= --backoff.max (10m0s)"},
		{"diagnose: negative --logs", []string{"diagnose", "--kubeconfig", kubeconfig, "--logs=-1", "j"}, 1, "--logs must be >= 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := run(append(tt.args, "--web.listen-address=127.0.0.1:0"), io.Discard, &stderr)
			if code != tt.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.says) {
				t.Errorf("stderr does not say %q:\n%s", tt.says, stderr.String())
			}
		})
	}
}

// TestBackoffFromServerVersion: unset backoff flags take the Job
// controller's values for the API server's version; a flag set by hand
// wins; an unknown version keeps the current defaults.
func TestBackoffFromServerVersion(t *testing.T) {
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
		{[]string{"--backoff.max=5m"}, "1", "27", 5 * time.Minute, 10 * time.Second, "server version"},
		{[]string{"--backoff.max=4s", "--backoff.initial=1s"}, "1", "27", 4 * time.Second, time.Second, "flags"},
		{[]string{"--backoff.initial=20s"}, "1", "26", 6 * time.Minute, 20 * time.Second, "server version"},
	}
	for _, tt := range tests {
		app := kingpin.New("t", "")
		var b backoffFlags
		b.add(app)
		if _, err := app.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		server := kubeversion.Info{Major: tt.major, Minor: tt.minor}
		got, err := b.resolve(server)
		if err != nil || got.Max != tt.wantMax || got.Initial != tt.wantInit || b.source(server) != tt.wantSource {
			t.Errorf("%v on %s.%s: %+v (%s), %v; want initial %s max %s (%s)", tt.args, tt.major, tt.minor, got, b.source(server), err, tt.wantInit, tt.wantMax, tt.wantSource)
		}
	}
	// An explicit initial above an older server's cap is an error there.
	app := kingpin.New("t", "")
	var b backoffFlags
	b.add(app)
	if _, err := app.Parse([]string{"--backoff.initial=8m"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.resolve(kubeversion.Info{Major: "1", Minor: "27"}); err == nil {
		t.Error("--backoff.initial=8m accepted with a 6m cap")
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
