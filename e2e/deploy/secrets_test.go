package deploy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// A secret-looking value in a pod's env (literal and from a Secret), args,
// command arguments and annotations never reaches any output of the
// exporter: /metrics, the landing page, every runbook page filled in for
// the Job, /readyz, the logs (debug level), and kube-job-exporter diagnose.
//
// What the informers keep is proven at unit level: job/record_test.go
// (TestRecordsDropSecrets) marshals the stripped Job and Pod the caches
// hold and finds no trace of the secret. Here the real process memory is
// also scanned, as a report (see scanMemory).
func TestSecretsNeverExposed(t *testing.T) {
	ctx := context.Background()
	a := newApplier(t)
	applyBaseRBAC(t, a)
	const ns = "secret-canary"
	ensureNamespace(t, ns, nil)
	buf := make([]byte, 12)
	_, _ = rand.Read(buf)
	canary := "kje-canary-" + hex.EncodeToString(buf)

	client := cluster.Client()
	if _, err := client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: ns},
		StringData: map[string]string{"password": canary},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	leaky := func(name, outcome string) {
		j := newJob(ns, name, outcome)
		j.Spec.BackoffLimit = ptr(int32(1))
		j.Spec.Template.Annotations["note"] = canary
		c := &j.Spec.Template.Spec.Containers[0]
		c.Command = []string{"/bin/worker", "--token=" + canary}
		c.Args = []string{"--password", canary}
		c.Env = []corev1.EnvVar{
			{Name: "DB_PASSWORD", Value: canary},
			{Name: "FROM_SECRET", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}},
		}
		c.EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}}}}
		c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi")}
		if _, err := client.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	leaky("leaky-oom", "oom")
	leaky("leaky-wait", "image-pull")
	leaky("leaky-exit", "exit=127")

	p := startProc(t, saKubeconfig(t))
	waitMetrics(t, p, "the leaky Jobs' metrics", func(m *harness.Metrics) (bool, string) {
		return all(
			func() (bool, string) {
				return has(m, "kubejob_failed", harness.Labels{"namespace": ns, "job_name": "leaky-oom", "reason": "BackoffLimitExceeded"}, 1)
			},
			func() (bool, string) {
				return has(m, "kubejob_failed", harness.Labels{"namespace": ns, "job_name": "leaky-exit", "reason": "BackoffLimitExceeded"}, 1)
			},
			func() (bool, string) {
				return has(m, "kubejob_pods_waiting", harness.Labels{"namespace": ns, "job_name": "leaky-wait", "reason": "ImagePullBackOff"}, 1)
			},
		)
	})

	outputs := map[string]string{}
	fetch := func(path string) {
		code, body, err := get(ctx, plainHTTP, "http://"+p.Addr()+path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		if code != http.StatusOK {
			t.Errorf("GET %s: %d", path, code)
		}
		outputs["GET "+path] = body
	}
	for _, path := range []string{"/metrics", "/", "/runbooks/", "/readyz", "/healthz"} {
		fetch(path)
	}
	runbooks, _ := filepath.Glob(filepath.Join(repoRoot, "mixin", "runbooks", "*.md"))
	if len(runbooks) == 0 {
		t.Fatal("no runbooks found")
	}
	for _, rb := range runbooks {
		alert := strings.TrimSuffix(filepath.Base(rb), ".md")
		for _, job := range []string{"leaky-oom", "leaky-wait", "leaky-exit"} {
			fetch("/runbooks/" + alert + "?" + url.Values{"namespace": {ns}, "job_name": {job}, "cronjob": {"x"}}.Encode())
		}
	}
	if o := outputs["GET /runbooks/KubeJobBackoffLimitExceeded?cronjob=x&job_name=leaky-oom&namespace="+ns]; !strings.Contains(o, "OOMKilled") {
		t.Errorf("the runbook page of leaky-oom does not show its diagnosis (OOMKilled), so the check below proves little:\n%.500s", o)
	}
	for _, job := range []string{"leaky-oom", "leaky-wait", "leaky-exit"} {
		for _, format := range []string{"text", "json"} {
			cmd := exec.Command(exporterBin, "diagnose", "--kube.config="+cluster.Kubeconfig(), "-n", ns, "-o", format, job)
			out, err := cmd.CombinedOutput()
			if _, isExit := err.(*exec.ExitError); err != nil && !isExit {
				t.Fatal(err)
			}
			if len(out) == 0 {
				t.Errorf("diagnose %s: no output", job)
			}
			outputs["diagnose -o "+format+" "+job] = string(out)
		}
	}
	outputs["exporter log (debug)"] = p.Logs()

	for name, out := range outputs {
		if strings.Contains(out, canary) {
			i := strings.Index(out, canary)
			t.Errorf("%s exposes the secret: …%s…", name, out[max(0, i-200):min(len(out), i+len(canary)+50)])
		}
	}
	t.Logf("checked %d outputs (%d runbook pages, 6 diagnose runs) for the secret", len(outputs), len(runbooks)*3)

	// Report only: whether the value is anywhere in the exporter's memory.
	// Freed but not yet reused memory (decoded LIST/watch responses before
	// the transform strips them) may legitimately hold it, so this is
	// not asserted; the cache contents are asserted in job/record_test.go.
	if n, err := scanMemory(p.Pid(), []byte(canary)); err != nil {
		t.Logf("memory scan not possible: %v", err)
	} else {
		t.Logf("memory scan: the secret occurs %d times in the exporter's process memory (garbage included)", n)
	}
}

// scanMemory counts occurrences of needle in the readable, writable
// mappings of process pid (heap, stacks), via /proc/<pid>/mem.
func scanMemory(pid int, needle []byte) (int, error) {
	maps, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return 0, err
	}
	defer maps.Close()
	mem, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		return 0, err
	}
	defer mem.Close()
	n := 0
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || !strings.HasPrefix(f[1], "rw") {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end-start > 1<<30 {
			continue
		}
		buf := make([]byte, end-start)
		k, _ := mem.ReadAt(buf, int64(start))
		n += bytes.Count(buf[:k], needle)
	}
	return n, sc.Err()
}
