package job

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

// res is a ResourceList from "name=quantity" pairs.
func res(pairs ...string) corev1.ResourceList {
	l := corev1.ResourceList{}
	for _, p := range pairs {
		name, q, _ := strings.Cut(p, "=")
		l[corev1.ResourceName(name)] = resource.MustParse(q)
	}
	return l
}

func ctr(name string, requests corev1.ResourceList) corev1.Container {
	return corev1.Container{Name: name, Resources: corev1.ResourceRequirements{Requests: requests}}
}

func sidecar(name string, requests corev1.ResourceList) corev1.Container {
	c := ctr(name, requests)
	c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
	return c
}

// equalResources compares by value (a Quantity's form may differ).
func equalResources(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for name, q := range a {
		if v, ok := b[name]; !ok || q.Cmp(v) != 0 {
			return false
		}
	}
	return true
}

// The cases follow the KEP-753 formula the scheduler applies
// (component-helpers resource.PodRequests): the e2e module checks the same
// rule against the helper itself.
func TestPodRequests(t *testing.T) {
	withLimit := corev1.Container{Name: "app", Resources: corev1.ResourceRequirements{Limits: res("cpu=2", "memory=1Gi", "nvidia.com/gpu=1")}}
	limitAndRequest := corev1.Container{Name: "app", Resources: corev1.ResourceRequirements{
		Requests: res("cpu=500m"), Limits: res("cpu=2", "memory=1Gi")}}
	for _, tc := range []struct {
		name string
		spec corev1.PodSpec
		want corev1.ResourceList
	}{
		{"no requests", corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}, res()},
		{"app containers add up", corev1.PodSpec{Containers: []corev1.Container{
			ctr("a", res("cpu=1", "memory=1Gi")), ctr("b", res("cpu=250m", "nvidia.com/gpu=1"))}},
			res("cpu=1250m", "memory=1Gi", "nvidia.com/gpu=1")},
		{"an init container bigger than the app", corev1.PodSpec{
			InitContainers: []corev1.Container{ctr("init", res("cpu=4", "memory=256Mi"))},
			Containers:     []corev1.Container{ctr("app", res("cpu=1", "memory=1Gi"))}},
			res("cpu=4", "memory=1Gi")},
		{"init containers run one at a time", corev1.PodSpec{
			InitContainers: []corev1.Container{ctr("a", res("cpu=3")), ctr("b", res("cpu=2"))},
			Containers:     []corev1.Container{ctr("app", res("cpu=1"))}},
			res("cpu=3")},
		{"a sidecar runs with the app", corev1.PodSpec{
			InitContainers: []corev1.Container{sidecar("proxy", res("cpu=500m", "memory=128Mi"))},
			Containers:     []corev1.Container{ctr("app", res("cpu=1", "memory=1Gi"))}},
			res("cpu=1500m", "memory=1152Mi")},
		{"a sidecar before an init container runs with it", corev1.PodSpec{
			InitContainers: []corev1.Container{sidecar("proxy", res("cpu=1")), ctr("init", res("cpu=3"))},
			Containers:     []corev1.Container{ctr("app", res("cpu=1"))}},
			res("cpu=4")},
		{"a sidecar after an init container does not", corev1.PodSpec{
			InitContainers: []corev1.Container{ctr("init", res("cpu=3")), sidecar("proxy", res("cpu=1"))},
			Containers:     []corev1.Container{ctr("app", res("cpu=1"))}},
			res("cpu=3")},
		{"sidecars alone bigger than an init container", corev1.PodSpec{
			InitContainers: []corev1.Container{sidecar("a", res("cpu=2")), sidecar("b", res("cpu=2")), ctr("init", res("cpu=1"))}},
			res("cpu=5")},
		{"overhead adds", corev1.PodSpec{
			Containers: []corev1.Container{ctr("app", res("cpu=1", "memory=1Gi"))},
			Overhead:   res("cpu=250m", "memory=120Mi")},
			res("cpu=1250m", "memory=1144Mi")},
		{"a limit without a request counts", corev1.PodSpec{Containers: []corev1.Container{withLimit}},
			res("cpu=2", "memory=1Gi", "nvidia.com/gpu=1")},
		{"a request wins over its limit", corev1.PodSpec{Containers: []corev1.Container{limitAndRequest}},
			res("cpu=500m", "memory=1Gi")},
		{"pod-level requests replace cpu and memory only", corev1.PodSpec{
			Containers: []corev1.Container{ctr("app", res("cpu=1", "memory=1Gi", "nvidia.com/gpu=2"))},
			Resources:  &corev1.ResourceRequirements{Requests: res("cpu=3", "memory=2Gi")},
			Overhead:   res("cpu=100m")},
			res("cpu=3100m", "memory=2Gi", "nvidia.com/gpu=2")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := tc.spec.DeepCopy()
			if got := PodRequests(&tc.spec); !equalResources(got, tc.want) {
				t.Errorf("PodRequests = %v, want %v", got, tc.want)
			}
			if !equalResources(spec.Overhead, tc.spec.Overhead) || len(spec.Containers) > 0 &&
				!equalResources(spec.Containers[0].Resources.Requests, tc.spec.Containers[0].Resources.Requests) {
				t.Error("PodRequests changed the spec it read")
			}
		})
	}
}

func TestRequestsOfKeepsConfiguredExtendedResources(t *testing.T) {
	spec := &corev1.PodSpec{Containers: []corev1.Container{ctr("app", res(
		"cpu=1500m", "memory=4Gi", "nvidia.com/gpu=2", "example.com/fpga=1", "ephemeral-storage=1Gi", "hugepages-2Mi=4Mi"))}}
	got := requestsOf(spec, nil)
	want := podRequests{cpuMilli: 1500, memory: 4 << 30, extended: []extendedRequest{{"nvidia.com/gpu", 2}}}
	if got.cpuMilli != want.cpuMilli || got.memory != want.memory || len(got.extended) != 1 || got.extended[0] != want.extended[0] {
		t.Errorf("with the default list: %+v, want %+v (anything not listed is not kept)", got, want)
	}
	got = requestsOf(spec, []corev1.ResourceName{"example.com/fpga", "amd.com/gpu"})
	if len(got.extended) != 1 || got.extended[0] != (extendedRequest{"example.com/fpga", 1}) {
		t.Errorf("with example.com/fpga configured: %+v, want the fpga alone", got.extended)
	}
	if got := requestsOf(spec, []corev1.ResourceName{}); len(got.extended) != 0 {
		t.Errorf("with none configured: %+v, want none", got.extended)
	}
}

func TestParseExtendedResources(t *testing.T) {
	names := make([]string, MaxExtendedResources+1)
	for i := range names {
		names[i] = fmt.Sprintf("example.com/r%d", i)
	}
	tooMany := strings.Join(names, ",")
	if _, err := ParseExtendedResources(strings.Join(names[:MaxExtendedResources], ",")); err != nil {
		t.Errorf("%d names refused: %v", MaxExtendedResources, err)
	}
	got, err := ParseExtendedResources(DefaultExtendedResources)
	if err != nil || len(got) != 3 || got[0] != "nvidia.com/gpu" {
		t.Fatalf("default = %v, %v", got, err)
	}
	if got, err := ParseExtendedResources(""); err != nil || got == nil || len(got) != 0 {
		t.Errorf(`"" = %#v, %v; want an empty list, not nil (nil means the default)`, got, err)
	}
	for _, bad := range []string{"gpu", "cpu", "kubernetes.io/foo", "x.kubernetes.io/y", "nvidia.com/gpu,nvidia.com/gpu",
		"a b/c", tooMany} {
		if _, err := ParseExtendedResources(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
