package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

func TestIsPlugin(t *testing.T) {
	for argv0, want := range map[string]bool{
		"kubectl-job_diagnose":                    true,
		"/home/u/.local/bin/kubectl-job_diagnose": true, // kubectl execs the full path
		"kubectl-job_diagnose.exe":                true, // Windows
		"kube-job-exporter":                       false,
		"/usr/bin/kube-job-exporter":              false,
		"kubectl-job-diagnose":                    false, // that would be `kubectl job diagnose`
		"kubectl-job_diagnose-old":                false,
	} {
		if got := isPlugin(filepath.FromSlash(argv0)); got != want {
			t.Errorf("isPlugin(%q) = %v, want %v", argv0, got, want)
		}
	}
}

// twoContexts writes a kubeconfig whose current context "dev" has
// namespace batch-dev, "prod" has batch-prod and "bare" none.
func twoContexts(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config")
	cfg := `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts:
- {name: dev, context: {cluster: c, user: u, namespace: batch-dev}}
- {name: prod, context: {cluster: c, user: u, namespace: batch-prod}}
- {name: bare, context: {cluster: c, user: u}}
current-context: dev
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPluginArgs: kubectl's flags map onto diagnose, and the namespace
// defaults to the kubeconfig context's, as kubectl's does.
func TestPluginArgs(t *testing.T) {
	kubeconfig := twoContexts(t)
	for _, c := range []struct {
		name    string
		env     string // $KUBECONFIG
		args    []string
		ns, ctx string
		job     string
		output  string
	}{
		{name: "current context's namespace", args: []string{"--kubeconfig", kubeconfig, "nightly"}, ns: "batch-dev", job: "nightly", output: "text"},
		{name: "--context picks that context's namespace", args: []string{"nightly", "--kubeconfig=" + kubeconfig, "--context", "prod"}, ns: "batch-prod", ctx: "prod", job: "nightly", output: "text"},
		{name: "a context without a namespace: default", args: []string{"--kubeconfig", kubeconfig, "--context=bare", "nightly"}, ns: "default", ctx: "bare", job: "nightly", output: "text"},
		{name: "-n wins over the context", args: []string{"--kubeconfig", kubeconfig, "-n", "other", "nightly"}, ns: "other", job: "nightly", output: "text"},
		{name: "--namespace= and -o json", args: []string{"--kubeconfig", kubeconfig, "--namespace=other", "-o", "json", "cronjob/nightly"}, ns: "other", job: "cronjob/nightly", output: "json"},
		{name: "$KUBECONFIG, as kubectl", env: kubeconfig, args: []string{"job/nightly", "--context", "prod"}, ns: "batch-prod", ctx: "prod", job: "job/nightly", output: "text"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", c.env)
			var out, errOut bytes.Buffer
			p, err := parsePluginArgs(c.args, &out, &errOut)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.resolveNamespace(); err != nil {
				t.Fatal(err)
			}
			if p.namespace != c.ns || p.kube.context != c.ctx || p.jobName != c.job || p.output != c.output {
				t.Errorf("namespace %q context %q job %q output %q, want %q %q %q %q",
					p.namespace, p.kube.context, p.jobName, p.output, c.ns, c.ctx, c.job, c.output)
			}
		})
	}

	t.Run("diagnose's own flags keep their defaults", func(t *testing.T) {
		p, err := parsePluginArgs([]string{"j"}, &bytes.Buffer{}, &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		if p.timeout != 15*time.Second || p.logs != 20 || p.job.podStartTimeout != job.DefaultStartTimeout || p.cronJob.missedGrace != diagnose.DefaultMissedGrace {
			t.Errorf("timeout %s logs %d start timeout %s missed grace %s", p.timeout, p.logs, p.job.podStartTimeout, p.cronJob.missedGrace)
		}
	})
}

// TestPluginErrors: usage errors exit 1, not 2 (diagnose's "failing"),
// and every message names the command as the user typed it.
func TestPluginErrors(t *testing.T) {
	kubeconfig := twoContexts(t)
	t.Setenv("KUBECONFIG", "")
	for _, c := range []struct {
		name string
		args []string
		says string
	}{
		{"no Job", []string{"--kubeconfig", kubeconfig}, "required argument 'job' not provided"},
		{"kubectl flag the plugin does not take", []string{"--kubeconfig", kubeconfig, "--all-namespaces", "j"}, "unknown long flag '--all-namespaces'"},
		{"unknown context", []string{"--kubeconfig", kubeconfig, "--context", "nope", "j"}, "context was not found for specified context: nope"},
		{"missing kubeconfig", []string{"--kubeconfig", filepath.Join(t.TempDir(), "none"), "j"}, "none"},
		{"bad output", []string{"--kubeconfig", kubeconfig, "-o", "yaml", "j"}, "enum value must be one of text,json"},
		// A namespace given: the kubeconfig is not read for it, the
		// unreachable server is the error.
		{"unreachable API server", []string{"--kubeconfig", kubeconfig, "-n", "x", "--timeout=1s", "j"}, "cannot reach the API server"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := runPlugin(c.args, &out, &errOut)
			if code != 1 || !strings.HasPrefix(errOut.String(), "kubectl job-diagnose: ") || !strings.Contains(errOut.String(), c.says) {
				t.Errorf("exit %d, stderr %q: want 1 and kubectl job-diagnose: ...%s", code, errOut.String(), c.says)
			}
		})
	}
}
