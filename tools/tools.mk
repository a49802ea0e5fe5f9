# Pinned build tools, from the separate module in tools/ (go.mod `tool`
# directives): promtool (Prometheus 3.16.0), jsonnet and jsonnetfmt
# (go-jsonnet v0.22.0). Each is built once into bin/ and rebuilt when the
# pins in tools/go.mod change. promtool is built without the service
# discovery plugins (-tags remove_all_sd), which halves its cold build.
# `go tool -modfile=tools/go.mod promtool ...` runs the same pins unbuilt.
# The Prometheus server of the e2e pipeline tests and `make demo` comes from
# the same pin (github.com/prometheus/prometheus v0.316.0 = Prometheus
# 3.16.0, same tags, no web UI assets: the API and a bare UI shell only);
# e2e/harness builds bin/prometheus itself when it is missing or stale.

GO         ?= go
BIN        ?= bin
TOOLS_DIR  := tools
TOOLS_DEPS := $(TOOLS_DIR)/go.mod $(TOOLS_DIR)/go.sum
PROMTOOL   := $(BIN)/promtool
PROMETHEUS := $(BIN)/prometheus
# v0.316.0 in tools/go.mod is Prometheus 3.16.0 (for --version and the UI).
PROMETHEUS_VERSION = $(shell sed -n 's|^[[:space:]]*github.com/prometheus/prometheus v0\.\([0-9]*\)\([0-9][0-9]\)\.\([0-9]*\).*|\1.\2.\3|p' $(TOOLS_DIR)/go.mod)
JSONNET    := $(BIN)/jsonnet
# golangci-lint v2.15.0, in a module of its own (tools/lint/go.mod): its
# many dependencies stay out of the promtool and Prometheus builds.
GOLANGCI_LINT := $(BIN)/golangci-lint
LINT_DEPS     := $(TOOLS_DIR)/lint/go.mod $(TOOLS_DIR)/lint/go.sum
JSONNETFMT := $(BIN)/jsonnetfmt
# helm v3.22.0, in a module of its own (tools/helm/go.mod) like
# golangci-lint: its Kubernetes client libraries stay out of the other
# builds. e2e/deploy runs `make bin/helm` when bin/helm is missing or older
# than the pin, then lints and renders charts/kube-job-exporter with it.
# The ldflags do what helm's own Makefile does: the version `helm version`
# prints, and the Kubernetes version `helm template` and `helm lint` assume
# (.Capabilities.KubeVersion) taken from the pinned k8s.io/client-go
# (v0.37.x is Kubernetes 1.37) instead of helm's built-in 1.20.
HELM       := $(BIN)/helm
HELM_DEPS  := $(TOOLS_DIR)/helm/go.mod $(TOOLS_DIR)/helm/go.sum
HELM_VERSION = $(shell sed -n 's|^[[:space:]]*helm.sh/helm/v3 \(v[0-9.]*\).*|\1|p' $(TOOLS_DIR)/helm/go.mod)
HELM_K8S_MINOR = $(shell sed -n 's|^[[:space:]]*k8s.io/client-go v0\.\([0-9]*\)\..*|\1|p' $(TOOLS_DIR)/helm/go.mod)
HELM_LDFLAGS = -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
  $(foreach p,helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules,-X $(p).k8sVersionMajor=1 -X $(p).k8sVersionMinor=$(HELM_K8S_MINOR))

.PHONY: tools tools-test prometheus helm
prometheus: $(PROMETHEUS)

$(PROMETHEUS): $(TOOLS_DEPS)
	cd $(TOOLS_DIR) && $(GO) build -tags remove_all_sd -ldflags '-X github.com/prometheus/common/version.Version=$(PROMETHEUS_VERSION)' -o $(abspath $@) github.com/prometheus/prometheus/cmd/prometheus

tools: $(PROMTOOL) $(JSONNET) $(JSONNETFMT)

$(PROMTOOL): $(TOOLS_DEPS)
	cd $(TOOLS_DIR) && $(GO) build -tags remove_all_sd -o $(abspath $@) github.com/prometheus/prometheus/cmd/promtool

$(JSONNET): $(TOOLS_DEPS)
	cd $(TOOLS_DIR) && $(GO) build -o $(abspath $@) github.com/google/go-jsonnet/cmd/jsonnet

$(GOLANGCI_LINT): $(LINT_DEPS)
	cd $(TOOLS_DIR)/lint && $(GO) build -o $(abspath $@) github.com/golangci/golangci-lint/v2/cmd/golangci-lint

helm: $(HELM)

$(HELM): $(HELM_DEPS)
	cd $(TOOLS_DIR)/helm && $(GO) build -ldflags '$(HELM_LDFLAGS)' -o $(abspath $@) helm.sh/helm/v3/cmd/helm

# kube-state-metrics v2.20.0, in a module of its own (tools/ksm/go.mod) like
# helm: its client libraries stay out of the other builds. e2e/stack runs
# `make bin/kube-state-metrics` (rebuilt when missing or older than the pin;
# about 7 minutes from a cold build cache on 2 loaded cores, seconds after)
# and scrapes it beside the exporter with kubernetes-mixin's Job alerts.
# The ldflags set the version its build_info metric and
# `kube-state-metrics version` report, as its own Makefile does.
KSM        := $(BIN)/kube-state-metrics
KSM_DEPS   := $(TOOLS_DIR)/ksm/go.mod $(TOOLS_DIR)/ksm/go.sum
KSM_VERSION = $(shell sed -n 's|^[[:space:]]*k8s.io/kube-state-metrics/v2 \(v[0-9.]*\).*|\1|p' $(TOOLS_DIR)/ksm/go.mod)

$(KSM): $(KSM_DEPS)
	cd $(TOOLS_DIR)/ksm && $(GO) build -ldflags '-X github.com/prometheus/common/version.Version=$(KSM_VERSION)' -o $(abspath $@) k8s.io/kube-state-metrics/v2

$(JSONNETFMT): $(TOOLS_DEPS)
	cd $(TOOLS_DIR) && $(GO) build -o $(abspath $@) github.com/google/go-jsonnet/cmd/jsonnetfmt

# The Go tests of the tools module: they parse every PromQL expression of
# the generated alerts/ and dashboards/ with Prometheus' own parser.
tools-test:
	cd $(TOOLS_DIR) && $(GO) test -count=1 ./...
