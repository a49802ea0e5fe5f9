# The e2e scenarios against the oldest supported Kubernetes minor
# (docs/compatibility.md): e2e/skew is a module of its own whose go.mod pins
# k8s.io/kubernetes v1.34 and compiles the same e2e/harness (with
# -tags kube_1_34, for the two calls whose signatures changed) and runs the
# same e2e/scenarios. Its first build compiles kube-apiserver v1.34: several
# minutes on 2 cores; later builds take seconds.

SKEW_TAGS     := kube_1_34
SKEW_PACKAGES := . github.com/kube-job-exporter/kube-job-exporter/e2e/scenarios

# -mod=mod: e2e/skew's module graph includes e2e/go.mod's (the replace of
# ../), so a change there would otherwise stop this run on a go.sum entry
# missing here; go adds it instead (`go mod tidy` in e2e/skew keeps the
# committed go.sum current).

.PHONY: e2e-skew

e2e-skew:
	@echo ">> e2e-skew: the scenarios against Kubernetes v1.34 (e2e/skew); the first build compiles kube-apiserver v1.34, several minutes"
	cd e2e/skew && $(GO) test -mod=mod -tags $(SKEW_TAGS) -count=1 -parallel 8 -timeout $(E2E_TIMEOUT) $(E2E_FLAGS) $(SKEW_PACKAGES)
