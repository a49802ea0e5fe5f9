package scenarios

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// TestKubectlPlugin: `make install-plugin` installs what kubectl finds as
// the plugin `kubectl job-diagnose`, and through kubectl it diagnoses a
// Job the real controller failed, in the namespace of the kubeconfig's
// context unless --context or -n say otherwise, with diagnose's exit
// status.
func TestKubectlPlugin(t *testing.T) {
	e := newEnv(t, "s30-plugin")
	oom := e.NewJob("oom", "oom")
	oom.Spec.BackoffLimit = ptr(int32(0))
	e.Create(oom)

	// Installed as a user would, staged under DESTDIR.
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	if out, err := exec.Command("make", "--no-print-directory", "-C", root, "install-plugin", "DESTDIR="+dest, "PREFIX=/usr/local").CombinedOutput(); err != nil {
		t.Fatalf("make install-plugin: %v\n%s", err, out)
	}
	bin := filepath.Join(dest, "usr", "local", "bin")
	link := filepath.Join(bin, "kubectl-job_diagnose")
	if target, err := os.Readlink(link); err != nil || target != "kube-job-exporter" {
		t.Fatalf("%s: link to %q (%v), want a relative link to kube-job-exporter", link, target, err)
	}

	// A kubeconfig whose current context is in the test's namespace, and
	// a second context in a namespace without the Job.
	cfg, err := clientcmd.LoadFromFile(cluster.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	current := cfg.Contexts[cfg.CurrentContext]
	current.Namespace = e.NS
	elsewhere := current.DeepCopy()
	elsewhere.Namespace = e.NS + "-elsewhere"
	cfg.Contexts["elsewhere"] = elsewhere
	kubeconfig := filepath.Join(t.TempDir(), "config")
	if err := clientcmd.WriteToFile(*cfg, kubeconfig); err != nil {
		t.Fatal(err)
	}

	// Through the real kubectl where there is one (Debian's kubectl
	// package is on this project's machines); else the plugin is run
	// the way kubectl runs it: exec'ed by its path (argv[0]) with the
	// arguments after the plugin's name.
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Logf("no kubectl on PATH (%v): running %s with kubectl's plugin convention instead", err, link)
	}
	home := t.TempDir() // kubectl's cache (~/.kube/cache) stays in the test
	run := func(kubeconfigEnv string, args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(link, args...)
		if kubectl != "" {
			cmd = exec.Command(kubectl, append([]string{"job-diagnose"}, args...)...)
		}
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+kubeconfigEnv, "HOME="+home)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("%s: %v", cmd, err)
		}
		return stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()
	}
	e.waitFinished("oom", batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded)

	// The context's namespace, from $KUBECONFIG.
	out, errOut, code := run(kubeconfig, "oom", "-o", "json")
	var r report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("kubectl job-diagnose oom -o json (exit %d): not JSON (%v):\n%s%s", code, err, out, errOut)
	}
	if code != 3 || r.Health != "failed" || r.Reason != "BackoffLimitExceeded" || r.Verdict.Kind != "resource" {
		t.Errorf("kubectl job-diagnose oom: exit %d, health %s reason %s verdict %s, want 3 failed BackoffLimitExceeded resource\n%s", code, r.Health, r.Reason, r.Verdict.Kind, errOut)
	}
	out, _, code = run(kubeconfig, "oom")
	if code != 3 || !strings.Contains(out, "Job "+e.NS+"/oom: FAILED") || !strings.Contains(out, "kubectl describe job oom -n "+e.NS) {
		t.Errorf("kubectl job-diagnose oom: exit %d, want 3 and the report of %s/oom:\n%s", code, e.NS, out)
	}

	// --context: that context's namespace, where there is no such Job.
	_, errOut, code = run(kubeconfig, "oom", "--context", "elsewhere")
	if code != 1 || !strings.HasPrefix(errOut, "kubectl job-diagnose: ") || !strings.Contains(errOut, "not found") {
		t.Errorf("kubectl job-diagnose oom --context elsewhere: exit %d, stderr %q: want 1 and the Job not found", code, errOut)
	}
	// -n wins over the context; --kubeconfig over $KUBECONFIG.
	if _, errOut, code = run("", "--kubeconfig", kubeconfig, "--context=elsewhere", "-n", e.NS, "oom"); code != 3 {
		t.Errorf("kubectl job-diagnose --kubeconfig … --context=elsewhere -n %s oom: exit %d, want 3\n%s", e.NS, code, errOut)
	}
	// A usage error is 1, not 2 (which says "failing").
	if _, errOut, code = run(kubeconfig, "oom", "--no-such-flag"); code != 1 || !strings.Contains(errOut, "--no-such-flag") {
		t.Errorf("kubectl job-diagnose oom --no-such-flag: exit %d, stderr %q: want 1 naming the flag", code, errOut)
	}
}
