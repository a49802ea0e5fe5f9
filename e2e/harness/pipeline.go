package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Rule files the mixin generates (mixin/build.jsonnet).
var MixinRuleFiles = []string{
	"alerts/kube-job-exporter-alerts.yaml",
	"alerts/kube-job-exporter-rules.yaml",
}

// GenerateMixin runs `make mixin-build OUT=outDir EXPORTER_URL=...` in the
// repository root: the mixin's rule files and dashboards as a user would
// generate them, with live_report_url and the dashboards' runbook links at
// exporterURL (e.g. http://<exporter>; "": the published runbooks only)
// and the _config fields of config (nil: none) overridden. It returns the
// rule file paths.
func GenerateMixin(ctx context.Context, outDir, exporterURL string, config map[string]any, log io.Writer) ([]string, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	outDir, err = filepath.Abs(outDir)
	if err != nil {
		return nil, err
	}
	args := []string{"--no-print-directory", "-C", root, "mixin-build", "GO=" + goTool(), "OUT=" + outDir, "EXPORTER_URL=" + exporterURL}
	if len(config) > 0 {
		b, err := json.Marshal(config)
		if err != nil {
			return nil, err
		}
		args = append(args, "MIXIN_CONFIG="+string(b))
	}
	cmd := exec.CommandContext(ctx, "make", args...)
	// Not part of an outer make's jobserver (make e2e runs go test).
	cmd.Env = withoutEnv(os.Environ(), "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKE_TERMOUT", "MAKE_TERMERR")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if log != nil {
		cmd.Stdout, cmd.Stderr = io.MultiWriter(&buf, log), io.MultiWriter(&buf, log)
	}
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("make mixin-build: %v\n%s", err, buf.String())
	}
	var files []string
	for _, f := range MixinRuleFiles {
		p := filepath.Join(outDir, f)
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("make mixin-build did not write %s: %w", f, err)
		}
		files = append(files, p)
	}
	return files, nil
}

// PublishedRunbookPattern is where the project publishes its runbooks
// (the mixin's default _config.runbookURLPattern, a fmt pattern of the
// alert name): mixin/runbooks/<Alert>.md of the repository on GitHub, from
// the module path of the repository's go.mod. runbook_url of every alert
// is that page, whatever the configuration.
func PublishedRunbookPattern() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if m, ok := strings.CutPrefix(l, "module github.com/"); ok {
			return "https://github.com/" + strings.TrimSpace(m) + "/blob/main/mixin/runbooks/%s.md", nil
		}
	}
	return "", errors.New("go.mod: no github.com module path")
}

func withoutEnv(env []string, names ...string) []string {
	out := env[:0:0]
next:
	for _, kv := range env {
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

// PipelineOptions configures StartPipeline.
type PipelineOptions struct {
	// ExporterAddr (host:port) is scraped as job "kube-job-exporter" and
	// serves the live reports the alerts link to (live_report_url).
	// Required.
	ExporterAddr string
	// WorkDir holds the generated rules and dashboards (mixin/), and the
	// config, data and logs of Prometheus and Alertmanager. Required.
	WorkDir string

	// PrometheusBinary: empty means BuildPrometheus (bin/prometheus, built
	// once from the tools module).
	PrometheusBinary string
	// AlertmanagerBinary: empty means FindAlertmanager.
	AlertmanagerBinary string
	// AlertmanagerOptional: without an Alertmanager binary, start
	// Prometheus alone (Pipeline.Alertmanager nil, Pipeline.Note says why)
	// instead of failing. For make demo.
	AlertmanagerOptional bool

	// AlertmanagerConfigFile: the configuration Alertmanager runs with
	// its receivers pointed at the webhook (AlertmanagerOptions.ConfigFile;
	// empty: the harness' own, one group per alert).
	AlertmanagerConfigFile string

	// MixinConfig overrides _config fields of the generated rules (nil:
	// the mixin as shipped).
	MixinConfig map[string]any

	// OnNotification, if set, is called for every notification the
	// pipeline's webhook receiver gets (the demo prints them).
	OnNotification func(Notification)

	// ScrapeInterval (default 2s), EvaluationInterval (default 1s).
	ScrapeInterval, EvaluationInterval time.Duration

	// Progress, if set, gets one short line per step.
	Progress func(format string, args ...any)
}

// Pipeline is the monitoring stack a user runs around the exporter:
// Prometheus scraping it and evaluating the mixin's rules, Alertmanager
// routing the alerts to a webhook receiver that records every page.
type Pipeline struct {
	Prometheus   *Prometheus
	Alertmanager *Alertmanager // nil when optional and not installed
	Webhook      *WebhookReceiver
	// RuleFiles and DashboardDir are the generated mixin files in use.
	RuleFiles    []string
	DashboardDir string
	// PrometheusBinary and AlertmanagerBinary are the binaries running.
	PrometheusBinary, AlertmanagerBinary string
	// PrometheusVersion and AlertmanagerVersion as the running servers
	// report them (e.g. 3.16.0, 0.25.0).
	PrometheusVersion, AlertmanagerVersion string
	// Note explains a missing part (no Alertmanager), or is empty.
	Note string
	logs []*os.File
}

// PrometheusURL is the Prometheus UI/API base URL ("http://127.0.0.1:port/").
func (p *Pipeline) PrometheusURL() string { return p.Prometheus.URL("/") }

// AlertmanagerURL is Alertmanager's base URL, or "" when it is not running.
func (p *Pipeline) AlertmanagerURL() string {
	if p.Alertmanager == nil {
		return ""
	}
	return p.Alertmanager.URL("/")
}

// StartPipeline generates the mixin with live report links to the
// exporter (make mixin-build EXPORTER_URL=http://<ExporterAddr>), builds
// or finds Prometheus and Alertmanager, and starts the webhook receiver,
// Alertmanager and Prometheus. Logs go to
// <WorkDir>/prometheus.log and alertmanager.log. Stop ends everything.
//
//	p, err := harness.StartPipeline(ctx, harness.PipelineOptions{
//		ExporterAddr: exp.Addr(), WorkDir: dir, AlertmanagerOptional: true})
//	fmt.Println(p.PrometheusURL(), p.AlertmanagerURL())
//	defer p.Stop()
func StartPipeline(ctx context.Context, o PipelineOptions) (_ *Pipeline, retErr error) {
	if o.ExporterAddr == "" || o.WorkDir == "" {
		return nil, errors.New("StartPipeline: ExporterAddr and WorkDir are required")
	}
	progress := o.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	p := &Pipeline{}
	defer func() {
		if retErr != nil {
			p.Stop()
		}
	}()
	if err := os.MkdirAll(o.WorkDir, 0o755); err != nil {
		return nil, err
	}

	progress("generating the mixin's rules and dashboards (make mixin-build)")
	mixinDir := filepath.Join(o.WorkDir, "mixin")
	rules, err := GenerateMixin(ctx, mixinDir, "http://"+o.ExporterAddr, o.MixinConfig, nil)
	if err != nil {
		return nil, err
	}
	p.RuleFiles, p.DashboardDir = rules, filepath.Join(mixinDir, "dashboards")

	p.PrometheusBinary = o.PrometheusBinary
	if p.PrometheusBinary == "" {
		progress("building Prometheus from the tools module if needed (about a minute the first time)")
		if p.PrometheusBinary, err = BuildPrometheus(ctx, nil); err != nil {
			return nil, err
		}
	}
	p.AlertmanagerBinary = o.AlertmanagerBinary
	if p.AlertmanagerBinary == "" {
		p.AlertmanagerBinary, err = FindAlertmanager()
		if err != nil && !o.AlertmanagerOptional {
			return nil, err
		}
		if err != nil {
			p.Note = err.Error()
		}
	}

	logFile := func(name string) (*os.File, error) {
		f, err := os.Create(filepath.Join(o.WorkDir, name))
		if err == nil {
			p.logs = append(p.logs, f)
		}
		return f, err
	}
	var amAddr string
	if p.AlertmanagerBinary != "" {
		if p.Webhook, err = StartWebhookReceiver(o.OnNotification); err != nil {
			return nil, err
		}
		lf, err := logFile("alertmanager.log")
		if err != nil {
			return nil, err
		}
		progress("starting Alertmanager (%s)", p.AlertmanagerBinary)
		p.Alertmanager, err = StartAlertmanager(ctx, AlertmanagerOptions{
			Binary: p.AlertmanagerBinary, WorkDir: filepath.Join(o.WorkDir, "alertmanager"),
			WebhookURL: p.Webhook.URL(), ConfigFile: o.AlertmanagerConfigFile, Output: lf,
		})
		if err != nil {
			return nil, err
		}
		amAddr = p.Alertmanager.Addr()
	}
	lf, err := logFile("prometheus.log")
	if err != nil {
		return nil, err
	}
	progress("starting Prometheus (%s)", p.PrometheusBinary)
	p.Prometheus, err = StartPrometheus(ctx, PrometheusOptions{
		Binary: p.PrometheusBinary, WorkDir: filepath.Join(o.WorkDir, "prometheus"),
		ExporterAddr: o.ExporterAddr, RuleFiles: rules, AlertmanagerAddr: amAddr,
		ScrapeInterval: o.ScrapeInterval, EvaluationInterval: o.EvaluationInterval,
		Output: lf,
	})
	if err != nil {
		return nil, err
	}
	p.PrometheusVersion = p.version(ctx, p.Prometheus.URL("/api/v1/status/buildinfo"), "data", "version")
	links := []string{"Prometheus alerts (API)", p.Prometheus.URL("/api/v1/alerts"), "rules (API)", p.Prometheus.URL("/api/v1/rules")}
	if p.Alertmanager != nil {
		p.AlertmanagerVersion = p.version(ctx, p.Alertmanager.URL("/api/v2/status"), "versionInfo", "version")
		links = append(links, "Alertmanager alerts (API)", p.Alertmanager.URL("/api/v2/alerts"))
	}
	if p.Webhook != nil {
		p.Webhook.SetLinks(links...)
	}
	return p, nil
}

// version reads a version string from a JSON API answer ({outer:{version:..}}).
func (p *Pipeline) version(ctx context.Context, u, outer, field string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return ""
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var d map[string]json.RawMessage
	var in map[string]any
	if json.NewDecoder(resp.Body).Decode(&d) != nil || json.Unmarshal(d[outer], &in) != nil {
		return ""
	}
	v, _ := in[field].(string)
	return v
}

// PagesURL is the page listing every notification the webhook received
// (with description and runbook link), or "" without Alertmanager.
func (p *Pipeline) PagesURL() string {
	if p.Webhook == nil || p.Alertmanager == nil {
		return ""
	}
	return p.Webhook.PageURL()
}

// Describe is a few lines for a terminal: the URLs to look at. Prometheus
// is built without its web UI assets and Debian's Alertmanager has no web
// UI, so it points at their APIs, amtool and the pages page.
func (p *Pipeline) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  Prometheus %s:  %s  (API only, no UI assets)\n", p.PrometheusVersion, p.PrometheusURL())
	fmt.Fprintf(&b, "                    curl -s '%s' | head -c 2000\n", p.Prometheus.URL("/api/v1/alerts"))
	fmt.Fprintf(&b, "                    curl -s '%s'\n", p.Prometheus.URL("/api/v1/query?query=ALERTS%7Balertstate%3D%22firing%22%7D"))
	if p.Alertmanager == nil {
		fmt.Fprintf(&b, "  Alertmanager:      not started: %s\n", p.Note)
		return b.String()
	}
	fmt.Fprintf(&b, "  Alertmanager %s: %s\n", p.AlertmanagerVersion, p.AlertmanagerURL())
	fmt.Fprintf(&b, "                    amtool --alertmanager.url=%s alert\n", p.AlertmanagerURL())
	fmt.Fprintf(&b, "  pages received:    %s  (every notification: description, runbook link)\n", p.PagesURL())
	return b.String()
}

// Stop stops Prometheus, Alertmanager and the webhook receiver.
func (p *Pipeline) Stop() error {
	var errs []error
	if p.Prometheus != nil {
		errs = append(errs, p.Prometheus.Stop())
	}
	if p.Alertmanager != nil {
		errs = append(errs, p.Alertmanager.Stop())
	}
	if p.Webhook != nil {
		errs = append(errs, p.Webhook.Close())
	}
	for _, f := range p.logs {
		f.Close()
	}
	p.logs = nil
	return errors.Join(errs...)
}
