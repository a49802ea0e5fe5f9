package exporter

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// TestPagesWorkBehindAPathPrefix serves the exporter as an Ingress or a
// gateway does under the mixin's exporterURL, https://host/prefix/ with the
// prefix stripped, and follows every link of every page from the landing
// page (the failing-now page, the runbooks' index, each runbook with and
// without a live report, a kept report of a deleted Job, the metrics):
// each stays under the prefix and opens. An absolute link ("/runbooks/")
// would leave the prefix and 404.
func TestPagesWorkBehindAPathPrefix(t *testing.T) {
	client := kubefake.New(fixture.Cluster()...)
	exp, err := New(Config{Client: client, Backoff: job.DefaultBackoff, StartTimeout: time.Minute, Events: true, CronJobs: true,
		Collectors: collectors.Options{MaxIndexSeries: 50}, Runbooks: runbooks.FS})
	if err != nil {
		t.Fatal(err)
	}
	runExporter(t, exp)
	h, err := exp.Handler()
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "/kube-job-exporter"
	mux := http.NewServeMux()
	mux.Handle(prefix+"/", http.StripPrefix(prefix, h))
	// Anything outside the prefix is not the exporter.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "outside the exporter's prefix", http.StatusNotFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	waitFor(t, "caches synced", func() bool { return exp.health.Ready() == nil && exp.watcher.Pending() == 0 && exp.crons.Objects() })
	// A deleted failed Job: the failing-now page links its kept report.
	if err := client.BatchV1().Jobs("batch").Delete(context.Background(), "oom", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deleted Job's kept report listed", func() bool {
		_, b := get(t, srv.URL+prefix+"/failing", nil)
		return strings.Contains(string(b), `title="kept report"`)
	})

	root := srv.URL + prefix + "/"
	// The runbooks' index without its slash redirects into the prefix.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(srv.URL + prefix + "/runbooks")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc, _ := resp.Location(); resp.StatusCode != http.StatusMovedPermanently || loc == nil || loc.String() != root+"runbooks/" {
		t.Errorf("GET %s/runbooks: %d to %v, want 301 to %srunbooks/", prefix, resp.StatusCode, loc, root)
	}

	seen := map[string]bool{root: true}
	queue := []string{root}
	kinds := map[string]bool{}
	for len(queue) > 0 && len(seen) < 500 {
		page := queue[0]
		queue = queue[1:]
		resp, body := get(t, page, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d %.200s", page, resp.StatusCode, body)
			continue
		}
		u, _ := url.Parse(page)
		switch {
		case u.Path == prefix+"/":
			kinds["landing"] = true
		case u.Path == prefix+"/failing":
			kinds["failing"] = true
		case u.Path == prefix+"/runbooks/":
			kinds["index"] = true
		case strings.Contains(u.RawQuery, "job_uid="):
			kinds["kept report"] = true
		case strings.HasPrefix(u.Path, prefix+"/runbooks/") && u.Query().Get("namespace") != "":
			kinds["live report"] = true
		case strings.HasPrefix(u.Path, prefix+"/runbooks/"):
			kinds["runbook"] = true
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			continue
		}
		for _, link := range links(t, page, string(body)) {
			lu, _ := url.Parse(link)
			if !strings.HasPrefix(lu.Path, prefix+"/") {
				t.Errorf("%s links %s, outside the prefix %s/", page, link, prefix)
				continue
			}
			if !seen[link] {
				seen[link] = true
				queue = append(queue, link)
			}
		}
	}
	for _, k := range []string{"landing", "failing", "index", "runbook", "live report", "kept report"} {
		if !kinds[k] {
			t.Errorf("no %s page reached from the landing page (%d pages followed)", k, len(seen))
		}
	}
	t.Logf("followed %d links behind %s", len(seen), prefix)
}
