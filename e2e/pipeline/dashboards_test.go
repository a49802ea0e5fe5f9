package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

type dashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Definition string `json:"definition"`
			AllValue   string `json:"allValue"`
			IncludeAll bool   `json:"includeAll"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID      int    `json:"id"`
		Type    string `json:"type"`
		Title   string `json:"title"`
		Targets []struct {
			Expr    string `json:"expr"`
			RefID   string `json:"refId"`
			Instant bool   `json:"instant"`
		} `json:"targets"`
	} `json:"panels"`
}

const (
	drillNS  = "p30-drill"
	drillJob = "drill"
	// Grafana's $__rate_interval for a 2s scrape interval and a 1s step:
	// max($__interval + scrape interval, 4 * scrape interval).
	rateInterval = "8s"
)

// The drill-down targets that may be empty for the drill Job (an Indexed
// Job that failed for good): each for a reason of the Job's state or of the
// test set-up, not of a query. Every other target must return data.
var drillMayBeEmpty = map[string]string{
	"Deadline in/A":                 "instant: the deadline is gone once the Job finished (kubejob_deadline_timestamp_seconds is only set while it runs)",
	"Started / completed/B":         "a failed Job has no completion time",
	"Backoff timeline/A":            "the harness's per-index backoff (1s) is shorter than the 2s scrape interval, so a scrape may miss it",
	"Backoff timeline/B":            "as Backoff timeline/A",
	"Pods waiting by reason/A":      "no pod of the Job waited (image, config, scheduling)",
	"Memory working set vs limit/A": "the metrics.k8s.io stand-in has no usage for the drill Job's pods (they run 4s); TestMemoryNearLimit checks this panel",
	// The Queue (Kueue) row: the drill Job is in no queue and the suite's
	// exporter does not watch Kueue; TestKueueAlerts checks these panels.
	"Queue state/A":                 "the drill Job is in no Kueue queue",
	"Waiting for/A":                 "as Queue state/A",
	"Why it waits/A":                "as Queue state/A",
	"Admitted, suspended for/A":     "as Queue state/A",
	"Queue/A":                       "as Queue state/A",
	"Owner's evictions by reason/A": "as Queue state/A",
}

// Overview targets that must show the failures present in the cluster
// (the drill Job and the alert scenarios' Jobs).
var overviewMustHaveData = []string{
	"Exporter/A", "Failed Jobs/A", "Failing Jobs now/A", "Alerts firing/A", "CronJobs/A",
	"Failed Jobs by reason/A", "Failed pods by reason and exit code/A",
	"New pod failures/A", "Exporter watching/A", "Indexes lost/A",
}

var grafanaVar = regexp.MustCompile(`\$\{(\w+)\}|\[\[(\w+)\]\]|\$(\w+)`)

// substitute replaces Grafana variables in expr.
func substitute(expr string, vars map[string]string) string {
	return grafanaVar.ReplaceAllStringFunc(expr, func(m string) string {
		sub := grafanaVar.FindStringSubmatch(m)
		name := sub[1] + sub[2] + sub[3]
		if v, ok := vars[name]; ok {
			return v
		}
		return m
	})
}

func loadDashboard(t *testing.T, dir, name string) dashboard {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

var labelValuesDef = regexp.MustCompile(`^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)

// labelValues answers a label_values(selector, label) variable as Grafana
// does, with Prometheus' label values API.
func labelValues(ctx context.Context, prom *harness.Prometheus, def string, start, end time.Time) ([]string, error) {
	m := labelValuesDef.FindStringSubmatch(def)
	if m == nil {
		return nil, fmt.Errorf("not label_values(selector, label): %q", def)
	}
	data, _, err := prom.API(ctx, "/api/v1/label/"+m[2]+"/values", url.Values{
		"match[]": {m[1]},
		"start":   {strconv.FormatInt(start.Unix(), 10)},
		"end":     {strconv.FormatInt(end.Unix(), 10)},
	})
	if err != nil {
		return nil, err
	}
	var vals []string
	err = json.Unmarshal(data, &vals)
	return vals, err
}

// panelAnswer is a panel target's query, its variables substituted, and
// Prometheus' answer.
type panelAnswer struct {
	expr string
	res  *harness.PromResult
}

// panelAnswers runs every variable query and every panel query of the
// dashboard file in dir against prom over [start, end], as Grafana would,
// and returns each panel target's answer by "title/refID". A query that
// fails or warns, a variable left unsubstituted, or a variable that does
// not offer the value vars gives it, is an error of t.
func panelAnswers(t *testing.T, prom *harness.Prometheus, dir, file string, vars map[string]string, start, end time.Time) map[string]panelAnswer {
	t.Helper()
	ctx := context.Background()
	d := loadDashboard(t, dir, file)
	vars = maps.Clone(vars)
	vars["__rate_interval"] = rateInterval
	vars["__interval"] = "1s"
	vars["__range"] = strconv.Itoa(int(end.Sub(start).Seconds())) + "s"

	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		def := substitute(v.Definition, vars)
		vals, err := labelValues(ctx, prom, def, start, end)
		if err != nil {
			t.Errorf("variable %s: %v", v.Name, err)
			continue
		}
		t.Logf("variable %s = %v", v.Name, vals)
		if want, ok := vars[v.Name]; ok && want != v.AllValue && !slices.Contains(vals, want) {
			t.Errorf("variable %s: %s does not offer %q: %v", v.Name, def, want, vals)
		}
	}

	answers := map[string]panelAnswer{}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			key := p.Title + "/" + tg.RefID
			expr := substitute(tg.Expr, vars)
			if strings.Contains(expr, "$") && !strings.Contains(expr, `"$1"`) {
				t.Errorf("%s: unsubstituted variable in %s", key, expr)
			}
			var res *harness.PromResult
			var err error
			if tg.Instant {
				res, err = prom.Query(ctx, expr, end)
			} else {
				res, err = prom.QueryRange(ctx, expr, start, end, time.Second)
			}
			if err != nil {
				t.Errorf("panel %s: %v\n  %s", key, err, expr)
				continue
			}
			for _, w := range res.Warnings {
				t.Errorf("panel %s: warning: %s\n  %s", key, w, expr)
			}
			answers[key] = panelAnswer{expr: expr, res: res}
		}
	}
	if len(answers) == 0 {
		t.Errorf("%s: no panel queries", file)
	}
	return answers
}

// TestDashboards runs every panel query and variable query of the
// generated dashboards against the pipeline's Prometheus, as Grafana would:
// none may fail, and the Job drill-down must show data for a failed Job.
func TestDashboards(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, drillNS)
	// Index 1 runs 4s, then is OOMKilled, twice: the Job runs long enough
	// for several scrapes of its running state (deadline, active pods).
	job := indexedJob(e, drillJob, "index=1 run=4s oom", 1, 1)
	job.Spec.Completions, job.Spec.Parallelism = ptr(int32(2)), ptr(int32(2))
	job.Spec.ActiveDeadlineSeconds = ptr(int64(600))
	job.Spec.Template.Spec.Containers[0].Resources.Limits = v1.ResourceList{v1.ResourceMemory: resource.MustParse("64Mi")}
	created := e.Create(job)
	// A CronJob for the CronJob table (once a year: no run now).
	if _, err := e.Client.BatchV1().CronJobs(drillNS).Create(ctx, harness.CronJob(drillNS, "drill-yearly", "0 0 1 1 *", job.Spec), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	start := created.CreationTimestamp.Add(-10 * time.Second)
	e.WaitFinished(drillJob, batchv1.JobFailed, batchv1.JobReasonFailedIndexes)
	waitPrometheus(t, fmt.Sprintf(`kubejob_failed{job="kube-job-exporter",namespace=%q,job_name=%q}`, drillNS, drillJob), pageWindow)
	// Two more scrapes, so range panels see the final state on a few points.
	scrapes := 2 * 2 * time.Second
	waitPrometheus(t, fmt.Sprintf(`count_over_time(kubejob_failed{namespace=%q,job_name=%q}[1h]) > 2`, drillNS, drillJob), scrapes+pageWindow)
	end := time.Now()

	// mayBeEmpty non-nil: every target not in it must have data; mustHave:
	// these targets must have data.
	run := func(t *testing.T, file string, vars map[string]string, mayBeEmpty map[string]string, mustHave []string) {
		answers := panelAnswers(t, pipe.Prometheus, pipe.DashboardDir, file, vars, start, end)
		var empty []string
		for _, key := range slices.Sorted(maps.Keys(answers)) {
			if a := answers[key]; len(a.res.Samples) == 0 {
				empty = append(empty, key)
				_, allowed := mayBeEmpty[key]
				if (mayBeEmpty != nil && !allowed) || slices.Contains(mustHave, key) {
					t.Errorf("panel %s is empty (drill Job %s/%s failed):\n  %s", key, drillNS, drillJob, a.expr)
				}
			}
		}
		t.Logf("%s: %d queries, empty: %v", file, len(answers), empty)
	}
	t.Run("JobDrillDown", func(t *testing.T) {
		run(t, "kube-job-exporter-job.json",
			map[string]string{"datasource": "prometheus", "namespace": drillNS, "cronjob": ".*", "job": drillJob},
			drillMayBeEmpty, nil)
	})
	t.Run("FleetOverview", func(t *testing.T) {
		// The default view: All namespaces, All CronJobs.
		run(t, "kube-job-exporter-overview.json",
			map[string]string{"datasource": "prometheus", "namespace": ".+", "cronjob": ".*"},
			nil, overviewMustHaveData)
	})
	// A deleted Job is not shown as running: its Status panel has no value
	// (the dashboard says "not found") once Prometheus has seen it go.
	t.Run("DeletedJob", func(t *testing.T) {
		if err := e.Client.BatchV1().Jobs(drillNS).Delete(ctx, drillJob, metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationBackground)}); err != nil {
			t.Fatal(err)
		}
		err := harness.Eventually(ctx, pageWindow, func(ctx context.Context) (bool, string, error) {
			r, err := pipe.Prometheus.Query(ctx, fmt.Sprintf(`kubejob_info{namespace=%q,job_name=%q}`, drillNS, drillJob), time.Time{})
			if err != nil {
				return false, err.Error(), nil
			}
			return len(r.Samples) == 0, "Prometheus still has the deleted Job", nil
		})
		if err != nil {
			t.Fatal(err)
		}
		d := loadDashboard(t, pipe.DashboardDir, "kube-job-exporter-job.json")
		vars := map[string]string{"datasource": "prometheus", "namespace": drillNS, "cronjob": ".*", "job": drillJob}
		for _, p := range d.Panels {
			if p.Title != "Status" {
				continue
			}
			expr := substitute(p.Targets[0].Expr, vars)
			r, err := pipe.Prometheus.Query(ctx, expr, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Samples) != 0 {
				t.Errorf("Status of the deleted Job: %v, want no value\n  %s", r.Samples, expr)
			}
			return
		}
		t.Fatal("no Status panel")
	})
}
