package exporter

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-job-exporter/kube-job-exporter/collectors"
	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube/kubefake"
	"github.com/kube-job-exporter/kube-job-exporter/mixin/runbooks"
)

// TestFailingPageFromTheWatcher: the exporter's own page, fed by the
// watcher from a cluster: it lists what fails there, carries the pages'
// security headers, every link on it and on the landing page resolves,
// and a deleted Job leaves it.
func TestFailingPageFromTheWatcher(t *testing.T) {
	client := kubefake.New(fixture.Cluster()...)
	exp, base := serveExporter(t, Config{Client: client, Backoff: job.DefaultBackoff, StartTimeout: time.Minute, Events: true, CronJobs: true,
		Collectors: collectors.Options{MaxIndexSeries: 50}, Runbooks: runbooks.FS})
	waitFor(t, "caches synced", func() bool { return exp.health.Ready() == nil && exp.watcher.Pending() == 0 && exp.crons.Objects() })

	resp, body := get(t, base+"/failing", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("/failing: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	page := string(body)
	for _, want := range []string{
		`<a href="runbooks/KubeJobBackoffLimitExceeded?job_name=oom&amp;namespace=batch" title="live report"><strong>oom</strong></a>`,
		"<strong>cmd-not-found</strong>", "<strong>blocked</strong>", "<strong>pull</strong>",
		"container app: exit 127: the command was not found",
		`<a href="runbooks/KubeCronJobMissedSchedule?cronjob=hourly&amp;namespace=batch" title="live report"><strong>hourly</strong></a>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("/failing lacks %q:\n%s", want, page)
		}
	}
	for _, absent := range []string{"<strong>flaky</strong>", "<strong>suspended</strong>"} {
		if strings.Contains(page, absent) {
			t.Errorf("/failing lists %s", absent)
		}
	}
	_, landing := get(t, base+"/", nil)
	if !strings.Contains(string(landing), `href="./failing"`) || strings.Contains(string(landing), "debug/pprof") {
		t.Errorf("landing page: no link to /failing, or links the profiles it does not serve:\n%s", landing)
	}
	for _, p := range []struct{ url, body string }{{base + "/failing", page}, {base + "/", string(landing)}} {
		for _, link := range links(t, p.url, p.body) {
			if resp, b := get(t, link, nil); resp.StatusCode != http.StatusOK {
				t.Errorf("link %s on %s: %d %s", link, p.url, resp.StatusCode, b)
			}
		}
	}

	// A failed Job deleted stays, as deleted, its report kept; a Job
	// deleted that had not failed leaves the page.
	for _, j := range []struct{ namespace, name string }{{"batch", "oom"}, {"web", "pull"}} {
		if err := client.BatchV1().Jobs(j.namespace).Delete(context.Background(), j.name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	deletedRow := regexp.MustCompile(`<span class="kind">deleted Job</span> <a [^>]*>batch</a>/<a href="(runbooks/KubeJobBackoffLimitExceeded\?job_name=oom&amp;job_uid=uid-batch-oom&amp;namespace=batch)" title="kept report"><strong>oom</strong></a>`)
	var report string
	waitFor(t, "the deleted Job shown as deleted, the other off the page", func() bool {
		_, b := get(t, base+"/failing", nil)
		m := deletedRow.FindStringSubmatch(string(b))
		if m == nil || strings.Contains(string(b), "<strong>pull</strong>") || strings.Contains(string(b), `title="live report"><strong>oom</strong>`) {
			return false
		}
		report = base + "/" + html.UnescapeString(m[1])
		page = string(b)
		return true
	})
	if !regexp.MustCompile(`deleted \d+s ago, not by its TTL: by hand or another controller`).MatchString(page) {
		t.Errorf("the deleted row does not say when and by what:\n%s", page)
	}
	if _, metrics := get(t, base+"/metrics", nil); !strings.Contains(string(metrics), "\nkubejob_exporter_deleted_jobs_kept 1\n") {
		t.Errorf("/metrics does not count the one deleted Job kept (the one that failed)")
	}
	resp, body = get(t, report, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "This Job was deleted at ") ||
		!strings.Contains(string(body), "Job batch/oom: FAILED (BackoffLimitExceeded)") {
		t.Errorf("kept report %s: %d\n%s", report, resp.StatusCode, body)
	}
}

// links are the targets of a page's links, resolved against its URL.
func links(t *testing.T, pageURL, body string) []string {
	t.Helper()
	base, err := url.Parse(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		ref, err := url.Parse(html.UnescapeString(m[1]))
		if err != nil {
			t.Errorf("link %q: %v", m[1], err)
			continue
		}
		if u := base.ResolveReference(ref); u.Host == base.Host {
			out = append(out, u.String())
		}
	}
	if len(out) == 0 {
		t.Errorf("no links on %s", pageURL)
	}
	return out
}

// TestFailingPageSharesTheLimit: the failing-now page counts against the
// pages' in-flight limit: while a profile holds the one slot it is
// refused at once, and served again after.
func TestFailingPageSharesTheLimit(t *testing.T) {
	_, base := serveExporter(t, Config{Client: kubefake.New(), Backoff: job.DefaultBackoff, Pprof: true, MaxPageRequests: 1})
	checkRefusedWhileProfiling(t, base, "/failing", 1)
}
