# End-to-end tests and the demo: a real kube-apiserver, etcd and Job
# controller in one process (e2e/harness), the exporter binary against it.
# e2e/ is its own Go module so the exporter's go.mod never pulls in
# k8s.io/kubernetes. The first build compiles kube-apiserver (several
# minutes on 2 cores); later builds take seconds.

E2E_TIMEOUT ?= 40m
# Suites (packages) run at once. Each starts its own control plane and
# mostly waits on it and on the Job controller's timing (reliability: 35 s
# of CPU in 160 s), so one more than go test's default of one per core.
E2E_PACKAGES ?= 3
E2E_FLAGS   ?=
DEMO_ARGS   ?=

.PHONY: e2e demo

# Each scenario test builds the exporter itself (go build ./cmd/kube-job-exporter)
# and runs it against the shared test cluster.
e2e:
	@echo ">> e2e: compiling the test cluster (kube-apiserver, etcd, Job controller) and the scenarios; the first build takes several minutes"
	cd e2e && $(GO) test -count=1 -p $(E2E_PACKAGES) -parallel 8 -timeout $(E2E_TIMEOUT) $(E2E_FLAGS) ./...

# make demo: one command, no cluster needed. Ctrl-C stops and removes everything.
# Both builds show progress (a first build is minutes); the exporter gets the
# same version flags as `make build`.
demo:
	@cd e2e && GO=$(GO) ./scripts/build-with-progress.sh .work/bin/demo ./cmd/demo
	@GO=$(GO) e2e/scripts/build-with-progress.sh $(EXPORTER) ./cmd/kube-job-exporter -ldflags '$(LDFLAGS)'
	@KJE_E2E_EXPORTER=$(CURDIR)/$(EXPORTER) e2e/.work/bin/demo $(DEMO_ARGS)
