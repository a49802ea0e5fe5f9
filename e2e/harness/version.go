package harness

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	kubeversion "k8s.io/component-base/version"
	jobcontroller "k8s.io/kubernetes/pkg/controller/job"
)

// KubernetesVersion is the Kubernetes release the control plane is built
// from, "1.N" (after replace directives: e2e/skew replaces e2e's release
// with an older one), and its minor N: component-base's binary version,
// which kube-apiserver reports as its minor in /version and which its
// feature gates default by. (Test binaries carry no module list, so the
// module version itself cannot be read.)
func KubernetesVersion() (version string, minor int, err error) {
	version = kubeversion.DefaultKubeBinaryVersion
	major, m, ok := strings.Cut(version, ".")
	if minor, err = strconv.Atoi(m); !ok || major != "1" || err != nil {
		return version, 0, fmt.Errorf("component-base's binary version %q is not 1.N", version)
	}
	return version, minor, nil
}

// upstreamJobBackoff is the compiled Job controller's own pod-failure
// backoff, read at package initialization, before Start shortens it.
var upstreamJobBackoff = [2]time.Duration{jobcontroller.DefaultJobPodFailureBackOff, jobcontroller.MaxJobPodFailureBackOff}

// UpstreamJobBackoff is the pod-failure backoff of the Job controller of
// this release as shipped (DefaultJobPodFailureBackOff,
// MaxJobPodFailureBackOff), not the harness's shortened one: what an
// exporter without --backoff flags must choose from the server's version.
func UpstreamJobBackoff() (initial, maxDelay time.Duration) {
	return upstreamJobBackoff[0], upstreamJobBackoff[1]
}

// CheckCompiledMinor fails t unless the harness is compiled against
// Kubernetes 1.want: the guard of each e2e/skew module, whose replace
// directives pin that minor (e2e/go.mod moving on would otherwise lift the
// module to the newer release without a word).
func CheckCompiledMinor(t testing.TB, want int) {
	t.Helper()
	version, minor, err := KubernetesVersion()
	if err != nil {
		t.Fatal(err)
	}
	if minor != want {
		t.Fatalf("the harness is compiled against Kubernetes %s, want 1.%d", version, want)
	}
	t.Logf("the harness is compiled against Kubernetes %s", version)
}
