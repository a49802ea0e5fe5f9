// Command demo runs kube-job-exporter against an embedded cluster (etcd, a
// real kube-apiserver and the real Job controller, plus the harness's pod
// driver) fed with a stream of demo Jobs that fail in every way the
// exporter explains. `make demo` builds and runs it. Ctrl-C stops
// everything and removes what it created.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9847", "exporter listen address (a free port is used if this one is taken)")
	interval := flag.Duration("interval", 20*time.Second, "how often a new demo Job starts")
	keep := flag.Duration("keep", 5*time.Minute, "finished demo Jobs are deleted after this long (as a TTL would)")
	logLevel := flag.String("log.level", "info", "exporter log level")
	pipeline := flag.Bool("pipeline", true, "also start Prometheus (built from the tools module on first use) and Alertmanager (if installed: make pipeline-deps) with the mixin's rules")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	// Keep running to clean up when stdout goes away (`make demo | tee`,
	// Ctrl-C kills tee first): writes then fail instead of killing us.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	if err := run(ctx, *listen, *interval, *keep, *logLevel, *pipeline); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

func say(format string, args ...any) {
	fmt.Printf("%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func run(ctx context.Context, listen string, interval, keep time.Duration, logLevel string, withPipeline bool) error {
	work, err := os.MkdirTemp("", "kube-job-exporter-demo-")
	if err != nil {
		return err
	}
	defer func() {
		os.RemoveAll(work)
		say("stopped; removed %s", work)
	}()
	begin := time.Now()
	// Libraries inside the control plane (etcd's client, gRPC) log to
	// stderr; send that to a file so the terminal shows the demo only.
	if err := redirectStderr(filepath.Join(work, "stderr.log")); err != nil {
		return err
	}

	// The exporter build (cached: seconds) overlaps the control plane start.
	type built struct {
		path string
		err  error
	}
	buildDone := make(chan built, 1)
	if os.Getenv(harness.ExporterBinaryEnv) == "" {
		say("building the exporter (go build ./cmd/kube-job-exporter)")
	}
	go func() {
		p, err := harness.BuildExporter(ctx, work, nil)
		buildDone <- built{p, err}
	}()

	cluster, err := harness.Start(ctx, harness.Options{
		WorkDir: filepath.Join(work, "cluster"),
		// As in a cluster: the TTL controller deletes finished Jobs that
		// ask for it (audit-export), the garbage collector their pods.
		GarbageCollector: true, TTLAfterFinished: true,
		Progress: func(format string, args ...any) { say(format, args...) },
	})
	if err != nil {
		<-buildDone
		if ctx.Err() != nil {
			say("interrupted during start-up")
			return ctx.Err()
		}
		return fmt.Errorf("start cluster: %w", err)
	}
	defer func() {
		say("stopping the control plane")
		cluster.Stop()
	}()

	b := <-buildDone
	if b.err != nil {
		return b.err
	}
	if !portFree(listen) {
		listen = "127.0.0.1:0"
	}
	addr, err := resolveListen(listen)
	if err != nil {
		return err
	}
	logPath := filepath.Join(work, "exporter.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	initial, maxDelay := cluster.JobBackoff()
	say("starting the exporter on %s (--job.backoff-initial=%s --job.backoff-max=%s, as the demo's Job controller)", addr, initial, maxDelay)
	exp, err := harness.StartExporter(ctx, harness.ExporterOptions{
		Binary: b.path, Kubeconfig: cluster.Kubeconfig(), ListenAddress: addr,
		BackoffInitial: initial, BackoffMax: maxDelay, LogLevel: logLevel, Output: logf,
		Args: []string{"--job.pod-start-timeout=" + demoStartTimeout.String(), "--cronjob.missed-grace=1m"},
	})
	if err != nil {
		return err
	}
	defer func() {
		say("stopping the exporter")
		exp.Stop()
	}()

	d := newDemo(cluster.Client(), keep)
	if err := d.setup(ctx); err != nil {
		return err
	}

	// Prometheus scraping the exporter with the mixin's rules, and
	// Alertmanager paging a webhook, so the alerts can be seen firing.
	pipelineText := "  Prometheus and Alertmanager: not started (-pipeline=false)\n"
	if withPipeline {
		// Alertmanager runs the mixin's example configuration: one
		// notification per Job, the inhibition rules.
		amConfig, err := harness.ExampleAlertmanagerConfig()
		if err != nil {
			return err
		}
		pipe, err := harness.StartPipeline(ctx, harness.PipelineOptions{
			ExporterAddr: exp.Addr(), WorkDir: filepath.Join(work, "pipeline"),
			AlertmanagerOptional: true, AlertmanagerConfigFile: amConfig,
			Progress: say, MixinConfig: demoStuckFor,
			OnNotification: func(n harness.Notification) {
				for _, a := range n.Message.Alerts {
					say("page %s to %s: %s %s/%s%s", a.Status, n.Message.Receiver, a.Labels["alertname"], a.Labels["namespace"], a.Labels["job_name"], a.Labels["cronjob"])
				}
			},
		})
		if err != nil {
			pipelineText = fmt.Sprintf("  Prometheus and Alertmanager: not started: %v\n", err)
		} else {
			defer func() {
				say("stopping Prometheus and Alertmanager")
				pipe.Stop()
			}()
			pipelineText = pipe.Describe()
		}
	}

	fmt.Printf(`
kube-job-exporter demo is running (started in %s).

  failing now:   %s
  metrics:       %s
  landing page:  %s
  runbooks:      %s
  kubeconfig:    %s
                 export KUBECONFIG=%s; kubectl get jobs,pods -n demo
  logs:          %s (exporter), %s (control plane)

Demo Jobs in namespace "demo" (a new run every %s; finished ones deleted after %s):
%s
Pods count as not starting after %s, the stuck-Job alerts wait 1m here (5m and 15m as shipped), and a CronJob's run is missed 1m late (5m as shipped).

Try:  curl -s %s | grep -E '^kubejob_(failed|pod_failures|retries|pods_waiting)'

%s
Press Ctrl-C to stop; everything is removed.

`, time.Since(begin).Round(100*time.Millisecond),
		exp.URL("/failing"), exp.URL("/metrics"), exp.URL("/"), exp.URL("/runbooks/"), cluster.Kubeconfig(), cluster.Kubeconfig(),
		logPath, filepath.Join(cluster.WorkDir(), "control-plane.log"),
		interval, keep, d.describe(), demoStartTimeout, exp.URL("/metrics"), pipelineText)

	return d.stream(ctx, interval, exp)
}

// The demo shows stuck Jobs paging within minutes: a pod counts as not
// starting after 30s (the exporter's default is 5m) and the stuck alerts
// wait 1m (15m in the mixin as shipped).
const demoStartTimeout = 30 * time.Second

var demoStuckFor = map[string]any{"podsWaitingFor": "1m", "jobCannotCreatePodsFor": "1m", "cronJobMissedScheduleGraceSeconds": 60}

// stderr is the terminal's stderr, kept for the demo's own errors.
var stderr = os.Stderr

func redirectStderr(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	saved, err := unix.Dup(int(os.Stderr.Fd()))
	if err != nil {
		return err
	}
	stderr = os.NewFile(uintptr(saved), "/dev/stderr")
	return unix.Dup3(int(f.Fd()), int(os.Stderr.Fd()), 0)
}

func portFree(addr string) bool {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func resolveListen(addr string) (string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
