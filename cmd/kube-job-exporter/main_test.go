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

	"github.com/prometheus/common/promslog"
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
