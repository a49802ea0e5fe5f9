package reliability

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// httpShutdownTimeout is the exporter's HTTP shutdown timeout
// (cmd/kube-job-exporter/main.go): the process must exit within it.
const httpShutdownTimeout = 10 * time.Second

// SIGTERM: the exporter stops serving and exits 0 within its shutdown
// timeout, and nothing listens on its port afterwards; also while the API
// server is unreachable (the informers are in their retry backoff then).
func TestShutdown(t *testing.T) {
	for _, c := range []struct {
		name   string
		outage harness.Outage
	}{{"healthy", harness.OutageNone}, {"during API outage", harness.OutageRefused}} {
		t.Run(c.name, func(t *testing.T) { shutdown(t, c.outage) })
	}
}

func shutdown(t *testing.T, outage harness.Outage) {
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	logPath := filepath.Join(suite.WorkDir, "exporter-shutdown-"+strconv.Itoa(int(suite.seq.Add(1)))+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	initial, maxDelay := suite.Cluster.JobBackoff()
	cmd := exec.Command(suite.Binary, "--kube.config="+suite.Cluster.Kubeconfig(), "--web.listen-address="+addr,
		"--log.level=debug", "--job.backoff-initial="+initial.String(), "--job.backoff-max="+maxDelay.String())
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
			<-done
		}
	})
	logs := func() string { b, _ := os.ReadFile(logPath); return Tail(string(b), 3000) }
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(ctx context.Context, path string) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if err := harness.Eventually(ctx, time.Minute, func(ctx context.Context) (bool, string, error) {
		code, err := get(ctx, "/readyz")
		if err != nil {
			return false, err.Error(), nil
		}
		return code == http.StatusOK, fmt.Sprintf("/readyz %d", code), nil
	}); err != nil {
		t.Fatalf("exporter not ready: %v\n%s", err, logs())
	}
	if outage != harness.OutageNone {
		if err := suite.Cluster.SetAPIServerOutage(outage); err != nil {
			t.Fatal(err)
		}
		defer suite.Cluster.SetAPIServerOutage(harness.OutageNone)
		if err := harness.Eventually(ctx, time.Minute, func(ctx context.Context) (bool, string, error) {
			code, err := get(ctx, "/readyz")
			return code == http.StatusServiceUnavailable, fmt.Sprintf("/readyz %d %v", code, err), nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	// A scrape in flight when the signal comes must still be answered.
	if code, err := get(ctx, "/metrics"); err != nil || code != http.StatusOK {
		t.Fatalf("/metrics before SIGTERM: %d %v", code, err)
	}

	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(httpShutdownTimeout + 20*time.Second):
		t.Fatalf("still running %s after SIGTERM\n%s", time.Since(sent).Round(time.Millisecond), logs())
	}
	took := time.Since(sent)
	t.Logf("exited %s after SIGTERM: %v", took.Round(time.Millisecond), waitErr)
	if took >= httpShutdownTimeout {
		t.Errorf("exit took %s, not within the %s shutdown timeout", took.Round(time.Millisecond), httpShutdownTimeout)
	}
	var exitErr *exec.ExitError
	if errors.As(waitErr, &exitErr) {
		t.Errorf("exit status after SIGTERM: %v, want 0\n%s", exitErr, logs())
	} else if waitErr != nil {
		t.Error(waitErr)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("something still listens on %s after the exporter exited", addr)
	} else if !strings.Contains(err.Error(), "refused") {
		t.Errorf("dial %s after exit: %v, want connection refused", addr, err)
	}
	if !strings.Contains(logs(), "shutting down") {
		t.Errorf("no \"shutting down\" log line:\n%s", logs())
	}
}
