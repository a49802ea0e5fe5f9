package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	kubeversion "k8s.io/apimachinery/pkg/version"

	"github.com/kube-job-exporter/kube-job-exporter/exporter"
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// serveCommand runs the exporter, configured by every option there is.
type serveCommand struct {
	kube       kubeOptions
	connection connectionOptions
	watch      watchOptions
	job        jobOptions
	bounds     boundsOptions
	cronJob    cronJobOptions
	outcomes   outcomesOptions
	evidence   evidenceOptions
	collector  collectorOptions
	web        webOptions
	runtime    runtimeOptions
	log        promslog.Config

	deprecations deprecations
	cmd          *kingpin.CmdClause
}

// addServeCommand defines serve, the default command: `kube-job-exporter
// --flag…` without a command is serve (kingpin moves to the default
// command at the first flag the application does not know).
func addServeCommand(app *kingpin.Application) *serveCommand {
	c := &serveCommand{cmd: app.Command("serve", "Run the exporter (the default command: its flags work without it).").Default()}
	c.kube.register(c.cmd, false)
	c.connection.register(c.cmd)
	c.watch.register(c.cmd)
	c.job.register(c.cmd)
	c.bounds.register(c.cmd)
	c.cronJob.register(c.cmd)
	c.outcomes.register(c.cmd)
	c.evidence.register(c.cmd)
	c.collector.register(c.cmd)
	c.web.register(c.cmd)
	c.runtime.register(c.cmd)
	registerLog(c.cmd, &c.log)
	c.deprecations.addOldNames(c.cmd)
	return c
}

// validate checks everything that can be checked without a cluster; its
// error names the flag.
func (c *serveCommand) validate() error {
	for _, check := range []func() error{
		c.connection.validate,
		c.watch.validate,
		c.job.validate,
		c.bounds.validate,
		c.cronJob.validate,
		c.collector.validate,
		c.outcomes.validate,
		c.evidence.validate,
		c.web.validate,
		c.runtime.validate,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// config is the exporter's configuration from the flags, without what
// needs the cluster (client, backoff from the server's version).
func (c *serveCommand) config(logger *slog.Logger) (exporter.Config, error) {
	cfg := exporter.Config{
		Runbooks: runbookFiles(),
		Version:  version.Info(),
		Logger:   logger,
	}
	if err := c.watch.apply(&cfg); err != nil {
		return cfg, err
	}
	c.connection.apply(&cfg)
	c.job.apply(&cfg)
	c.bounds.apply(&cfg)
	c.cronJob.apply(&cfg)
	c.outcomes.apply(&cfg)
	c.evidence.apply(&cfg)
	c.web.apply(&cfg)
	c.collector.apply(&cfg)
	return cfg, nil
}

// run serves until a signal, a server failure or a watch that cannot
// start; it returns the exit code: 0 after a clean shutdown, 1 on a
// start-up or serving failure.
func (c *serveCommand) run(stderr io.Writer) int {
	c.log.Writer = stderr
	logger := promslog.New(&c.log)
	fail := func(msg string, err error) int {
		logger.Error(msg, "err", err)
		return 1
	}
	c.deprecations.log(logger)
	if err := c.validate(); err != nil {
		return fail("invalid flag", err)
	}
	cfg, err := c.config(logger)
	if err != nil {
		return fail("invalid flag", err)
	}
	logger.Info("starting kube-job-exporter", "version", version.Info(), "build_context", version.BuildContext())
	c.runtime.apply(logger)

	// A kubeconfig that cannot be read is a configuration error: exit now.
	// An API server that does not answer is not: Run waits for it while
	// the handlers serve (see --kube.connect-timeout).
	clients, err := c.kube.clients()
	if err != nil {
		return fail("cannot load Kubernetes client configuration", err)
	}
	host := clients.Host
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg.Client = clients.Kubernetes
	cfg.BackoffFor = func(server kubeversion.Info) (job.Backoff, error) {
		bo, err := c.job.backoff(server)
		if err != nil {
			return bo, fmt.Errorf("invalid backoff flags for the API server's version %s: %w", server.GitVersion, err)
		}
		logger.Info("API server", "host", host, "version", server.GitVersion,
			"backoff_initial", bo.Initial, "backoff_max", bo.Max, "backoff_from", c.job.backoffSource(server))
		return bo, nil
	}
	c.collector.applyClients(&cfg, clients)
	exp, err := exporter.New(cfg)
	if err != nil {
		return fail("invalid configuration", err)
	}
	httpServer, err := exp.HTTPServer(c.web.writeProgress)
	if err != nil {
		return fail("cannot build HTTP handlers", err)
	}
	logger.Info("connecting to the Kubernetes API server", "host", host, "timeout", c.connection.connectTimeout)
	return serve(ctx, stop, exp, httpServer, &c.web, host, logger)
}

// serve runs the watcher and the HTTP servers until ctx is done (a
// signal), a server fails or the watcher cannot start (no answer within
// --kube.connect-timeout, backoff flags the server's version refutes),
// then shuts down; it returns the exit code.
func serve(ctx context.Context, stop func(), exp *exporter.Exporter, httpServer *http.Server, listen *webOptions, host string, logger *slog.Logger) int {
	watchDone := make(chan struct{})
	watchErr := make(chan error, 1)
	go func() {
		defer close(watchDone)
		if err := exp.Run(ctx); err != nil {
			watchErr <- err
		}
	}()

	// The server's timeouts keep slow or stalled clients from holding
	// connections (slow-loris) and scrape slots: a client that stops
	// reading loses its response after --web.write-progress-timeout,
	// any response after 2m (exporter.HTTPServer).
	serveErr := make(chan error, 2)
	go func() { serveErr <- web.ListenAndServe(httpServer, listen.toolkit, logger) }()
	servers := []*http.Server{httpServer}
	if listen.healthListen != "" {
		// Only the two probe paths, and nothing that reads the cluster's
		// data, are served here without the web config's protection.
		health := &http.Server{Addr: listen.healthListen, Handler: exp.HealthHandler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
		servers = append(servers, health)
		logger.Info("serving health probes", "address", listen.healthListen)
		go func() { serveErr <- health.ListenAndServe() }()
	}

	code := 0
	select {
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			logger.Error("HTTP server failed", "err", err)
			code = 1
		}
		stop()
		for _, srv := range servers {
			_ = srv.Close()
		}
	case err := <-watchErr:
		logger.Error("cannot watch the cluster at "+host, "err", err)
		code = 1
		stop()
		for _, srv := range servers {
			_ = srv.Close()
		}
	case <-ctx.Done():
		logger.Info("shutting down")
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, srv := range servers {
			if err := srv.Shutdown(shutdownCtx); err != nil {
				logger.Warn("HTTP shutdown incomplete", "err", err)
			}
		}
	}
	<-watchDone
	return code
}
