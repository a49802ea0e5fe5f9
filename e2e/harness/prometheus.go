package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The Prometheus server of the pipeline tests and the demo is built from the
// tools module (tools/go.mod pins github.com/prometheus/prometheus, the same
// version as promtool: v0.316.0 is Prometheus 3.16.0), without the service
// discovery plugins (static_configs is all it needs), which halves the build.
const (
	PrometheusPackage   = "github.com/prometheus/prometheus/cmd/prometheus"
	PrometheusBuildTags = "remove_all_sd"
	// PrometheusBinaryEnv names a prebuilt prometheus binary to use instead
	// of bin/prometheus.
	PrometheusBinaryEnv = "KJE_E2E_PROMETHEUS"
)

var promBuildMu sync.Mutex

// BuildPrometheus returns a Prometheus server binary: the one named by
// $KJE_E2E_PROMETHEUS, else <repo>/bin/prometheus when it is newer than
// tools/go.mod and tools/go.sum (as `make prometheus` leaves it), else it
// builds that file with `go build -tags remove_all_sd` in tools/ (about a
// minute with promtool's packages in the build cache; see tools/tools.mk).
// Build output goes to log (may be nil).
func BuildPrometheus(ctx context.Context, log io.Writer) (string, error) {
	if p := os.Getenv(PrometheusBinaryEnv); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("$%s: %w", PrometheusBinaryEnv, err)
		}
		return abs, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	promBuildMu.Lock()
	defer promBuildMu.Unlock()
	out := filepath.Join(root, "bin", "prometheus")
	if upToDate(out, filepath.Join(root, "tools", "go.mod"), filepath.Join(root, "tools", "go.sum")) {
		return out, nil
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	// Build next to the target and rename, so that a concurrent reader
	// (another test package, make demo) never runs a half-written file.
	tmp := fmt.Sprintf("%s.tmp%d", out, os.Getpid())
	args := []string{"build", "-tags", PrometheusBuildTags, "-o", tmp}
	if v := prometheusVersion(filepath.Join(root, "tools", "go.mod")); v != "" {
		args = append(args, "-ldflags", "-X github.com/prometheus/common/version.Version="+v)
	}
	cmd := exec.CommandContext(ctx, goTool(), append(args, PrometheusPackage)...)
	cmd.Dir = filepath.Join(root, "tools")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if log != nil {
		cmd.Stdout, cmd.Stderr = io.MultiWriter(&buf, log), io.MultiWriter(&buf, log)
	}
	if err := cmd.Run(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("go build %s in tools/: %v\n%s", PrometheusPackage, err, buf.String())
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", err
	}
	return out, nil
}

// prometheusVersion turns the module version pinned in tools/go.mod into
// the release it is (v0.316.0 is 3.16.0), for `prometheus --version` and
// the build info in the UI; "" if not found.
func prometheusVersion(gomod string) string {
	b, err := os.ReadFile(gomod)
	if err != nil {
		return ""
	}
	m := promModVersion.FindSubmatch(b)
	if m == nil {
		return ""
	}
	return fmt.Sprintf("%s.%s.%s", m[1], m[2], m[3])
}

var promModVersion = regexp.MustCompile(`(?m)^\s*github\.com/prometheus/prometheus v0\.(\d+)(\d\d)\.(\d+)\b`)

// upToDate reports whether target exists and is newer than every dep.
func upToDate(target string, deps ...string) bool {
	st, err := os.Stat(target)
	if err != nil {
		return false
	}
	for _, d := range deps {
		ds, err := os.Stat(d)
		if err != nil || ds.ModTime().After(st.ModTime()) {
			return false
		}
	}
	return true
}

// PrometheusOptions configures StartPrometheus.
type PrometheusOptions struct {
	Binary  string // required
	WorkDir string // required: config and TSDB go here
	// ExporterAddr is the host:port of the exporter, scraped as job
	// "kube-job-exporter" (the name the mixin's selectors expect) with
	// honor_labels: true.
	ExporterAddr string
	// Targets are further static scrape jobs, also with honor_labels:
	// true, as the ServiceMonitors of kube-prometheus(-stack) set
	// honorLabels for the exporter and kube-state-metrics.
	Targets []ScrapeTarget
	// ExternalLabels are the global external_labels (e.g. cluster), which
	// Prometheus adds to what it sends to Alertmanager.
	ExternalLabels map[string]string
	// RuleFiles are loaded as rule_files.
	RuleFiles []string
	// AlertmanagerAddr (host:port), if set, receives the alerts.
	AlertmanagerAddr string
	// ScrapeInterval defaults to 2s, EvaluationInterval to 1s.
	ScrapeInterval     time.Duration
	EvaluationInterval time.Duration
	// ListenAddress defaults to 127.0.0.1 on a free port.
	ListenAddress string
	// Output receives the server's log (default: only the last 64 KiB are
	// kept, for error messages).
	Output io.Writer
	// ReadyTimeout bounds the wait for /-/ready (default 1m).
	ReadyTimeout time.Duration
}

// ScrapeTarget is one static scrape job of PrometheusOptions.Targets.
type ScrapeTarget struct {
	Job, Addr string
}

// Prometheus is a running Prometheus server process.
type Prometheus struct {
	proc *process
	addr string
	http *http.Client
}

// PrometheusConfig renders the configuration StartPrometheus writes.
func PrometheusConfig(o PrometheusOptions) string {
	if o.ScrapeInterval <= 0 {
		o.ScrapeInterval = 2 * time.Second
	}
	if o.EvaluationInterval <= 0 {
		o.EvaluationInterval = time.Second
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by the e2e harness (e2e/harness/prometheus.go).\n")
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  scrape_timeout: %s\n  evaluation_interval: %s\n",
		model(o.ScrapeInterval), model(o.ScrapeInterval), model(o.EvaluationInterval))
	if len(o.ExternalLabels) > 0 {
		b.WriteString("  external_labels:\n")
		for _, k := range slices.Sorted(maps.Keys(o.ExternalLabels)) {
			fmt.Fprintf(&b, "    %s: %q\n", k, o.ExternalLabels[k])
		}
	}
	if len(o.RuleFiles) > 0 {
		b.WriteString("rule_files:\n")
		for _, f := range o.RuleFiles {
			fmt.Fprintf(&b, "- %q\n", f)
		}
	}
	if o.AlertmanagerAddr != "" {
		fmt.Fprintf(&b, "alerting:\n  alertmanagers:\n  - api_version: v2\n    static_configs:\n    - targets: [%q]\n", o.AlertmanagerAddr)
	}
	b.WriteString("scrape_configs:\n")
	if o.ExporterAddr != "" {
		fmt.Fprintf(&b, "- job_name: kube-job-exporter\n  honor_labels: true\n  static_configs:\n  - targets: [%q]\n", o.ExporterAddr)
	}
	for _, t := range o.Targets {
		fmt.Fprintf(&b, "- job_name: %q\n  honor_labels: true\n  static_configs:\n  - targets: [%q]\n", t.Job, t.Addr)
	}
	return b.String()
}

// model formats a duration as Prometheus config wants it ("1500ms", "2s").
func model(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

// StartPrometheus writes a config (PrometheusConfig) into WorkDir, starts
// the server and waits until /-/ready answers 200.
func StartPrometheus(ctx context.Context, o PrometheusOptions) (*Prometheus, error) {
	return retryPortClash(o.ListenAddress == "", func() (*Prometheus, error) { return startPrometheus(ctx, o) })
}

func startPrometheus(ctx context.Context, o PrometheusOptions) (*Prometheus, error) {
	if o.Binary == "" || o.WorkDir == "" {
		return nil, errors.New("StartPrometheus: Binary and WorkDir are required")
	}
	if o.ListenAddress == "" {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		o.ListenAddress = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}
	if err := os.MkdirAll(o.WorkDir, 0o755); err != nil {
		return nil, err
	}
	cfg := filepath.Join(o.WorkDir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(PrometheusConfig(o)), 0o644); err != nil {
		return nil, err
	}
	args := []string{
		"--config.file=" + cfg,
		"--storage.tsdb.path=" + filepath.Join(o.WorkDir, "data"),
		"--storage.tsdb.retention.time=1d",
		"--web.listen-address=" + o.ListenAddress,
		"--web.external-url=http://" + o.ListenAddress + "/",
		"--log.level=info",
	}
	p := &Prometheus{addr: o.ListenAddress, http: &http.Client{Timeout: 30 * time.Second}}
	proc, err := startProcess(o.Binary, args, nil, o.Output)
	if err != nil {
		return nil, fmt.Errorf("start prometheus: %w", err)
	}
	p.proc = proc
	if err := proc.waitReady(ctx, "prometheus", p.URL("/-/ready"), o.ReadyTimeout); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

// URL returns the server's URL for path ("/", "/api/v1/query", ...).
func (p *Prometheus) URL(path string) string { return "http://" + p.addr + path }

// Addr is the server's listen address.
func (p *Prometheus) Addr() string { return p.addr }

// Logs returns the end of the server's output.
func (p *Prometheus) Logs() string { return p.proc.logs.String() }

// Exited is closed when the process has ended.
func (p *Prometheus) Exited() <-chan struct{} { return p.proc.done }

// Stop sends SIGTERM, waits up to 10s, then kills the process.
func (p *Prometheus) Stop() error { return p.proc.stop() }

// PromSample is one series of a query result (vector or matrix).
type PromSample struct {
	Metric map[string]string `json:"metric"`
	// Value is the sample of an instant vector (or scalar); Values the
	// samples of a matrix.
	Value  float64
	Values []float64
}

// PromResult is the answer of /api/v1/query or /api/v1/query_range.
type PromResult struct {
	Type     string // vector, matrix, scalar, string
	Samples  []PromSample
	Warnings []string
	Infos    []string
}

type promAPIResponse struct {
	Status    string          `json:"status"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
	Infos     []string        `json:"infos"`
	Data      json.RawMessage `json:"data"`
}

// API calls a Prometheus HTTP API endpoint (GET with the form values) and
// returns its data field; an "error" status is an error.
func (p *Prometheus) API(ctx context.Context, path string, form url.Values) (json.RawMessage, *promAPIResponse, error) {
	u := p.URL(path)
	if len(form) > 0 {
		u += "?" + form.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	var r promAPIResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, nil, fmt.Errorf("GET %s: %s: %.300s", path, resp.Status, body)
	}
	if r.Status != "success" {
		return nil, &r, fmt.Errorf("GET %s: %s: %s", path, r.ErrorType, r.Error)
	}
	return r.Data, &r, nil
}

// Query runs an instant query at time at (zero: now).
func (p *Prometheus) Query(ctx context.Context, expr string, at time.Time) (*PromResult, error) {
	form := url.Values{"query": {expr}}
	if !at.IsZero() {
		form.Set("time", strconv.FormatFloat(float64(at.UnixNano())/1e9, 'f', 3, 64))
	}
	return p.query(ctx, "/api/v1/query", form)
}

// QueryRange runs a range query.
func (p *Prometheus) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) (*PromResult, error) {
	form := url.Values{
		"query": {expr},
		"start": {strconv.FormatFloat(float64(start.UnixNano())/1e9, 'f', 3, 64)},
		"end":   {strconv.FormatFloat(float64(end.UnixNano())/1e9, 'f', 3, 64)},
		"step":  {strconv.FormatFloat(step.Seconds(), 'f', 3, 64)},
	}
	return p.query(ctx, "/api/v1/query_range", form)
}

func (p *Prometheus) query(ctx context.Context, path string, form url.Values) (*PromResult, error) {
	data, r, err := p.API(ctx, path, form)
	if err != nil {
		return nil, err
	}
	var d struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	res := &PromResult{Type: d.ResultType, Warnings: r.Warnings, Infos: r.Infos}
	switch d.ResultType {
	case "vector", "matrix":
		var raw []struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value"`
			Values [][]any           `json:"values"`
		}
		if err := json.Unmarshal(d.Result, &raw); err != nil {
			return nil, err
		}
		for _, s := range raw {
			ps := PromSample{Metric: s.Metric}
			if s.Value != nil {
				ps.Value = promValue(s.Value)
			}
			for _, v := range s.Values {
				ps.Values = append(ps.Values, promValue(v))
			}
			res.Samples = append(res.Samples, ps)
		}
	case "scalar":
		var v []any
		if err := json.Unmarshal(d.Result, &v); err != nil {
			return nil, err
		}
		res.Samples = []PromSample{{Value: promValue(v)}}
	}
	return res, nil
}

func promValue(pair []any) float64 {
	if len(pair) != 2 {
		return 0
	}
	s, _ := pair[1].(string)
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// RuleHealth is one rule of /api/v1/rules.
type RuleHealth struct {
	Group     string
	Name      string // alert or record name
	Health    string // ok, err, unknown
	LastError string
	State     string // alerts: inactive, pending, firing
}

// Rules lists the loaded rules with their health.
func (p *Prometheus) Rules(ctx context.Context) ([]RuleHealth, error) {
	data, _, err := p.API(ctx, "/api/v1/rules", nil)
	if err != nil {
		return nil, err
	}
	var d struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Name      string `json:"name"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
				State     string `json:"state"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	var out []RuleHealth
	for _, g := range d.Groups {
		for _, r := range g.Rules {
			out = append(out, RuleHealth{Group: g.Name, Name: r.Name, Health: r.Health, LastError: r.LastError, State: r.State})
		}
	}
	return out, nil
}

// RuleGroupEvaluation is the last evaluation of one rule group, as
// /api/v1/rules reports it (the same figure as the server's metric
// prometheus_rule_group_last_duration_seconds).
type RuleGroupEvaluation struct {
	Group          string
	File           string
	LastEvaluation time.Time
	Duration       time.Duration
}

// RuleGroupEvaluations lists every rule group's last evaluation.
func (p *Prometheus) RuleGroupEvaluations(ctx context.Context) ([]RuleGroupEvaluation, error) {
	data, _, err := p.API(ctx, "/api/v1/rules", nil)
	if err != nil {
		return nil, err
	}
	var d struct {
		Groups []struct {
			Name           string    `json:"name"`
			File           string    `json:"file"`
			LastEvaluation time.Time `json:"lastEvaluation"`
			EvaluationTime float64   `json:"evaluationTime"` // seconds
		} `json:"groups"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	out := make([]RuleGroupEvaluation, 0, len(d.Groups))
	for _, g := range d.Groups {
		out = append(out, RuleGroupEvaluation{Group: g.Name, File: g.File, LastEvaluation: g.LastEvaluation,
			Duration: time.Duration(g.EvaluationTime * float64(time.Second))})
	}
	return out, nil
}

// TargetHealth is one active scrape target of /api/v1/targets.
type TargetHealth struct {
	Job, ScrapeURL, Health, LastError string
}

// Targets lists the active scrape targets.
func (p *Prometheus) Targets(ctx context.Context) ([]TargetHealth, error) {
	data, _, err := p.API(ctx, "/api/v1/targets", url.Values{"state": {"active"}})
	if err != nil {
		return nil, err
	}
	var d struct {
		ActiveTargets []struct {
			ScrapePool string `json:"scrapePool"`
			ScrapeURL  string `json:"scrapeUrl"`
			Health     string `json:"health"`
			LastError  string `json:"lastError"`
		} `json:"activeTargets"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	var out []TargetHealth
	for _, t := range d.ActiveTargets {
		out = append(out, TargetHealth{Job: t.ScrapePool, ScrapeURL: t.ScrapeURL, Health: t.Health, LastError: t.LastError})
	}
	return out, nil
}

// retryPortClash retries start (at most 3 times) when the free port it
// picked was taken by someone else before the child bound it.
func retryPortClash[T any](autoPort bool, start func() (T, error)) (T, error) {
	for i := 0; ; i++ {
		v, err := start()
		if err == nil || !autoPort || i == 2 || !strings.Contains(err.Error(), "address already in use") {
			return v, err
		}
	}
}

// process is a child process with a tail of its output (the exporter,
// Prometheus, Alertmanager), stopped with SIGTERM, then SIGKILL after 10s.
type process struct {
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	logs    *tailBuffer
	once    sync.Once
}

// startProcess starts bin with args, env on top of the test's environment,
// its output also copied to output (if not nil).
func startProcess(bin string, args, env []string, output io.Writer) (*process, error) {
	p := &process{done: make(chan struct{}), logs: &tailBuffer{max: 64 << 10}}
	var out io.Writer = p.logs
	if output != nil {
		out = io.MultiWriter(p.logs, output)
	}
	p.cmd = exec.Command(bin, args...)
	if len(env) > 0 {
		p.cmd.Env = append(os.Environ(), env...)
	}
	p.cmd.Stdout, p.cmd.Stderr = out, out
	setDeathSignal(p.cmd)
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// waitReady polls readyURL until it answers 200.
func (p *process) waitReady(ctx context.Context, what, readyURL string, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = time.Minute
	}
	client := &http.Client{Timeout: 5 * time.Second}
	err := Eventually(ctx, timeout, func(ctx context.Context) (bool, string, error) {
		select {
		case <-p.done:
			return false, "", fmt.Errorf("%s exited before it was ready: %v", what, p.waitErr)
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, readyURL, nil)
		if err != nil {
			return false, "", err
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, err.Error(), nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, fmt.Sprintf("%s answered %d", readyURL, resp.StatusCode), nil
	})
	if err != nil {
		return fmt.Errorf("%s not ready: %w\n%s output:\n%s", what, err, what, p.logs.String())
	}
	return nil
}

func (p *process) stop() error {
	p.once.Do(func() {
		if p.cmd.Process == nil {
			return
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	<-p.done
	var exitErr *exec.ExitError
	if errors.As(p.waitErr, &exitErr) && exitErr.Sys().(syscall.WaitStatus).Signaled() {
		return nil
	}
	return p.waitErr
}
