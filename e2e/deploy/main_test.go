// Package deploy tests the install manifests of deploy/ and the exporter's
// security posture against a real kube-apiserver with the RBAC authorizer:
//
//   - every kustomization in deploy/ builds, and every object it renders is
//     accepted by a server-side apply dry-run (strict field validation; the
//     prometheus-operator CRDs are installed for ServiceMonitor and
//     PrometheusRule, which are also decoded strictly into the operator's Go
//     types); the pod passes the "restricted" Pod Security Standard;
//   - hardening (hardening_test.go): the Namespace enforces "restricted"
//     and the Deployment's pod is admitted in it; the NetworkPolicy admits
//     only Prometheus in namespace monitoring, only on port 9847; the
//     image is a release, not latest (docker_test.go: the Dockerfile's
//     base images are pinned by digest);
//   - the exporter, running as the manifests' ServiceAccount (impersonated),
//     produces the metrics of every failure scenario with only the
//     ClusterRole's list/watch, and with only the namespaced overlay's Roles;
//     a missing permission is reported (log line, watch metrics, /readyz);
//   - --web.config.file: TLS, basic auth and mTLS, on every path;
//   - a secret-looking value in a pod's env, args and command never shows in
//     any output;
//   - the copies of the mixin's generated files in deploy/ and the chart
//     equal the mixin's output (copies_test.go).
//
// It runs its own control plane (one per process), with --authorization-mode=RBAC.
package deploy

import (
	"flag"
	"fmt"
	"os"
	"testing"

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

func run(m *testing.M) int {
	root, err := harness.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	repoRoot = root
	// Its own control plane, with the RBAC authorizer on.
	return harness.RunSuite("deploy-e2e", harness.Options{APIServerFlags: []string{"--authorization-mode=RBAC"}},
		func(c *harness.Cluster, binary, work string) int {
			cluster, exporterBin, workDir = c, binary, work
			return m.Run()
		})
}
