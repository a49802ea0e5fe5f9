package mixintest

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/promqltest"
)

// The cost-of-failures panels, evaluated by Prometheus' engine over
// kubejob_attempt_resource_seconds_total shaped as the exporter exposes it:
// failed attempts only, in GPU-, core- and GiB-hours over the time range;
// two replicas of a shard once, the shards summed; an owner's first
// attempts, whose series appears at their value, counted whole; the
// drill-down shows the Job's owner's.
func TestDashboardCostPanels(t *testing.T) {
	const job = `job="kube-job-exporter"`
	// 21 samples a minute apart, 0m to 20m; the time range is the last
	// 10m, (10m, 20m].
	seq := func(before, after string) string {
		return strings.Repeat(before+" ", 12) + strings.Repeat(after+" ", 9)
	}
	var load strings.Builder
	load.WriteString("load 1m\n")
	add := func(series, values string) { load.WriteString("  " + series + " " + values + "\n") }
	cost := func(inst, ns, owner, outcome, resource string) string {
		return `kubejob_attempt_resource_seconds_total{` + job + `,instance="` + inst + `",namespace="` + ns + `",owner_kind="CronJob",owner_name="` + owner + `",outcome="` + outcome + `",resource="` + resource + `"}`
	}
	const gib = 1 << 30
	for _, inst := range []string{"a", "b"} { // two replicas of shard 0
		add(`kubejob_exporter_shard_ordinal{`+job+`,instance="`+inst+`"}`, seq("0", "0"))
		// batch/nightly's failed attempts within the range: 2 GPU-hours,
		// 10 core-hours, 2 GiB-hours.
		add(cost(inst, "batch", "nightly", "failed", "nvidia.com/gpu"), seq("0", "7200"))
		add(cost(inst, "batch", "nightly", "failed", "cpu"), seq("0", "36000"))
		add(cost(inst, "batch", "nightly", "failed", "memory"), seq("0", strconv.Itoa(2*3600*gib)))
		// Its succeeded attempts: 10 core-hours, in no failure panel.
		add(cost(inst, "batch", "nightly", "succeeded", "cpu"), seq("0", "36000"))
		add(`kubejob_info{`+job+`,instance="`+inst+`",namespace="batch",job_name="nightly-1",owner_kind="CronJob",owner_name="nightly",completion_mode="NonIndexed",restart_policy="Never"}`, seq("1", "1"))
	}
	add(`kubejob_info{`+job+`,instance="a",namespace="batch",job_name="fine-1",owner_kind="Job",owner_name="fine",completion_mode="NonIndexed",restart_policy="Never"}`, seq("1", "1"))
	// Shard 1 saw ml/train's first failed attempts: 3 GPU-hours.
	add(`kubejob_exporter_shard_ordinal{`+job+`,instance="c"}`, seq("1", "1"))
	add(cost("c", "ml", "train", "failed", "nvidia.com/gpu"), seq("_", "10800"))

	storage := promqltest.LoadedStorage(t, load.String())
	t.Cleanup(func() { _ = storage.Close() })
	engine := promqltest.NewTestEngine(t, false, 0, promqltest.DefaultMaxSamplesPerQuery)
	at := time.Unix(0, 0).Add(20 * time.Minute)
	eval := func(expr string) map[string]float64 {
		t.Helper()
		return evalInstant(t, engine, storage, expr, at)
	}
	check := func(name string, got, want map[string]float64) {
		t.Helper()
		checkVector(t, name, got, want)
	}
	const overviewFile = "kube-job-exporter-overview.json"
	overview := map[string]string{"namespace": ".+", "cronjob": ".*", "__range": "10m"}
	panel := func(file, title, ref string, vars map[string]string) map[string]float64 {
		t.Helper()
		return eval(substituteVariables(t, panelExpr(t, file, title, ref), vars))
	}
	const (
		nightly = `namespace="batch", owner_kind="CronJob", owner_name="nightly"`
		train   = `namespace="ml", owner_kind="CronJob", owner_name="train"`
	)
	check("Failed GPU-hours per owner", panel(overviewFile, "Failed GPU-hours per owner", "A", overview), map[string]float64{
		`{` + nightly + `, resource="nvidia.com/gpu"}`: 2,
		`{` + train + `, resource="nvidia.com/gpu"}`:   3,
	})
	check("Failed core-hours per owner", panel(overviewFile, "Failed core-hours per owner", "A", overview), map[string]float64{`{` + nightly + `, resource="cpu"}`: 10})
	check("Failed GiB-hours per owner", panel(overviewFile, "Failed GiB-hours per owner", "A", overview), map[string]float64{`{` + nightly + `, resource="memory"}`: 2})
	const table = "Owners whose failures cost most"
	check(table+" GPU-hours", panel(overviewFile, table, "A", overview), map[string]float64{`{` + nightly + `}`: 2, `{` + train + `}`: 3})
	check(table+" core-hours", panel(overviewFile, table, "B", overview), map[string]float64{`{` + nightly + `}`: 10})
	check(table+" GiB-hours", panel(overviewFile, table, "C", overview), map[string]float64{`{` + nightly + `}`: 2})
	check(table+" failed share", panel(overviewFile, table, "D", overview), map[string]float64{`{` + nightly + `}`: 0.5})

	drill := map[string]string{"namespace": "batch", "job": "nightly-1", "cronjob": ".*", "__range": "10m"}
	for title, want := range map[string]float64{"Owner's failed GPU-hours": 2, "Owner's failed core-hours": 10, "Owner's failed GiB-hours": 2} {
		check(title, panel("kube-job-exporter-job.json", title, "A", drill), map[string]float64{`{}`: want})
	}
	// A Job whose owner's attempts held nothing: 0; a Job the exporter
	// does not report (deleted): no value, not a 0.
	for job, want := range map[string]map[string]float64{"fine-1": {`{}`: 0}, "gone-1": {}} {
		vars := map[string]string{"namespace": "batch", "job": job, "cronjob": ".*", "__range": "10m"}
		check("Owner's failed GPU-hours of "+job, panel("kube-job-exporter-job.json", "Owner's failed GPU-hours", "A", vars), want)
	}
}
