// Package deploy tests the install manifests of deploy/ and the exporter's
// security posture against a real kube-apiserver with the RBAC authorizer:
//
//   - every kustomization in deploy/ builds, and every object it renders is
//     accepted by a server-side apply dry-run (strict field validation; the
//     prometheus-operator CRDs are installed for ServiceMonitor and
//     PrometheusRule, which are also decoded strictly into the operator's Go
//     types); the pod passes the "restricted" Pod Security Standard;
//   - the exporter, running as the manifests' ServiceAccount (impersonated),
//     produces the metrics of every failure scenario with only the
//     ClusterRole's list/watch, and with only the namespaced overlay's Roles;
//     a missing permission is reported (log line, watch metrics, /readyz);
//   - --web.config.file: TLS, basic auth and mTLS, on every path;
//   - a secret-looking value in a pod's env, args and command never shows in
//     any output.
//
// It runs its own control plane (one per process), with --authorization-mode=RBAC.
package deploy

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

var (
	cluster     *harness.Cluster
	exporterBin string
	repoRoot    string
	workDir     string
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) (code int) {
	ctx := context.Background()
	root, err := harness.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	repoRoot = root
	if *update {
		// Only the copies are rewritten; no cluster needed.
		return m.Run()
	}
	work, err := os.MkdirTemp("", "kje-deploy-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	workDir = work
	defer func() {
		if code == 0 {
			os.RemoveAll(work)
		} else {
			fmt.Fprintf(os.Stderr, "deploy e2e: logs kept in %s\n", work)
		}
	}()

	type built struct {
		path string
		err  error
	}
	buildDone := make(chan built, 1)
	go func() {
		p, err := harness.BuildExporter(ctx, work, nil)
		buildDone <- built{p, err}
	}()
	start := time.Now()
	c, err := harness.Start(ctx, harness.Options{
		WorkDir:        filepath.Join(work, "cluster"),
		APIServerFlags: []string{"--authorization-mode=RBAC"},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "deploy e2e: start cluster: %v\n", err)
		<-buildDone
		return 1
	}
	cluster = c
	defer c.Stop()
	fmt.Fprintf(os.Stderr, "deploy e2e: control plane (RBAC authorizer) up in %s\n", time.Since(start).Round(time.Millisecond))
	b := <-buildDone
	if b.err != nil {
		fmt.Fprintf(os.Stderr, "deploy e2e: build exporter: %v\n", b.err)
		return 1
	}
	exporterBin = b.path
	return m.Run()
}
