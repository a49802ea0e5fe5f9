package pages

import (
	"regexp"
	"strings"
	"testing"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture/summaries"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/mixin/runbooks"
)

// TestPagesShareOneStylesheetAndRelativeLinks: every page (the failing-now
// page, the runbooks' index, a runbook with a live report) inlines the
// one stylesheet once, links only relative to itself (so that the pages
// work behind a path prefix), and lays the live report out as HTML: the
// verdict a paragraph, the commands the only preformatted block.
func TestPagesShareOneStylesheetAndRelativeLinks(t *testing.T) {
	board, crons, _ := failingFixture(t)
	// The Jobs whose reports the runbook pages show: a failed Job, and
	// the CronJob's failed run.
	jobs := &fakeJobs{jobs: map[string]job.Summary{}}
	for _, name := range []string{"report", "nightly-29000000"} {
		j, pods := summaries.FailedJob("batch", name, 100)
		jobs.jobs["batch/"+name] = *summaries.Of(j, pods)
	}
	cfg := Config{Board: board, CronJobs: cronList(crons), Jobs: jobs, Runbooks: runbooks.FS, MetricsPath: "metrics"}
	rb := newTestRunbooks(t, cfg, summaries.Now, nil)
	pages := map[string]string{
		"/failing":   serveFailing(t, failingPageOf(t, cfg), ""),
		"/runbooks/": serveRunbook(t, rb, "/runbooks/"),
		"/runbooks/KubeJobBackoffLimitExceeded?namespace=batch&job_name=report": serveRunbook(t, rb, "/runbooks/KubeJobBackoffLimitExceeded?namespace=batch&job_name=report"),
		"/runbooks/KubeCronJobLastRunFailed?namespace=batch&cronjob=nightly":    serveRunbook(t, rb, "/runbooks/KubeCronJobLastRunFailed?namespace=batch&cronjob=nightly"),
	}
	href := regexp.MustCompile(`href="([^"]*)"`)
	for path, body := range pages {
		if n := strings.Count(body, "<style>"); n != 1 || !strings.Contains(body, string(stylesheet)) {
			t.Errorf("%s: %d <style> elements, want the one stylesheet once", path, n)
		}
		for _, m := range href.FindAllStringSubmatch(body, -1) {
			if l := m[1]; strings.HasPrefix(l, "/") || strings.Contains(l, "://") {
				t.Errorf("%s links %q: not relative", path, l)
			}
		}
		if !strings.Contains(body, `href="`+map[bool]string{true: "./", false: "../"}[path == "/failing"]+`"`) {
			t.Errorf("%s: no link back to the exporter's root", path)
		}
	}
	for path, what := range map[string]string{
		"/runbooks/KubeJobBackoffLimitExceeded?namespace=batch&job_name=report": "Job batch/report: FAILED",
		"/runbooks/KubeCronJobLastRunFailed?namespace=batch&cronjob=nightly":    "CronJob batch/nightly: FAILED",
	} {
		body := pages[path]
		if !strings.Contains(body, "<h3>"+what) || !regexp.MustCompile(`<p class="verdict"><strong>Verdict \([a-z-]+\):</strong> `).MatchString(body) {
			t.Errorf("%s: the report is not laid out with its title and verdict:\n%s", path, body)
		}
		report := body[strings.Index(body, `<div class="evidence">`):strings.LastIndex(body, "</div>")]
		if n, cmds := strings.Count(report, "<pre"), strings.Count(report, `<pre class="commands">`); n != cmds || n == 0 {
			t.Errorf("%s: %d preformatted blocks in the report, %d of them commands: only the commands may be", path, n, cmds)
		}
	}
}
