package pages

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/mixin/runbooks"
)

// TestRunbooksServed: every embedded runbook answers at /runbooks/<Alert>,
// with the Job's commands filled in from the query, and bad input is
// refused rather than echoed into the page.
func TestRunbooksServed(t *testing.T) {
	p, err := New(Config{Runbooks: runbooks.FS})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p.Runbooks())
	defer srv.Close()
	entries, err := fs.Glob(runbooks.FS, "*.md")
	if err != nil || len(entries) == 0 {
		t.Fatalf("no runbooks embedded: %v", err)
	}
	_, index := get(t, srv.URL+"/runbooks/", nil)
	for _, e := range entries {
		alert := strings.TrimSuffix(e, ".md")
		if !strings.Contains(string(index), `href="`+alert+`"`) {
			t.Errorf("index does not link %s", alert)
		}
		resp, body := get(t, srv.URL+"/runbooks/"+alert+"?namespace=batch&job_name=nightly-29000000&cronjob=nightly", nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", alert, resp.StatusCode)
			continue
		}
		page := string(body)
		src, _ := fs.ReadFile(runbooks.FS, e)
		if strings.Contains(string(src), "<namespace>") && !strings.Contains(page, "-n batch") {
			t.Errorf("%s: commands not filled in with the namespace", alert)
		}
		if strings.Contains(page, "&lt;namespace&gt;") || strings.Contains(page, "&lt;job-name&gt;") {
			t.Errorf("%s: placeholders left although namespace and job_name were given", alert)
		}
	}
	// Unfilled placeholders show as typed, in prose and in code blocks.
	_, plain := get(t, srv.URL+"/runbooks/KubeJobOOMKilled", nil)
	if !strings.Contains(string(plain), "kubectl describe pod &lt;pod-name&gt; -n &lt;namespace&gt;") || strings.Contains(string(plain), "&amp;lt;") {
		t.Errorf("unfilled placeholders not shown as <name>:\n%s", plain)
	}
	if !strings.Contains(string(plain), "Job <code>&lt;job-name&gt;</code>") {
		t.Errorf("placeholder in prose lost")
	}
	resp, _ := get(t, srv.URL+"/runbooks/KubeJobOOMKilled?namespace=%3Cscript%3E", nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("invalid namespace answered %d, want 400", resp.StatusCode)
	}
	resp, _ = get(t, srv.URL+"/runbooks/NoSuchAlert", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown alert answered %d, want 404", resp.StatusCode)
	}
	resp, md := get(t, srv.URL+"/runbooks/KubeJobOOMKilled?format=md&namespace=batch&job_name=oom", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(md), "oom") {
		t.Errorf("Markdown form: %d", resp.StatusCode)
	}
}

// TestEventReaderBoundsAndReuses: at most eventReaders pages read events
// at once (the next says so instead of waiting), and a Job's events are
// read once per eventsTTL however many pages show them.
func TestEventReaderBoundsAndReuses(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{}, eventReaders)
	r := newEventReader(func(ctx context.Context, s job.Summary) ([]diagnose.Event, error) {
		calls.Add(1)
		started <- struct{}{}
		<-release
		return []diagnose.Event{{Object: "job/" + s.Name}}, nil
	})
	var wg sync.WaitGroup
	for i := 0; i < eventReaders; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = r.read(context.Background(), job.Summary{Namespace: "ns", Name: fmt.Sprint("j", i)})
		}()
	}
	for i := 0; i < eventReaders; i++ {
		<-started
	}
	if _, err := r.read(context.Background(), job.Summary{Namespace: "ns", Name: "one-more"}); err == nil || !strings.Contains(err.Error(), "reload in a few seconds") {
		t.Errorf("read beyond %d at once: %v, want a refusal", eventReaders, err)
	}
	close(release)
	wg.Wait()
	for i := 0; i < 3; i++ {
		events, err := r.read(context.Background(), job.Summary{Namespace: "ns", Name: "j0"})
		if err != nil || len(events) != 1 || events[0].Object != "job/j0" {
			t.Fatalf("cached read: %+v %v", events, err)
		}
	}
	if n := calls.Load(); n != eventReaders {
		t.Errorf("%d reads of the API, want %d (the rest from the cache)", n, eventReaders)
	}
}

// get fetches url, without transparent gzip.
func get(t *testing.T, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}
