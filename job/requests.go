package job

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// What a pod holds while it runs is what the scheduler reserved for it on
// its node, whether its containers use it or not: its effective request.
// That, times the pod's running time, is the resource-time an attempt
// held (PodFinish), counted per resource.

// The resource label values besides the extended resources' own names:
// cpu in cores (core-seconds), memory in bytes (byte-seconds).
const (
	ResourceCPU    = string(corev1.ResourceCPU)
	ResourceMemory = string(corev1.ResourceMemory)
)

// DefaultExtendedResources are the extended resources whose resource-time
// is counted by default (Options.ExtendedResources), comma-separated: the
// GPUs of the device plugins of NVIDIA, AMD and Intel, the accelerators
// whose idle retries cost most.
const DefaultExtendedResources = "nvidia.com/gpu,amd.com/gpu,gpu.intel.com/i915"

// MaxExtendedResources bounds the extended resources counted: each is a
// value of the resource label of every owner's series.
const MaxExtendedResources = 8

// ParseExtendedResources reads a comma-separated list of extended resource
// names (DefaultExtendedResources' form): each a qualified name with a
// domain outside kubernetes.io, at most MaxExtendedResources, no repeats.
// The empty string is no extended resources.
func ParseExtendedResources(s string) ([]corev1.ResourceName, error) {
	out := []corev1.ResourceName{} // not nil: none, not the default
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if errs := validation.IsQualifiedName(name); len(errs) > 0 {
			return nil, fmt.Errorf("%q is not a resource name: %s", name, strings.Join(errs, "; "))
		}
		domain, _, ok := strings.Cut(name, "/")
		if !ok || domain == "kubernetes.io" || strings.HasSuffix(domain, ".kubernetes.io") {
			return nil, fmt.Errorf("%q is not an extended resource name (domain/name, the domain not kubernetes.io)", name)
		}
		for _, seen := range out {
			if string(seen) == name {
				return nil, fmt.Errorf("%q is listed twice", name)
			}
		}
		out = append(out, corev1.ResourceName(name))
	}
	if len(out) > MaxExtendedResources {
		return nil, fmt.Errorf("%d extended resources, at most %d", len(out), MaxExtendedResources)
	}
	return out, nil
}

// defaultExtendedResources is DefaultExtendedResources, parsed once.
var defaultExtendedResources = func() []corev1.ResourceName {
	r, err := ParseExtendedResources(DefaultExtendedResources)
	if err != nil {
		panic(err)
	}
	return r
}()

// PodRequests is a pod's effective request as the scheduler reserves it
// (k8s.io/component-helpers/resource.PodRequests with its defaults), per
// resource: the larger of
//
//   - the sum of the app containers and the sidecars (init containers
//     with restartPolicy Always), which run together, and
//   - each other init container with the sidecars declared before it,
//     which run while it does;
//
// then the pod-level requests (spec.resources) in place of that for the
// resources they may set, plus spec.overhead (the RuntimeClass's). A
// container with a limit and no request counts the limit: the API server
// defaults the request so, and a pod not defaulted (a test's) is read as
// if it had been.
func PodRequests(spec *corev1.PodSpec) corev1.ResourceList {
	total := corev1.ResourceList{}
	add := func(name corev1.ResourceName) {
		if _, ok := total[name]; !ok {
			total[name] = podRequest(spec, name)
		}
	}
	for _, list := range [][]corev1.Container{spec.Containers, spec.InitContainers} {
		for i := range list {
			for name := range list[i].Resources.Requests {
				add(name)
			}
			for name := range list[i].Resources.Limits {
				add(name)
			}
		}
	}
	if r := spec.Resources; r != nil {
		for _, l := range []corev1.ResourceList{r.Requests, r.Limits} {
			for name := range l {
				if podLevelResource(name) {
					add(name)
				}
			}
		}
	}
	for name := range spec.Overhead {
		add(name)
	}
	return total
}

// podRequest is the rule of PodRequests for one resource: the record reads
// the few resources it keeps this way, without making a list at each pod
// event.
func podRequest(spec *corev1.PodSpec, name corev1.ResourceName) resource.Quantity {
	var total, sidecars, initPeak resource.Quantity
	for i := range spec.Containers {
		total.Add(request(&spec.Containers[i].Resources, name))
	}
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		q := request(&c.Resources, name)
		running := sidecars.DeepCopy()
		running.Add(q) // while it runs: it and the sidecars started before it
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			total.Add(q)
			sidecars = running.DeepCopy()
		}
		if running.Cmp(initPeak) > 0 {
			initPeak = running
		}
	}
	if initPeak.Cmp(total) > 0 {
		total = initPeak
	}
	if r := spec.Resources; r != nil && podLevelResource(name) {
		if requested(r, name) {
			total = request(r, name)
		}
	}
	if q, ok := spec.Overhead[name]; ok {
		total.Add(q)
	}
	return total
}

// request is a container's (or the pod's) request of the resource, its
// limit if it has none, a copy of its own.
func request(r *corev1.ResourceRequirements, name corev1.ResourceName) resource.Quantity {
	if q, ok := r.Requests[name]; ok {
		return q.DeepCopy()
	}
	if q, ok := r.Limits[name]; ok {
		return q.DeepCopy()
	}
	return resource.Quantity{}
}

// requested tells whether a container (or the pod) requests the
// resource, or limits it.
func requested(r *corev1.ResourceRequirements, name corev1.ResourceName) bool {
	_, req := r.Requests[name]
	_, limit := r.Limits[name]
	return req || limit
}

// podLevelResource tells whether spec.resources may set the resource
// (the PodLevelResources feature: cpu, memory and huge pages).
func podLevelResource(name corev1.ResourceName) bool {
	return name == corev1.ResourceCPU || name == corev1.ResourceMemory ||
		strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix)
}

// podRequests are what a pod record keeps of the effective request: cpu in
// millicores, memory in bytes, and the counted extended resources it
// requests (at most MaxExtendedResources, in the configured order).
type podRequests struct {
	cpuMilli, memory int64
	extended         []extendedRequest
}

type extendedRequest struct {
	name  string
	count int64
}

// requestsOf reads a pod's effective request, keeping the extended
// resources listed (nil: DefaultExtendedResources).
func requestsOf(spec *corev1.PodSpec, extended []corev1.ResourceName) podRequests {
	r := podRequests{cpuMilli: positive(podRequest(spec, corev1.ResourceCPU), true), memory: positive(podRequest(spec, corev1.ResourceMemory), false)}
	if extended == nil {
		extended = defaultExtendedResources
	}
	for _, name := range extended {
		if n := positive(podRequest(spec, name), false); n > 0 {
			r.extended = append(r.extended, extendedRequest{intern(string(name)), n})
		}
	}
	return r
}

// positive is q in its base unit (milli: in thousandths), rounded up,
// and 0 for a quantity not above zero.
func positive(q resource.Quantity, milli bool) int64 {
	switch {
	case q.Sign() <= 0:
		return 0
	case milli:
		return q.MilliValue()
	}
	return q.Value()
}
