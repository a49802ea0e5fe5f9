package main

import (
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestBinaryLinksOnlyItsAPIGroups keeps the binary small: client-go's
// clientset (k8s.io/client-go/kubernetes), its discovery client and the
// metrics clientset register every Kubernetes API group in their scheme,
// and a binary that links any of them carries all of the groups' code and
// type data: 73.8 MB instead of 40.8, 13 MiB more of it resident
// (docs/scale.md). The exporter's kube.Client needs core/v1, batch/v1 and
// authorization/v1; this fails, naming the package, when an import brings
// the rest back.
func TestBinaryLinksOnlyItsAPIGroups(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH to list the binary's packages")
	}
	list := func(pkgs ...string) map[string]bool {
		t.Helper()
		out, err := exec.Command(gobin, append([]string{"list", "-deps"}, pkgs...)...).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", strings.Join(pkgs, " "), err)
		}
		set := map[string]bool{}
		for _, p := range strings.Fields(string(out)) {
			set[p] = true
		}
		return set
	}
	deps := list(".")
	// The three groups and whatever their own types import.
	allowed := list("k8s.io/api/core/v1", "k8s.io/api/batch/v1", "k8s.io/api/authorization/v1")
	for _, p := range slices.Sorted(maps.Keys(deps)) {
		switch {
		case strings.HasPrefix(p, "k8s.io/client-go/kubernetes"),
			strings.HasPrefix(p, "k8s.io/client-go/discovery"),
			p == "k8s.io/metrics/pkg/client/clientset/versioned":
			t.Errorf("the binary links %s, which registers every API group", p)
		case strings.HasPrefix(p, "k8s.io/api/") && !allowed[p]:
			t.Errorf("the binary links the API group %s; kube.Client needs only core/v1, batch/v1 and authorization/v1", p)
		}
	}
	if !deps["github.com/kube-job-exporter/kube-job-exporter/kube"] {
		t.Fatal("go list -deps . does not list package kube: not run in cmd/kube-job-exporter?")
	}
}
