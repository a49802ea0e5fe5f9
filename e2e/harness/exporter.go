package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ExporterPackage is the exporter's main package, relative to the repository root.
const ExporterPackage = "./cmd/kube-job-exporter"

// ExporterBinaryEnv names a prebuilt exporter binary to use instead of
// building one (e.g. bin/kube-job-exporter from `make build`).
const ExporterBinaryEnv = "KJE_E2E_EXPORTER"

// RepoRoot finds the exporter's repository root: the nearest directory, from
// the working directory up, that holds cmd/kube-job-exporter.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if st, err := os.Stat(filepath.Join(dir, "cmd", "kube-job-exporter")); err == nil && st.IsDir() {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root (with cmd/kube-job-exporter) not found above the working directory")
		}
		dir = parent
	}
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// BuildExporter returns the exporter binary: the one named by
// $KJE_E2E_EXPORTER, or else `go build -o <outDir>/kube-job-exporter
// ./cmd/kube-job-exporter` run in the repository root. Build output goes
// to log (may be nil).
func BuildExporter(ctx context.Context, outDir string, log io.Writer) (string, error) {
	if p := os.Getenv(ExporterBinaryEnv); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("$%s: %w", ExporterBinaryEnv, err)
		}
		return abs, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(outDir, "kube-job-exporter")
	cmd := exec.CommandContext(ctx, goTool(), "build", "-o", out, ExporterPackage)
	cmd.Dir = root
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if log != nil {
		cmd.Stdout, cmd.Stderr = io.MultiWriter(&buf, log), io.MultiWriter(&buf, log)
	}
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build %s in %s: %v\n%s", ExporterPackage, root, err, buf.String())
	}
	return out, nil
}

// ExporterOptions configures StartExporter.
type ExporterOptions struct {
	Binary     string // required
	Kubeconfig string // required
	// BackoffInitial and BackoffMax are passed as --job.backoff-initial and
	// --job.backoff-max; use Cluster.JobBackoff().
	BackoffInitial time.Duration
	BackoffMax     time.Duration
	// ListenAddress defaults to 127.0.0.1 on a free port.
	ListenAddress string
	LogLevel      string   // default "info"
	Args          []string // extra flags
	Env           []string // extra environment ("GOMEMLIMIT=128MiB"), on top of the test's own
	// Output receives the exporter's stdout and stderr (default: discarded,
	// but the last 64 KiB are kept for error messages; see Exporter.Logs).
	Output io.Writer
	// ReadyTimeout bounds the wait for /readyz (default 1m).
	ReadyTimeout time.Duration
	// WaitListening waits only until the port accepts connections, not
	// for /readyz 200: for an exporter that is not meant to become ready
	// (RBAC denies it) or serves TLS.
	WaitListening bool
}

// Exporter is a running exporter process.
type Exporter struct {
	*process
	addr string
	http *http.Client
}

// StartSuiteExporter starts the exporter a suite's tests share: binary
// against c, with c's Job backoff, its output in work/exporter.log (which
// RunSuite keeps when the suite fails); o sets the rest (LogLevel, Args).
// stop stops it and closes the log.
func StartSuiteExporter(ctx context.Context, c *Cluster, binary, work string, o ExporterOptions) (e *Exporter, stop func() error, err error) {
	logf, err := os.Create(filepath.Join(work, "exporter.log"))
	if err != nil {
		return nil, nil, err
	}
	o.Binary, o.Kubeconfig, o.Output = binary, c.Kubeconfig(), logf
	o.BackoffInitial, o.BackoffMax = c.JobBackoff()
	e, err = StartExporter(ctx, o)
	if err != nil {
		logf.Close()
		return nil, nil, err
	}
	return e, func() error { return errors.Join(e.Stop(), logf.Close()) }, nil
}

// StartExporter runs the exporter binary as a separate process, exactly as a
// user would, and waits until /readyz answers 200.
func StartExporter(ctx context.Context, o ExporterOptions) (*Exporter, error) {
	if o.Binary == "" || o.Kubeconfig == "" {
		return nil, errors.New("StartExporter: Binary and Kubeconfig are required")
	}
	if o.ListenAddress == "" {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		o.ListenAddress = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = time.Minute
	}
	args := []string{
		"--kube.config=" + o.Kubeconfig,
		"--web.listen-address=" + o.ListenAddress,
		"--web.telemetry-path=/metrics",
		"--log.level=" + o.LogLevel,
	}
	if o.BackoffInitial > 0 {
		args = append(args, "--job.backoff-initial="+o.BackoffInitial.String())
	}
	if o.BackoffMax > 0 {
		args = append(args, "--job.backoff-max="+o.BackoffMax.String())
	}
	args = append(args, o.Args...)
	proc, err := startProcess(o.Binary, args, o.Env, o.Output)
	if err != nil {
		return nil, fmt.Errorf("start exporter: %w", err)
	}
	e := &Exporter{process: proc, addr: o.ListenAddress, http: &http.Client{Timeout: 10 * time.Second}}
	err = Eventually(ctx, o.ReadyTimeout, func(ctx context.Context) (bool, string, error) {
		select {
		case <-e.done:
			return false, "", fmt.Errorf("exporter exited before it was ready: %v\n%s", e.waitErr, e.logs.String())
		default:
		}
		if o.WaitListening {
			c, err := net.DialTimeout("tcp", e.addr, time.Second)
			if err != nil {
				return false, err.Error(), nil
			}
			c.Close()
			return true, "", nil
		}
		code, _, err := e.Get(ctx, "/readyz")
		if err != nil {
			return false, err.Error(), nil
		}
		return code == http.StatusOK, fmt.Sprintf("/readyz answered %d", code), nil
	})
	if err != nil {
		e.Stop()
		return nil, fmt.Errorf("exporter not ready: %w\nexporter output:\n%s", err, e.logs.String())
	}
	return e, nil
}

// URL returns the exporter's URL for path ("/metrics", "/", ...).
func (e *Exporter) URL(path string) string { return "http://" + e.addr + path }

// Addr is the exporter's listen address.
func (e *Exporter) Addr() string { return e.addr }

// Logs returns the end of the exporter's output.
func (e *Exporter) Logs() string { return e.logs.String() }

// Get fetches path and returns the status code and body.
func (e *Exporter) Get(ctx context.Context, path string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL(path), nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := e.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// Scrape fetches and parses /metrics.
func (e *Exporter) Scrape(ctx context.Context) (*Metrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL("/metrics"), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := e.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("GET /metrics: %s: %s", resp.Status, b)
	}
	return ParseMetrics(resp.Body)
}

// WaitMetrics scrapes until cond holds and returns that scrape. cond says
// what it still misses; on timeout the error carries that and the last
// scrape's kubejob_ series selected by show (nil: none).
func (e *Exporter) WaitMetrics(ctx context.Context, timeout time.Duration, show Labels, cond func(m *Metrics) (bool, string)) (*Metrics, error) {
	var last *Metrics
	err := Eventually(ctx, timeout, func(ctx context.Context) (bool, string, error) {
		select {
		case <-e.done:
			return false, "", fmt.Errorf("exporter exited: %v\n%s", e.waitErr, e.logs.String())
		default:
		}
		m, err := e.Scrape(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return false, "", nil // timed out mid-scrape: keep the last reason
			}
			return false, "scrape: " + err.Error(), nil
		}
		last = m
		ok, why := cond(m)
		return ok, why, nil
	})
	if err != nil {
		if last != nil && show != nil {
			err = fmt.Errorf("%w\nlast scrape:\n%s", err, last.Dump(show, kubejobNames(last)...))
		}
		return last, err
	}
	return last, nil
}

func kubejobNames(m *Metrics) []string {
	var names []string
	for n := range m.Families {
		if strings.HasPrefix(n, "kubejob_") && !strings.HasPrefix(n, "kubejob_exporter_") {
			names = append(names, n)
		}
	}
	return names
}

// Exited is closed when the exporter process has ended.
func (e *Exporter) Exited() <-chan struct{} { return e.done }

// Err is how the process ended (after Exited is closed).
func (e *Exporter) Err() error { return e.waitErr }

// Pid is the exporter's process ID.
func (e *Exporter) Pid() int { return e.cmd.Process.Pid }

// Stop sends SIGTERM, waits up to 10s, then kills the process.
func (e *Exporter) Stop() error { return e.stop() }

// tailBuffer keeps the last max bytes written.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append([]byte(nil), t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
