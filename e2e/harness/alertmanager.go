package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
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
	// ConfigFile, if set, is an Alertmanager configuration to run (such
	// as ExampleAlertmanagerConfig) instead of the harness' own: its
	// routes, grouping and inhibition rules are kept, every receiver posts
	// to WebhookURL instead, and every route that sets a wait gets the
	// ones below.
	ConfigFile string
	// GroupWait, GroupInterval default to 1s; RepeatInterval to 1h.
	// Without ConfigFile every alert is its own group (group_by: ['...']).
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

// ExampleAlertmanagerConfig is the path of the mixin's example
// Alertmanager configuration (mixin/alertmanager.example.yaml).
func ExampleAlertmanagerConfig() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "mixin", "alertmanager.example.yaml"), nil
}

// AlertmanagerConfig renders the configuration StartAlertmanager writes.
func AlertmanagerConfig(o AlertmanagerOptions) (string, error) {
	d := func(v, def time.Duration) string {
		if v <= 0 {
			v = def
		}
		return model(v)
	}
	waits := map[string]string{
		"group_wait":      d(o.GroupWait, time.Second),
		"group_interval":  d(o.GroupInterval, time.Second),
		"repeat_interval": d(o.RepeatInterval, time.Hour),
	}
	if o.ConfigFile != "" {
		return rewriteAlertmanagerConfig(o.ConfigFile, o.WebhookURL, waits)
	}
	var b strings.Builder
	b.WriteString("# Written by the e2e harness (e2e/harness/alertmanager.go).\n")
	fmt.Fprintf(&b, "route:\n  receiver: test\n  group_by: ['...']\n  group_wait: %s\n  group_interval: %s\n  repeat_interval: %s\n",
		waits["group_wait"], waits["group_interval"], waits["repeat_interval"])
	b.WriteString("receivers:\n- name: test\n")
	if o.WebhookURL != "" {
		fmt.Fprintf(&b, "  webhook_configs:\n  - url: %q\n    send_resolved: true\n", o.WebhookURL)
	}
	return b.String(), nil
}

// rewriteAlertmanagerConfig reads a user's configuration and points every
// receiver at webhookURL (none: no integration), with the given waits on
// the root route and on every route that sets its own.
func rewriteAlertmanagerConfig(path, webhookURL string, waits map[string]string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	receivers, _ := cfg["receivers"].([]any)
	for i, r := range receivers {
		m, ok := r.(map[string]any)
		if !ok {
			return "", fmt.Errorf("%s: receiver %d is not a mapping", path, i)
		}
		nr := map[string]any{"name": m["name"]}
		if webhookURL != "" {
			nr["webhook_configs"] = []any{map[string]any{"url": webhookURL, "send_resolved": true}}
		}
		receivers[i] = nr
	}
	root, ok := cfg["route"].(map[string]any)
	if !ok {
		return "", fmt.Errorf("%s: no route", path)
	}
	var setWaits func(route map[string]any, isRoot bool)
	setWaits = func(route map[string]any, isRoot bool) {
		for k, v := range waits {
			if _, set := route[k]; set || isRoot {
				route[k] = v
			}
		}
		subs, _ := route["routes"].([]any)
		for _, s := range subs {
			if m, ok := s.(map[string]any); ok {
				setWaits(m, false)
			}
		}
	}
	setWaits(root, true)
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return "", err
	}
	return "# Written by the e2e harness from " + path + ": receivers and waits replaced.\n" + string(out), nil
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
	text, err := AlertmanagerConfig(o)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
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
	proc, err := startProcess(o.Binary, args, nil, o.Output)
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

// AlertmanagerAlert is an alert as Alertmanager's API (v2) reports it.
type AlertmanagerAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	Fingerprint string            `json:"fingerprint"`
	Receivers   []struct {
		Name string `json:"name"`
	} `json:"receivers"`
	Status struct {
		State       string   `json:"state"` // active, suppressed, unprocessed
		InhibitedBy []string `json:"inhibitedBy"`
		SilencedBy  []string `json:"silencedBy"`
	} `json:"status"`
}

// Alerts lists the alerts Alertmanager holds (active, inhibited and
// silenced alike) that match every matcher (e.g. `namespace="batch"`).
func (a *Alertmanager) Alerts(ctx context.Context, matchers ...string) ([]AlertmanagerAlert, error) {
	q := url.Values{}
	for _, m := range matchers {
		q.Add("filter", m)
	}
	var out []AlertmanagerAlert
	if err := a.call(ctx, http.MethodGet, "/api/v2/alerts?"+q.Encode(), nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// PostAlert sends an alert to Alertmanager as Prometheus would, firing
// until endsAt.
func (a *Alertmanager) PostAlert(ctx context.Context, labels, annotations map[string]string, endsAt time.Time) error {
	body := []map[string]any{{"labels": labels, "annotations": annotations, "startsAt": time.Now().UTC(), "endsAt": endsAt.UTC()}}
	return a.call(ctx, http.MethodPost, "/api/v2/alerts", body, nil)
}

func (a *Alertmanager) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.URL(path), body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("alertmanager %s %s: %s: %.500s", method, path, resp.Status, b)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}
