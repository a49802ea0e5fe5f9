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
	"time"
)

// AlertmanagerBinaryEnv names the alertmanager binary to use. Without it
// FindAlertmanager looks for "alertmanager" and then for Debian's
// "prometheus-alertmanager" (package prometheus-alertmanager, 0.25) in
// $PATH and /usr/bin. `go install` of the upstream module does not build:
// its UI assets are not part of the module.
const AlertmanagerBinaryEnv = "KJE_E2E_ALERTMANAGER"

// ErrNoAlertmanager is returned by FindAlertmanager when no binary is found.
var ErrNoAlertmanager = errors.New("no alertmanager binary: install Debian's prometheus-alertmanager " +
	"(e2e/pipeline/install-deps.sh) or set $" + AlertmanagerBinaryEnv)

// FindAlertmanager returns the path of an Alertmanager binary.
func FindAlertmanager() (string, error) {
	if p := os.Getenv(AlertmanagerBinaryEnv); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("$%s: %w", AlertmanagerBinaryEnv, err)
		}
		return abs, nil
	}
	for _, name := range []string{"alertmanager", "prometheus-alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
		if p := filepath.Join("/usr/bin", name); isExecutable(p) {
			return p, nil
		}
	}
	return "", ErrNoAlertmanager
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// AlertmanagerOptions configures StartAlertmanager.
type AlertmanagerOptions struct {
	Binary  string // required
	WorkDir string // required: config and storage go here
	// WebhookURL receives every notification (send_resolved: true). Empty:
	// notifications go nowhere (the UI still shows the alerts).
	WebhookURL string
	// GroupWait, GroupInterval default to 1s; RepeatInterval to 1h. Every
	// alert is its own group (group_by: ['...']).
	GroupWait, GroupInterval, RepeatInterval time.Duration
	// ListenAddress defaults to 127.0.0.1 on a free port.
	ListenAddress string
	// Output receives the log (default: the last 64 KiB are kept).
	Output io.Writer
	// ReadyTimeout bounds the wait for /-/ready (default 1m).
	ReadyTimeout time.Duration
}

// Alertmanager is a running Alertmanager process.
type Alertmanager struct {
	proc *process
	addr string
}

// AlertmanagerConfig renders the configuration StartAlertmanager writes.
func AlertmanagerConfig(o AlertmanagerOptions) string {
	d := func(v, def time.Duration) string {
		if v <= 0 {
			v = def
		}
		return model(v)
	}
	var b strings.Builder
	b.WriteString("# Written by the e2e harness (e2e/harness/alertmanager.go).\n")
	fmt.Fprintf(&b, "route:\n  receiver: test\n  group_by: ['...']\n  group_wait: %s\n  group_interval: %s\n  repeat_interval: %s\n",
		d(o.GroupWait, time.Second), d(o.GroupInterval, time.Second), d(o.RepeatInterval, time.Hour))
	b.WriteString("receivers:\n- name: test\n")
	if o.WebhookURL != "" {
		fmt.Fprintf(&b, "  webhook_configs:\n  - url: %q\n    send_resolved: true\n", o.WebhookURL)
	}
	return b.String()
}

// StartAlertmanager writes a config (AlertmanagerConfig) into WorkDir,
// starts Alertmanager without clustering on a loopback port and waits for
// /-/ready.
func StartAlertmanager(ctx context.Context, o AlertmanagerOptions) (*Alertmanager, error) {
	return retryPortClash(o.ListenAddress == "", func() (*Alertmanager, error) { return startAlertmanager(ctx, o) })
}

func startAlertmanager(ctx context.Context, o AlertmanagerOptions) (*Alertmanager, error) {
	if o.Binary == "" || o.WorkDir == "" {
		return nil, errors.New("StartAlertmanager: Binary and WorkDir are required")
	}
	if o.ListenAddress == "" {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		o.ListenAddress = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}
	if err := os.MkdirAll(filepath.Join(o.WorkDir, "data"), 0o755); err != nil {
		return nil, err
	}
	cfg := filepath.Join(o.WorkDir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(AlertmanagerConfig(o)), 0o644); err != nil {
		return nil, err
	}
	args := []string{
		"--config.file=" + cfg,
		"--storage.path=" + filepath.Join(o.WorkDir, "data"),
		"--web.listen-address=" + o.ListenAddress,
		"--web.external-url=http://" + o.ListenAddress + "/",
		"--cluster.listen-address=", // no gossip port: a single instance
		"--log.level=info",
	}
	proc, err := startProcess(o.Binary, args, o.Output)
	if err != nil {
		return nil, fmt.Errorf("start alertmanager: %w", err)
	}
	a := &Alertmanager{proc: proc, addr: o.ListenAddress}
	if err := proc.waitReady(ctx, "alertmanager", a.URL("/-/ready"), o.ReadyTimeout); err != nil {
		a.Stop()
		return nil, err
	}
	return a, nil
}

// URL returns Alertmanager's URL for path.
func (a *Alertmanager) URL(path string) string { return "http://" + a.addr + path }

// Addr is the listen address.
func (a *Alertmanager) Addr() string { return a.addr }

// Logs returns the end of Alertmanager's output.
func (a *Alertmanager) Logs() string { return a.proc.logs.String() }

// Exited is closed when the process has ended.
func (a *Alertmanager) Exited() <-chan struct{} { return a.proc.done }

// Stop sends SIGTERM, waits up to 10s, then kills the process.
func (a *Alertmanager) Stop() error { return a.proc.stop() }
