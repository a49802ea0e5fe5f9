# End-to-end tests and the demo: a real kube-apiserver, etcd and Job
# controller in one process (e2e/harness), the exporter binary against it.
# e2e/ is its own Go module so the exporter's go.mod never pulls k8s.io/kubernetes.
# The first build compiles k8s.io/kubernetes: minutes; later ones reuse the cache.

E2E_TIMEOUT ?= 40m

.PHONY: e2e demo

e2e:
	@echo ">> e2e: building the test cluster harness and the exporter (the first build compiles k8s.io/kubernetes: several minutes)"
	cd e2e && $(GO) test -count=1 -timeout $(E2E_TIMEOUT) ./...
