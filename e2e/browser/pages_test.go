package browser

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// The browser's window, and so the screenshots' size.
const width, height = 1280, 800

// stepTimeout bounds one browser step (a page load, a query): generous,
// CI machines are small and shared.
const stepTimeout = 30 * time.Second

// failure is a Job (or CronJob) the test makes fail, and what the
// failing-now page must say of it.
type failure struct {
	ns, name, state, cause string
}

// TestPagesInChromium opens the landing page, follows its link to the
// failing-now page, and from there the live report of a failed Job, in
// Chromium, as a person would. On each page: no console error, no CSP
// violation, no failed request, every link resolves; the cause is on
// screen.
func TestPagesInChromium(t *testing.T) {
	if skipped != "" {
		t.Skip(skipped)
	}
	ctx := context.Background()
	failures := makeFailures(t, ctx)
	waitListed(t, ctx, failures)

	b := startBrowser(t)
	// A page that breaks every rule first: the checks below must catch
	// what they look for, or their silence proves nothing.
	t.Run("checks catch a broken page", func(t *testing.T) { checkTheChecks(t, b) })

	tab := b.newTab(t)
	landing := tab.open(t, exporter.URL("/"), "landing")
	if !strings.Contains(landing, "Failing now") {
		t.Errorf("landing page has no Failing now link:\n%s", landing)
	}
	tab.checkLinks(t)
	tab.screenshot(t, "landing.png")

	// The landing page's link, clicked.
	click(t, tab, chromedp.CSS(`a[href="./failing"]`), "failing-now", `table`)
	rows := tab.rows(t)
	for _, f := range failures {
		row := rows[f.name]
		if row == "" || !strings.Contains(row, f.ns) || !strings.Contains(row, f.state) || !strings.Contains(row, f.cause) {
			t.Errorf("failing-now page: the row of %s/%s is %q, want %q and %q in it", f.ns, f.name, row, f.state, f.cause)
		}
	}
	tab.checkLinks(t)
	tab.checkNoOverflow(t, "failing-now page")
	tab.screenshot(t, "failing-now.png")

	// The live report of the Job whose command is missing, from its row.
	click(t, tab, chromedp.Search(`//tr//a[starts-with(@href,"runbooks/")][strong[text()="invoice-render"]]`),
		"runbook", `.evidence .report`)
	report := tab.text(t, ".evidence .report")
	for _, want := range []string{"Job billing/invoice-render: FAILED", "exit 127: the command was not found in the image",
		"Verdict (deterministic):", "kubectl describe job invoice-render -n billing"} {
		if !strings.Contains(report, want) {
			t.Errorf("runbook page: %q not visible in the live report:\n%s", want, report)
		}
	}
	if !strings.HasPrefix(tab.location(t), exporter.URL("/runbooks/KubeJobBackoffLimitExceeded?")) {
		t.Errorf("the report link led to %s", tab.location(t))
	}
	tab.checkLinks(t)
	tab.checkNoOverflow(t, "runbook page with a live report")
	tab.screenshot(t, "runbook-live-report.png")

	// The CronJob's live report, with its newest failed run's.
	click(t, tab, chromedp.Search(`//header//a[text()="Failing now"]`), "failing-now", `table`)
	click(t, tab, chromedp.Search(`//tr//a[starts-with(@href,"runbooks/")][strong[text()="daily-statements"]]`),
		"CronJob runbook", `.evidence .report`)
	if report := tab.text(t, ".evidence .report"); !strings.Contains(report, "CronJob billing/daily-statements: FAILED") {
		t.Errorf("CronJob runbook page: no CronJob report:\n%s", report)
	}
	tab.checkLinks(t)
	tab.checkNoOverflow(t, "runbook page with a CronJob's report")

	tab.checkClean(t)
}

// makeFailures creates Jobs that fail in the ways the page tells apart, and
// a CronJob whose newest run failed, and returns what the page must say.
func makeFailures(t *testing.T, ctx context.Context) []failure {
	t.Helper()
	client := cluster.Client()
	for _, ns := range []string{"billing", "analytics", "search", "web", "ml"} {
		if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := harness.ZeroPodQuota(ctx, client, "ml"); err != nil {
		t.Fatal(err)
	}
	job := func(ns, name, outcome string, backoffLimit int32) *batchv1.Job {
		j := harness.OutcomeJob(ns, name, outcome)
		j.Spec.BackoffLimit = &backoffLimit
		j.Spec.Template.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}
		return j
	}
	create := func(j *batchv1.Job) {
		if _, err := client.BatchV1().Jobs(j.Namespace).Create(ctx, j, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	create(job("billing", "invoice-render", "exit=127", 1))
	create(job("analytics", "nightly-etl", "run=1s oom", 2))
	create(job("search", "reindex", "attempt=1-2 exit=1; run=forever", 6))
	create(job("web", "thumbnailer", "image-pull", 3))
	create(job("ml", "train-model", "run=forever", 3))

	// A CronJob due once a year, so that its controller starts no run
	// during the test; its one run, created here, fails.
	cj, err := client.BatchV1().CronJobs("billing").Create(ctx,
		harness.CronJob("billing", "daily-statements", "0 0 1 1 *", job("billing", "x", "exit=1", 0).Spec), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	create(harness.RunOf(job("billing", "daily-statements-29400000", "run=1s exit=2", 0), cj))

	return []failure{
		{"billing", "invoice-render", "failed: BackoffLimitExceeded", "container main: exit 127: the command was not found in the image"},
		{"analytics", "nightly-etl", "failed: BackoffLimitExceeded", "container main: memory limit 256Mi hit"},
		{"search", "reindex", "failing, retrying: 2 failures, fails for good at 7", "container main: the application exited with code 1"},
		{"web", "thumbnailer", "stuck: pods not starting", "1 pod(s) waiting: the image cannot be pulled"},
		{"ml", "train-model", "stuck: its pods are refused", "the API server refuses its pods (Quota)"},
		{"billing", "daily-statements-29400000", "failed: BackoffLimitExceeded", "container main: the application exited with code 2"},
		{"billing", "daily-statements", "newest run failed (1 in a row)", "its newest run daily-statements-29400000 failed (BackoffLimitExceeded)"},
	}
}

// waitListed waits until the exporter's failing-now page lists every
// failure as it should, so that the browser opens it in its final state.
func waitListed(t *testing.T, ctx context.Context, failures []failure) {
	t.Helper()
	err := harness.Eventually(ctx, 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		code, body, err := exporter.Get(ctx, "/failing")
		if err != nil || code != http.StatusOK {
			return false, fmt.Sprintf("/failing: %d %v", code, err), nil
		}
		for _, f := range failures {
			row := rowHTML(body, f.name)
			if !strings.Contains(row, f.state) || !strings.Contains(row, f.cause) {
				return false, fmt.Sprintf("%s/%s not listed as %q with %q yet; its row: %q", f.ns, f.name, f.state, f.cause, row), nil
			}
		}
		return true, "", nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// rowHTML is the HTML of the table row of the Job or CronJob name.
func rowHTML(page, name string) string {
	i := strings.Index(page, "<strong>"+name+"</strong>")
	if i < 0 {
		return ""
	}
	start := strings.LastIndex(page[:i], "<tr")
	end := strings.Index(page[i:], "</tr>")
	if start < 0 || end < 0 {
		return ""
	}
	return page[start : i+end]
}

// rows are the visible text of the failing-now page's rows, by the name
// of their Job or CronJob.
func (tb *tab) rows(t *testing.T) map[string]string {
	t.Helper()
	ctx, cancel := tb.step(t)
	defer cancel()
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](
		`Object.fromEntries(Array.from(document.querySelectorAll("tbody tr"), tr => [tr.querySelector("strong").innerText, tr.innerText]))`))
	if err != nil {
		t.Fatalf("rows of the failing-now page: %v", err)
	}
	return rows
}

// browser is one headless Chromium for the test.
type browser struct{ ctx context.Context }

func startBrowser(t *testing.T) *browser {
	t.Helper()
	out, err := os.Create(filepath.Join(t.TempDir(), "chromium.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		// Without these it reaches for the network (updates, sync,
		// field trials), which CI has not.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
		chromedp.CombinedOutput(out),
	)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first run starts the browser; it lives as long as ctx, so this
	// call has no timeout of its own.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	return &browser{ctx: ctx}
}

// tab is a browser tab and what went wrong in it.
type tab struct {
	ctx context.Context

	mu       sync.Mutex
	problems []string
	urls     map[network.RequestID]string
}

// newTab opens a tab that records console errors, uncaught exceptions,
// browser log errors (CSP violations among them), failed requests and
// responses of 400 or more.
func (b *browser) newTab(t *testing.T) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	tb := &tab{ctx: ctx, urls: map[network.RequestID]string{}}
	err := chromedp.Listen(ctx, func(ev any) {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == "error" || ev.Type == "assert" {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				tb.problems = append(tb.problems, "console."+string(ev.Type)+": "+strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			tb.problems = append(tb.problems, "exception: "+ev.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning || ev.Entry.Source == log.EntrySourceSecurity {
				tb.problems = append(tb.problems, fmt.Sprintf("log %s %s: %s %s", ev.Entry.Source, ev.Entry.Level, ev.Entry.Text, ev.Entry.URL))
			}
		case *network.EventRequestWillBeSent:
			tb.urls[ev.RequestID] = ev.Request.URL
		case *network.EventResponseReceived:
			if ev.Response.Status >= 400 {
				tb.problems = append(tb.problems, fmt.Sprintf("HTTP %d: %s", ev.Response.Status, ev.Response.URL))
			}
		case *network.EventLoadingFailed:
			tb.problems = append(tb.problems, fmt.Sprintf("request failed (%s %s): %s", ev.ErrorText, ev.BlockedReason, tb.urls[ev.RequestID]))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// The window's size less the browser's own bars is what a page gets:
	// set the page's size itself, so screenshots have the size asked.
	ctx, cancelStep := tb.step(t)
	defer cancelStep()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatal(err)
	}
	return tb
}

func (tb *tab) step(t *testing.T) (context.Context, context.CancelFunc) {
	t.Helper()
	return context.WithTimeout(tb.ctx, stepTimeout)
}

// open navigates to u and returns the page's visible text.
func (tb *tab) open(t *testing.T, u, what string) string {
	t.Helper()
	ctx, cancel := tb.step(t)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(u))
	if err != nil {
		t.Fatalf("%s page: open %s: %v", what, u, err)
	}
	if resp.Status != http.StatusOK {
		t.Fatalf("%s page: %s answered %d", what, u, resp.Status)
	}
	return tb.text(t, "body")
}

// click clicks the link sel, waits for the page it leads to and its
// element wait to be visible, and returns the page's visible text.
func click[S chromedp.Selectable](t *testing.T, tb *tab, sel S, what, wait string) string {
	t.Helper()
	ctx, cancel := tb.step(t)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(sel))
	if err != nil {
		t.Fatalf("%s page: click %v: %v", what, sel, err)
	}
	if resp.Status != http.StatusOK {
		t.Fatalf("%s page: %s answered %d", what, resp.URL, resp.Status)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(wait))); err != nil {
		t.Fatalf("%s page: %s not visible: %v", what, wait, err)
	}
	return tb.text(t, "body")
}

// text is the visible text (innerText) of the element sel.
func (tb *tab) text(t *testing.T, sel string) string {
	t.Helper()
	ctx, cancel := tb.step(t)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (tb *tab) location(t *testing.T) string {
	t.Helper()
	ctx, cancel := tb.step(t)
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// checkLinks fails the test with the page's broken links.
func (tb *tab) checkLinks(t *testing.T) {
	t.Helper()
	for _, p := range tb.brokenLinks(t, exporter.URL("/")) {
		t.Error(p)
	}
}

// brokenLinks follows every link of the page, as the browser resolved it
// (relative links included), and says which do not stay on site (the
// exporter's pages work offline and through kubectl port-forward) or do
// not answer 200.
func (tb *tab) brokenLinks(t *testing.T, site string) []string {
	t.Helper()
	ctx, cancel := tb.step(t)
	defer cancel()
	page, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	links, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.links, a => a.href)`))
	if err != nil {
		t.Fatalf("links of %s: %v", page, err)
	}
	if len(links) == 0 {
		return []string{page + " has no links"}
	}
	base, _ := url.Parse(site)
	var broken []string
	for _, l := range links {
		u, err := url.Parse(l)
		if err != nil || u.Host != base.Host {
			broken = append(broken, fmt.Sprintf("%s links %s, off %s", page, l, site))
			continue
		}
		resp, err := http.Get(l)
		if err != nil {
			broken = append(broken, fmt.Sprintf("%s links %s: %v", page, l, err))
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			broken = append(broken, fmt.Sprintf("%s links %s: %d", page, l, resp.StatusCode))
		}
	}
	return broken
}

// overflowWidths are the window widths checkNoOverflow lays a page out
// at: a phone's, and the screenshots'.
var overflowWidths = []int64{360, width}

// overflowJS lists what overflows its box horizontally: the page wider
// than the window, and every element whose content is wider than the
// element (scrollWidth beyond clientWidth) unless it is made to scroll
// (overflow-x auto or scroll, as the runbooks' code blocks are). Text cut
// off by overflow hidden counts: it is as unreadable.
const overflowJS = `(() => {
	const out = [];
	const root = document.documentElement;
	if (root.scrollWidth > root.clientWidth + 1) {
		out.push("the page: " + root.scrollWidth + "px wide in a " + root.clientWidth + "px window");
	}
	for (const el of document.body.querySelectorAll("*")) {
		const ox = getComputedStyle(el).overflowX;
		if (ox === "auto" || ox === "scroll" || el.clientWidth === 0) continue;
		if (el.scrollWidth > el.clientWidth + 1) {
			out.push(el.tagName.toLowerCase() + (el.className ? "." + el.className : "") + ": content " +
				el.scrollWidth + "px wide in a " + el.clientWidth + "px box: " + el.innerText.slice(0, 80));
		}
	}
	return out;
})()`

// overflows lays the page out at each of overflowWidths and returns what
// overflows at each; the window is set back to the screenshots' size.
func (tb *tab) overflows(t *testing.T) []string {
	t.Helper()
	ctx, cancel := tb.step(t)
	defer cancel()
	defer func() {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height)); err != nil {
			t.Fatal(err)
		}
	}()
	var out []string
	for _, w := range overflowWidths {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, height)); err != nil {
			t.Fatal(err)
		}
		found, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](overflowJS))
		if err != nil {
			t.Fatalf("overflow check at %dpx: %v", w, err)
		}
		for _, f := range found {
			out = append(out, fmt.Sprintf("at %dpx: %s", w, f))
		}
	}
	return out
}

// checkNoOverflow fails the test with what overflows its box on the page
// at a narrow or a wide window: text cut off or running out of its box.
func (tb *tab) checkNoOverflow(t *testing.T, what string) {
	t.Helper()
	for _, o := range tb.overflows(t) {
		t.Errorf("%s overflows %s", what, o)
	}
}

// checkClean fails the test with every problem the tab recorded.
func (tb *tab) checkClean(t *testing.T) {
	t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, p := range tb.problems {
		t.Errorf("browser: %s", p)
	}
}

// screenshot captures the window as docs/img/name: written with -update,
// else checked to be there (the README shows it) with the size this run's
// has; this run's is kept in the test's artifact directory (-artifacts).
func (tb *tab) screenshot(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := tb.step(t)
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(shot))
	if err != nil || cfg.Width != width || cfg.Height != height {
		t.Fatalf("screenshot %s: %dx%d PNG, %v; want %dx%d", name, cfg.Width, cfg.Height, err, width, height)
	}
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), name), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	committed := filepath.Join(root, "docs", "img", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(committed), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(committed, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", committed)
		return
	}
	f, err := os.Open(committed)
	if err != nil {
		t.Errorf("%v: the README shows it; run `cd e2e && go test ./browser/ -update` and commit it", err)
		return
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds() != image.Rect(0, 0, width, height) {
		t.Errorf("%s: not a %dx%d PNG (%v): run with -update", committed, width, height, err)
	}
}

// checkTheChecks opens, in a tab of its own, a page served with the
// exporter's Content-Security-Policy that breaks it (an inline script, an
// image from elsewhere), logs a console error and links a missing page:
// every check must report it.
func checkTheChecks(t *testing.T, b *browser) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!DOCTYPE html><html><head><title>broken</title></head><body>
<p>broken <a href="missing">a missing page</a></p>
<p class="runs-out" style="white-space:nowrap">`+strings.Repeat("overflowing ", 200)+`</p>
<pre class="scrolls" style="overflow-x:auto">`+strings.Repeat("scrolling ", 200)+`</pre>
<img src="/missing.png" alt="">
<script>console.error("from an inline script")</script>
</body></html>`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tb := b.newTab(t)
	ctx, cancel := tb.step(t)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	// The events arrive on their own time: wait for the ones expected,
	// not for a while.
	expected := []string{"Content Security Policy", "/missing.png"}
	err := harness.Eventually(ctx, stepTimeout, func(context.Context) (bool, string, error) {
		tb.mu.Lock()
		all := strings.Join(tb.problems, "\n")
		tb.mu.Unlock()
		for _, want := range expected {
			if !strings.Contains(all, want) {
				return false, fmt.Sprintf("no problem mentions %q; recorded:\n%s", want, all), nil
			}
		}
		return true, "", nil
	})
	if err != nil {
		t.Error(err)
	}
	tb.mu.Lock()
	t.Logf("recorded on the broken page:\n%s", strings.Join(tb.problems, "\n"))
	for _, p := range tb.problems {
		if strings.Contains(p, "from an inline script") {
			t.Errorf("the inline script ran despite the CSP: %s", p)
		}
	}
	tb.mu.Unlock()

	// The overflow check reports the paragraph that runs out of its box
	// (and so the page), at both widths, and not the block that scrolls.
	overflows := tb.overflows(t)
	var caught []string
	for _, o := range overflows {
		if !strings.Contains(o, ": p.runs-out: ") && !strings.Contains(o, ": the page: ") {
			t.Errorf("the overflow check reports what it should not: %s", o)
		}
		if strings.Contains(o, "p.runs-out") {
			caught = append(caught, o)
		}
	}
	if len(caught) != len(overflowWidths) {
		t.Errorf("the overflow check caught the overflowing paragraph %d times, want once at each of %v; reported:\n%s",
			len(caught), overflowWidths, strings.Join(overflows, "\n"))
	}

	// The link check reports the missing page.
	if broken := tb.brokenLinks(t, srv.URL); len(broken) != 1 || !strings.HasSuffix(broken[0], "/missing: 404") {
		t.Errorf("broken links of the broken page: %q, want its one link to /missing, 404", broken)
	}
}
