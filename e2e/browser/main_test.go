// Package browser opens the exporter's HTML pages in a real browser:
// headless Chromium (Debian's chromium package) driven over the DevTools
// protocol by chromedp, against the exporter binary watching the harness
// cluster with Jobs that fail in several ways. It checks what only a
// browser shows: no console error, no Content-Security-Policy violation,
// no failed request, links that resolve, the cause visible on screen. It
// also takes the screenshots the README shows (docs/img/, rewritten with
// -update).
//
// Chromium is required: .ci/run installs it (e2e/pipeline/install-deps.sh).
// Without it the suite fails, unless KJE_E2E_SKIP_BROWSER=1 says to skip
// it; KJE_E2E_CHROMIUM names another binary.
package browser

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

const (
	// chromiumEnv names the browser binary (default /usr/bin/chromium, then
	// chromium on PATH).
	chromiumEnv = "KJE_E2E_CHROMIUM"
	// skipEnv, set to any value, skips the suite: the only way it skips.
	skipEnv = "KJE_E2E_SKIP_BROWSER"
)

// startTimeout is the exporter's --job.pod-start-timeout: a pod that cannot
// pull its image counts as stuck this soon.
const startTimeout = 3 * time.Second

var (
	update = flag.Bool("update", false, "rewrite the screenshots in docs/img/ from this run")

	cluster  *harness.Cluster
	exporter *harness.Exporter
	chromium string
	// skipped says why the suite does not run (skipEnv set).
	skipped string
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv(skipEnv) != "" {
		skipped = skipEnv + " is set"
		return m.Run()
	}
	path, err := findChromium()
	if err != nil {
		// Before the cluster starts: fail at once, and say how to fix it.
		fmt.Fprintf(os.Stderr, "browser: %v\n  install it with `bash e2e/pipeline/install-deps.sh` (as .ci/run does: Debian's chromium package),\n  or set %s to a Chromium binary, or set %s=1 to skip these tests\n", err, chromiumEnv, skipEnv)
		return 1
	}
	chromium = path
	return harness.RunSuite("browser", harness.Options{}, func(c *harness.Cluster, binary, work string) int {
		cluster = c
		return runWithExporter(m, c, binary, work)
	})
}

// findChromium is the browser to drive: $KJE_E2E_CHROMIUM, else Debian's
// /usr/bin/chromium, else chromium on PATH.
func findChromium() (string, error) {
	if p := os.Getenv(chromiumEnv); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("$%s=%s: %w", chromiumEnv, p, err)
		}
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p, nil
	}
	return "", errors.New("chromium not found (not at /usr/bin/chromium nor on PATH)")
}

func runWithExporter(m *testing.M, c *harness.Cluster, binary, work string) int {
	e, stop, err := harness.StartSuiteExporter(context.Background(), c, binary, work, harness.ExporterOptions{
		Args: []string{"--job.pod-start-timeout=" + startTimeout.String()},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "browser: start exporter: %v\n", err)
		return 1
	}
	exporter = e
	defer func() {
		if err := stop(); err != nil {
			fmt.Fprintf(os.Stderr, "browser: exporter stop: %v\n", err)
		}
	}()
	return m.Run()
}
