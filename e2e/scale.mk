# Scale run (e2e/scale): thousands of Jobs and pods written through the e2e
# harness's real kube-apiserver (the Job controller skips them: spec.managedBy),
# then the exporter binary measured: time to ready, heap and RSS, heap per
# Job and Pod, scrape latency and size, series, status update → /metrics
# delay, heap after churn. `make e2e` runs the quick size too (about 20 s,
# no report written; `go test -short` skips it).
#
#   make scale              500 Jobs / 2,000 pods + churn 3×200 Jobs;
#                           report in .cache/scale-quick.md
#   make scale SCALE=full   also 2,500 / 10,000 with churn 3×2,000 Jobs, then
#                           10,000 / 100,000; writes docs/scale.md

SCALE     ?= quick
# The runtime memory limit of one extra exporter per size: a 150 MiB
# container less the ~40 MiB of binary pages Go's limit does not count.
SCALE_GOMEMLIMIT ?= 110MiB
SCALE_OUT ?= $(if $(filter full,$(SCALE)),$(CURDIR)/docs/scale.md,$(CURDIR)/.cache/scale-$(SCALE).md)

.PHONY: scale

scale:
	@mkdir -p $(dir $(SCALE_OUT))
	cd e2e && KJE_SCALE=$(SCALE) KJE_SCALE_OUT=$(SCALE_OUT) KJE_SCALE_GOMEMLIMIT=$(SCALE_GOMEMLIMIT) $(GO) test -count=1 -run '^TestScale$$' -timeout 90m -v ./scale/
