package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
)

// helmBinaryEnv names a prebuilt helm to use instead of bin/helm.
const helmBinaryEnv = "KJE_E2E_HELM"

var (
	helmOnce sync.Once
	helmPath string
	helmErr  error
)

// helmBin returns the helm the chart tests run: $KJE_E2E_HELM, or else
// bin/helm as `make bin/helm` leaves it. make rebuilds it when it is
// missing or older than the pin in tools/helm/go.mod (about 2.5 minutes
// from a cold build cache, seconds after), with the ldflags of
// tools/tools.mk, so `make test` and `cd e2e && go test ./deploy` run the
// same helm and the build recipe lives in one place. Once per process.
func helmBin(t *testing.T) string {
	t.Helper()
	helmOnce.Do(func() {
		if p := os.Getenv(helmBinaryEnv); p != "" {
			if helmPath, helmErr = filepath.Abs(p); helmErr == nil {
				_, helmErr = os.Stat(helmPath)
			}
			return
		}
		cmd := exec.Command("make", "--no-print-directory", "bin/helm")
		cmd.Dir = repoRoot
		// A plain make: under `make test` the inherited MAKEFLAGS name
		// the outer make's jobserver, which this child cannot use.
		for _, e := range os.Environ() {
			if k, _, _ := strings.Cut(e, "="); k != "MAKEFLAGS" && k != "MFLAGS" && k != "MAKELEVEL" {
				cmd.Env = append(cmd.Env, e)
			}
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			helmErr = fmt.Errorf("make bin/helm: %v\n%s", err, out)
			return
		}
		helmPath = filepath.Join(repoRoot, "bin", "helm")
	})
	if helmErr != nil {
		t.Fatalf("no helm (set $%s to use another): %v", helmBinaryEnv, helmErr)
	}
	return helmPath
}

// runHelm runs helm with args in the repository root and returns its
// standard output; the error carries its standard error.
func runHelm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helmBin(t), args...)
	cmd.Dir = repoRoot
	// Keep helm away from the user's repositories, plugins and cache: the
	// chart has no dependencies, nothing is fetched.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

const (
	chartRel     = "charts/kube-job-exporter"
	chartRelease = "kube-job-exporter"
)

func chartDir(parts ...string) string {
	return filepath.Join(append([]string{repoRoot, chartRel}, parts...)...)
}

// renderChart runs `helm template` for release in namespace with extra
// arguments (-f, --set) and decodes the objects.
func renderChart(t *testing.T, release, namespace string, args ...string) ([]*unstructured.Unstructured, error) {
	t.Helper()
	out, err := runHelm(t, append([]string{"template", release, chartRel, "--namespace", namespace}, args...)...)
	if err != nil {
		return nil, err
	}
	return decodeObjects(out)
}

// decodeObjects splits a multi-document YAML stream into objects, skipping
// empty documents (a template that renders nothing leaves only comments).
func decodeObjects(s string) ([]*unstructured.Unstructured, error) {
	dec := yaml.NewYAMLOrJSONDecoder(strings.NewReader(s), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// mustRender is renderChart for renders that must succeed.
func mustRender(t *testing.T, release, namespace string, args ...string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := renderChart(t, release, namespace, args...)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) == 0 {
		t.Fatalf("helm template %v rendered nothing", args)
	}
	return objs
}
