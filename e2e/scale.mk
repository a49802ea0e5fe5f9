# Scale run (e2e/scale): thousands of Jobs and pods written through the e2e
# harness's real kube-apiserver (the Job controller skips them: spec.managedBy),
# then the exporter binary measured: time to ready, heap and RSS, heap per
# Job and Pod, scrape latency and size, series, status update → /metrics
# delay, heap after churn; then one big Indexed Job beside a small one
# (e2e/scale/bigjob.go): exporter CPU per pod event of each, event → metric
# under a stream of 500 pod events/s, the big Job's runbook page. `make e2e`
# runs the quick size too (about 45 s, no report written; `go test -short`
# skips it).
#
#   make scale              500 Jobs / 2,000 pods + churn 3×200 Jobs; a big
#                           Job of 2,000 completions, parallelism 100;
#                           report in .cache/scale-quick.md
#   make scale SCALE=medium 500 / 2,000, then 2,500 / 10,000 with churn
#                           3×2,000 Jobs; the quick big Job; report in
#                           .cache/scale-medium.md (KJE_SCALE_CHURN_WAVES=0
#                           skips the churn: e2e/scale/scale_test.go)
#   make scale SCALE=full   also 2,500 / 10,000 with churn 3×2,000 Jobs, then
#                           10,000 / 100,000; a big Job of 100,000
#                           completions, parallelism 1,000; writes docs/scale.md

SCALE     ?= quick
# The runtime memory limit of one extra exporter per size: a 150 MiB
# container less the binary's pages Go's limit does not count (~40 MiB
# when it was set; ~24 MiB since the exporter has its own client, issue 17)
# and a margin.
SCALE_GOMEMLIMIT ?= 110MiB
SCALE_OUT ?= $(if $(filter full,$(SCALE)),$(CURDIR)/docs/scale.md,$(CURDIR)/.cache/scale-$(SCALE).md)

.PHONY: scale

scale:
	@mkdir -p $(dir $(SCALE_OUT))
	cd e2e && KJE_SCALE=$(SCALE) KJE_SCALE_OUT=$(SCALE_OUT) KJE_SCALE_GOMEMLIMIT=$(SCALE_GOMEMLIMIT) $(GO) test -count=1 -run '^TestScale$$' -timeout 90m -v ./scale/
