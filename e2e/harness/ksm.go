package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The kube-state-metrics of the e2e stack suite is the real one, built
// from the pin in tools/ksm/go.mod (k8s.io/kube-state-metrics/v2) by the
// bin/kube-state-metrics rule of tools/tools.mk: the suite runs it beside
// the exporter, as nearly every cluster that installs the exporter does
// (kube-prometheus, kube-prometheus-stack).
const (
	// KubeStateMetricsBinaryEnv names a prebuilt kube-state-metrics to
	// use instead of bin/kube-state-metrics.
	KubeStateMetricsBinaryEnv = "KJE_E2E_KUBE_STATE_METRICS"
	// KubeStateMetricsJob is the scrape job name kubernetes-mixin's
	// selectors expect (kubeStateMetricsSelector: job="kube-state-metrics"),
	// which kube-prometheus and kube-prometheus-stack both produce.
	KubeStateMetricsJob = "kube-state-metrics"
)

var ksmBuild struct {
	sync.Mutex
	path string
}

// BuildKubeStateMetrics returns a kube-state-metrics binary: the one named
// by $KJE_E2E_KUBE_STATE_METRICS, else <repo>/bin/kube-state-metrics as
// `make bin/kube-state-metrics` leaves it. make rebuilds it when it is
// missing or older than tools/ksm/go.mod or go.sum, with the ldflags of
// tools/tools.mk, so the build recipe lives in one place. make's output
// goes to log (may be nil).
func BuildKubeStateMetrics(ctx context.Context, log io.Writer) (string, error) {
	if p := os.Getenv(KubeStateMetricsBinaryEnv); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("$%s: %w", KubeStateMetricsBinaryEnv, err)
		}
		return abs, nil
	}
	ksmBuild.Lock()
	defer ksmBuild.Unlock()
	if ksmBuild.path != "" {
		return ksmBuild.path, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "-C", root, "bin/kube-state-metrics", "GO="+goTool())
	// Not part of an outer make's jobserver (make e2e runs go test).
	cmd.Env = withoutEnv(os.Environ(), "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKE_TERMOUT", "MAKE_TERMERR")
	var buf strings.Builder
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if log != nil {
		cmd.Stdout, cmd.Stderr = io.MultiWriter(&buf, log), io.MultiWriter(&buf, log)
	}
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("make bin/kube-state-metrics: %v\n%s", err, buf.String())
	}
	ksmBuild.path = filepath.Join(root, "bin", "kube-state-metrics")
	return ksmBuild.path, nil
}

// KubeStateMetricsOptions configures StartKubeStateMetrics.
type KubeStateMetricsOptions struct {
	Binary     string // required
	Kubeconfig string // required: the cluster to watch
	// Resources are the kinds it lists and watches (default jobs,
	// cronjobs and pods: what kubernetes-mixin's Job and pod alerts read).
	Resources []string
	// Output receives its log (default: only the last 64 KiB are kept).
	Output io.Writer
	// ReadyTimeout bounds the wait for its first metrics (default 1m).
	ReadyTimeout time.Duration
}

// KubeStateMetrics is a running kube-state-metrics process.
type KubeStateMetrics struct {
	proc                *process
	addr, telemetryAddr string
}

// StartKubeStateMetrics starts kube-state-metrics on two loopback ports
// (metrics, and its own telemetry) and waits until its telemetry /readyz
// answers 200, which it does once its stores hold metrics.
func StartKubeStateMetrics(ctx context.Context, o KubeStateMetricsOptions) (*KubeStateMetrics, error) {
	return retryPortClash(true, func() (*KubeStateMetrics, error) { return startKubeStateMetrics(ctx, o) })
}

func startKubeStateMetrics(ctx context.Context, o KubeStateMetricsOptions) (*KubeStateMetrics, error) {
	if o.Binary == "" || o.Kubeconfig == "" {
		return nil, errors.New("StartKubeStateMetrics: Binary and Kubeconfig are required")
	}
	if len(o.Resources) == 0 {
		o.Resources = []string{"cronjobs", "jobs", "pods"}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	tport, err := freePort()
	if err != nil {
		return nil, err
	}
	k := &KubeStateMetrics{
		addr:          net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		telemetryAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(tport)),
	}
	args := []string{
		"--kubeconfig=" + o.Kubeconfig,
		"--resources=" + strings.Join(o.Resources, ","),
		"--host=127.0.0.1", "--port=" + strconv.Itoa(port),
		"--telemetry-host=127.0.0.1", "--telemetry-port=" + strconv.Itoa(tport),
	}
	proc, err := startProcess(o.Binary, args, nil, o.Output)
	if err != nil {
		return nil, fmt.Errorf("start kube-state-metrics: %w", err)
	}
	k.proc = proc
	if err := proc.waitReady(ctx, "kube-state-metrics", "http://"+k.telemetryAddr+"/readyz", o.ReadyTimeout); err != nil {
		k.Stop()
		return nil, err
	}
	return k, nil
}

// Addr is the host:port of its /metrics.
func (k *KubeStateMetrics) Addr() string { return k.addr }

// Logs returns the end of its output.
func (k *KubeStateMetrics) Logs() string { return k.proc.logs.String() }

// Stop sends SIGTERM, waits up to 10s, then kills the process.
func (k *KubeStateMetrics) Stop() error { return k.proc.stop() }
