# The e2e scenarios against the supported Kubernetes minors older than e2e/'s
# v1.37 (docs/compatibility.md): e2e/skew/1.N is a module of its own per
# minor whose go.mod pins k8s.io/kubernetes v1.N; each compiles the same
# e2e/harness (with the tags below, for the calls whose signatures changed)
# and runs the same e2e/scenarios. The first build of each compiles its
# kube-apiserver: about 4 minutes on 2 cores; later builds take seconds.
#
# make e2e-skew         every minor, one after the other (part of make test)
# make e2e-skew-1.35    one minor

SKEW_MINORS   := 1.34 1.35 1.36
SKEW_PACKAGES := . github.com/kube-job-exporter/kube-job-exporter/e2e/scenarios

# The build tags of each minor, named by the change the release predates
# (e2e/harness/kube_*.go): kube_pre_1_36, jobcontroller.NewController's
# parameters; kube_pre_1_37, TestServerInstanceOptions.DisableInvariantChecks.
SKEW_TAGS_1.34 := kube_pre_1_36,kube_pre_1_37
SKEW_TAGS_1.35 := kube_pre_1_36,kube_pre_1_37
SKEW_TAGS_1.36 := kube_pre_1_37

SKEW_TARGETS := $(addprefix e2e-skew-,$(SKEW_MINORS))

# -mod=mod: each e2e/skew module's graph includes e2e/go.mod's (the replace
# of ../../), so a change there would otherwise stop this run on a go.sum
# entry missing here; go adds it instead (`go mod tidy` in e2e/skew/1.N
# keeps the committed go.sum current).

.PHONY: e2e-skew $(SKEW_TARGETS)

# The minors at once: each control plane and its scenarios mostly wait on
# the Job controller's timing (one minor used 56 s of CPU in 184 s), so
# three side by side take about as long as one (≈5 min instead of ≈9 on 2
# cores). Each minor's output is printed whole when it ends.
e2e-skew:
	@$(MAKE) --no-print-directory -j$(words $(SKEW_MINORS)) --output-sync=target $(SKEW_TARGETS)

$(SKEW_TARGETS): e2e-skew-%:
	@echo ">> e2e-skew-$*: the scenarios against Kubernetes v$* (e2e/skew/$*); the first build compiles kube-apiserver v$*, about 4 minutes"
	cd e2e/skew/$* && $(GO) test -mod=mod -tags $(SKEW_TAGS_$*) -count=1 -parallel 8 -timeout $(E2E_TIMEOUT) $(E2E_FLAGS) $(SKEW_PACKAGES)
