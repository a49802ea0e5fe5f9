package exporter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kube-job-exporter/kube-job-exporter/cronjob"
	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
)

// runbookHandler serves the runbooks embedded in the binary (so they match
// its version): /runbooks/ lists them, /runbooks/<Alert> renders one as
// HTML, with ?format=md the Markdown. Query parameters namespace, job_name
// and cronjob fill the <namespace>, <job-name> and <cronjob-name>
// placeholders of the commands, so the link in a page is ready to paste.
//
// With namespace and job_name, the page opens with the live diagnosis of
// that Job from the exporter's caches: the evidence next to the runbook,
// with the events of the Job and its pods read for the request; for a Job
// deleted after it failed, the report the exporter kept of it (job_uid
// picks one deleted Job when another of its name exists). With namespace
// and cronjob instead, it opens with the CronJob's: whether it runs on
// time, its runs, and the diagnosis of its newest failed run. With
// namespace and owner_name, it lists the deleted failed Jobs of that
// standalone owner (job.OwnerOf), newest first, and opens the newest's
// report.
type runbookHandler struct {
	files     map[string][]byte // alert → Markdown
	md        goldmark.Markdown
	jobs      jobSource // nil: no evidence
	summaries *summaryCache
	// evidence keeps the evidence of deleted failed Jobs; nil: none.
	evidence *failingBoard
	// now is the clock the kept evidence expires by; nil: time.Now.
	now func() time.Time
	// missedGrace: how late a CronJob's run may be before a page calls it
	// missed.
	missedGrace time.Duration
	// events reads the events of a Job and its pods; nil shows none.
	events func(ctx context.Context, s job.Summary) ([]diagnose.Event, error)
}

// jobSource is what the runbook pages read from the exporter's caches
// (watcher.Watcher).
type jobSource interface {
	// Summary of the Job "namespace/name".
	Summary(key string) (job.Summary, bool)
	// Version changes whenever the Job's Summary may (its objects did).
	Version(key string) (string, bool)
	// ShardOf is the shard that reports the Job, of how many, and
	// whether this replica is it.
	ShardOf(key string) (shard, total int, mine bool)
	// CronJob is the CronJob "namespace/name" as the exporter reports it.
	CronJob(key string) (cronjob.Summary, bool)
}

// eventsTimeout bounds the reading of events for a page: a slow API
// server delays the page by this much at most, and the page says so.
const eventsTimeout = 3 * time.Second

// Reading a Job's events takes a few API requests. Pages opened at once
// read at most eventReaders at a time (the others say so), and a Job's
// events are reused for eventsTTL, so a page reloaded or opened by a whole
// on-call channel costs the API server one read.
const (
	eventReaders   = 4
	eventsTTL      = 15 * time.Second
	eventsCacheMax = 256
)

type eventReader struct {
	fetch func(ctx context.Context, s job.Summary) ([]diagnose.Event, error)
	slots chan struct{}

	mu    sync.Mutex
	cache map[string]cachedEvents
}

type cachedEvents struct {
	at     time.Time
	events []diagnose.Event
	err    error
}

func newEventReader(fetch func(ctx context.Context, s job.Summary) ([]diagnose.Event, error)) *eventReader {
	return &eventReader{fetch: fetch, slots: make(chan struct{}, eventReaders), cache: map[string]cachedEvents{}}
}

func (r *eventReader) read(ctx context.Context, s job.Summary) ([]diagnose.Event, error) {
	key := s.Namespace + "/" + s.Name + "/" + string(s.UID)
	now := time.Now()
	r.mu.Lock()
	c, ok := r.cache[key]
	r.mu.Unlock()
	if ok && now.Sub(c.at) < eventsTTL {
		return c.events, c.err
	}
	select {
	case r.slots <- struct{}{}:
		defer func() { <-r.slots }()
	default:
		return nil, errors.New("other pages are reading events right now; reload in a few seconds")
	}
	// A page's reads take from the pages' rate limit, not the watches'
	// (kube.Budget): pages opened by many cannot delay a re-list.
	events, err := r.fetch(kube.WithBudget(ctx, kube.BudgetPages), s)
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, c := range r.cache {
		if now.Sub(c.at) >= eventsTTL || len(r.cache) >= eventsCacheMax {
			delete(r.cache, k)
		}
	}
	r.cache[key] = cachedEvents{at: now, events: events, err: err}
	return events, err
}

func newRunbookHandler(fsys fs.FS, jobs jobSource, events func(ctx context.Context, s job.Summary) ([]diagnose.Event, error)) (*runbookHandler, error) {
	h := &runbookHandler{files: map[string][]byte{}, md: goldmark.New(goldmark.WithExtensions(extension.GFM)), jobs: jobs, events: events,
		missedGrace: diagnose.DefaultMissedGrace}
	if jobs != nil {
		h.summaries = newSummaryCache(jobs)
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("reading runbooks: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".md" || strings.EqualFold(e.Name(), "README.md") {
			continue
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		h.files[strings.TrimSuffix(e.Name(), ".md")] = b
	}
	return h, nil
}

// validName limits filled-in values to what Kubernetes names allow, so a
// crafted link cannot inject anything into the page.
var validName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)

// validOwnerName allows an owner's name (job.OwnerOf): a Job's name or
// generateName, or the value of the --outcomes.owner-label label, which
// may hold capitals and underscores.
var validOwnerName = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]{0,251}[A-Za-z0-9])?$`)

// validUID allows what the API server's UIDs are made of (RFC 4122
// UUIDs), and the names test fixtures use.
var validUID = regexp.MustCompile(`^[-A-Za-z0-9_.]{1,128}$`)

// placeholder matches a command placeholder such as <pod-name>.
var placeholder = regexp.MustCompile(`<([a-z][a-z0-9-]*)>`)

var placeholders = map[string]string{
	"namespace":  "<namespace>",
	"job_name":   "<job-name>",
	"cronjob":    "<cronjob-name>",
	"owner_name": "<owner-name>",
}

// paramPattern is what a query parameter's value must match.
func paramPattern(param string) *regexp.Regexp {
	switch param {
	case "owner_name":
		return validOwnerName
	case "job_uid":
		return validUID
	}
	return validName
}

// ownerListMax bounds the deleted Jobs an owner's page lists.
const ownerListMax = 20

func (h *runbookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/runbooks/")
	if name == "" {
		h.index(w)
		return
	}
	src, ok := h.files[name]
	if !ok {
		http.Error(w, fmt.Sprintf("no runbook for %q; see /runbooks/", name), http.StatusNotFound)
		return
	}
	for _, param := range []string{"namespace", "job_name", "cronjob", "owner_name", "job_uid"} {
		if v := r.URL.Query().Get(param); v != "" && !paramPattern(param).MatchString(v) {
			http.Error(w, fmt.Sprintf("invalid %s %q", param, v), http.StatusBadRequest)
			return
		}
	}
	for param, ph := range placeholders {
		if v := r.URL.Query().Get(param); v != "" {
			src = bytes.ReplaceAll(src, []byte(ph), []byte(v))
		}
	}
	if r.URL.Query().Get("format") == "md" {
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
		_, _ = w.Write(src)
		return
	}
	var body bytes.Buffer
	// Placeholders left unfilled (<pod-name>, …) would read as HTML tags in
	// prose and be dropped: carry them through the Markdown renderer as
	// private-use characters and turn those into &lt; and &gt; afterwards,
	// in prose and code alike.
	src = placeholder.ReplaceAll(src, []byte("\uE000$1\uE001"))
	if err := h.md.Convert(src, &body); err != nil {
		http.Error(w, "rendering runbook: "+err.Error(), http.StatusInternalServerError)
		return
	}
	page := bytes.ReplaceAll(bytes.ReplaceAll(body.Bytes(), []byte("\uE000"), []byte("&lt;")), []byte("\uE001"), []byte("&gt;"))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s — kube-job-exporter runbook</title>%s</head><body>\n%s%s<p><a href=\"./\">All runbooks</a></p></body></html>\n",
		html.EscapeString(name), pageStyle, h.evidenceHTML(r.Context(), r.URL.Query()), page)
}

// evidenceHTML renders the live diagnosis of the Job the query names (or
// of the CronJob's run, or the deleted Jobs of an owner), or says why
// there is none. Names were validated by ServeHTTP.
func (h *runbookHandler) evidenceHTML(ctx context.Context, q url.Values) string {
	namespace := q.Get("namespace")
	if h.jobs == nil || namespace == "" {
		return ""
	}
	switch {
	case q.Get("job_name") != "":
		return h.jobHTML(ctx, namespace, q.Get("job_name"), types.UID(q.Get("job_uid")))
	case q.Get("cronjob") != "":
		return h.cronJobHTML(ctx, namespace, q.Get("cronjob"))
	case q.Get("owner_name") != "":
		return h.ownerHTML(ctx, namespace, q.Get("owner_name"))
	}
	return ""
}

// jobHTML renders the Job namespace/name: the live one, else (or the one
// uid names) the kept evidence of a deleted one.
func (h *runbookHandler) jobHTML(ctx context.Context, namespace, name string, uid types.UID) string {
	key := namespace + "/" + name
	if shard, total, mine := h.jobs.ShardOf(key); !mine {
		return fmt.Sprintf("<div class=\"evidence\"><p>Job <code>%s</code> is reported by shard %d of %d (the replica started with <code>--shard=%d</code>), not by this one: open this page on that replica.</p></div>\n",
			html.EscapeString(key), shard, total, shard)
	}
	s, live, err := h.summaries.get(key)
	if err != nil {
		return "<div class=\"evidence\"><p>" + html.EscapeString(err.Error()) + ": reload the page.</p></div>\n"
	}
	if live && (uid == "" || s.UID == uid) {
		// No run-time limit: the mixin's may differ per namespace or Job;
		// the report says how long the Job has run, the alert whether too
		// long.
		report := diagnose.FromSummary(s, time.Now(), diagnose.Limits{})
		h.addEvents(ctx, s, &report)
		var text bytes.Buffer
		if err := report.WriteText(&text); err != nil {
			return ""
		}
		out := evidenceDiv("This Job now", text.String())
		if e, ok := h.keptJob(namespace, name, ""); ok && e.UID != s.UID {
			// The alert may be about the earlier Job of this name.
			q := url.Values{"namespace": {namespace}, "job_name": {name}, "job_uid": {string(e.UID)}}
			out += fmt.Sprintf("<div class=\"evidence\"><p>An earlier Job of this name failed and was deleted at %s UTC: <a href=\"?%s\">its kept report</a>.</p></div>\n",
				e.kept.Deleted.UTC().Format(pageTimeFormat), html.EscapeString(q.Encode()))
		}
		return out
	}
	if e, ok := h.keptJob(namespace, name, uid); ok {
		return h.keptHTML(ctx, e)
	}
	which, keeps := "", ""
	if uid != "" {
		which = " with UID <code>" + html.EscapeString(string(uid)) + "</code>"
	}
	if h.evidence != nil {
		keeps = " (a failed Job's evidence is kept for " + age(h.evidence.deleted.keepFor) + " after its deletion, if this exporter saw it fail)"
	}
	return fmt.Sprintf("<div class=\"evidence\"><p>Job <code>%s/%s</code>%s is not in the exporter's cache now, and no evidence of it is kept: it was deleted%s, or is outside the namespaces and selector this exporter watches.</p></div>\n",
		html.EscapeString(namespace), html.EscapeString(name), which, keeps)
}

// keptJob is the kept entry of a deleted failed Job (see
// failingBoard.keptJob), as of the handler's clock.
func (h *runbookHandler) keptJob(namespace, name string, uid types.UID) (failingEntry, bool) {
	if h.evidence == nil {
		return failingEntry{}, false
	}
	return h.evidence.keptJob(namespace, name, uid, h.clock())
}

func (h *runbookHandler) clock() time.Time {
	if h.now == nil {
		return time.Now()
	}
	return h.now()
}

// keptHTML renders the kept report of a deleted failed Job: its last
// Summary judged as of its deletion (when its state stopped), with the
// events the API server still has of it and its pods.
func (h *runbookHandler) keptHTML(ctx context.Context, e failingEntry) string {
	s := *e.kept
	report := diagnose.FromSummary(s, s.Deleted, diagnose.Limits{})
	h.addEvents(ctx, s, &report)
	var text bytes.Buffer
	if err := report.WriteText(&text); err != nil {
		return ""
	}
	return fmt.Sprintf("<div class=\"evidence\"><h2>%s</h2><p>The exporter's last view of Job <code>%s/%s</code> (UID <code>%s</code>), kept since its deletion; events read from the API server now, which keeps them about an hour:</p><pre>%s</pre></div>\n",
		html.EscapeString(deletedHeading(&s)), html.EscapeString(s.Namespace), html.EscapeString(s.Name), html.EscapeString(string(s.UID)), html.EscapeString(text.String()))
}

// deletedHeading heads a deleted Job's kept report.
func deletedHeading(s *job.Summary) string {
	return "This Job was deleted at " + s.Deleted.UTC().Format(pageTimeFormat) + " UTC, " + deletedBy(s)
}

// ownerHTML lists the kept deleted failed Jobs of the standalone owner
// namespace/owner (the owner KubeJobFailedAndDeleted pages for), newest
// first, each with its cause and a link to its report, and renders the
// newest's report.
func (h *runbookHandler) ownerHTML(ctx context.Context, namespace, owner string) string {
	if h.evidence == nil {
		return ""
	}
	kept, total := h.evidence.deletedOfOwner(namespace, job.Owner{Kind: job.OwnerKindJob, Name: owner}, ownerListMax, h.clock())
	var b strings.Builder
	fmt.Fprintf(&b, "<div class=\"evidence\"><h2>Failed and deleted Jobs of %s in namespace %s</h2>\n", html.EscapeString(owner), html.EscapeString(namespace))
	if len(kept) == 0 {
		fmt.Fprintf(&b, "<p>This exporter keeps no failed Job of owner <code>%s</code> in namespace <code>%s</code> that was deleted: it keeps them for %s after their deletion (<code>--evidence.keep-for</code>), at most %d (<code>--evidence.max-jobs</code>), and only those it saw fail.</p>\n",
			html.EscapeString(owner), html.EscapeString(namespace), age(h.evidence.deleted.keepFor), h.evidence.deleted.max)
	} else {
		fmt.Fprintf(&b, "<p>Newest deletion first, as the exporter kept them:</p>\n<ul>\n")
		for _, e := range kept {
			s := e.kept
			name := "<code>" + html.EscapeString(e.Name) + "</code>"
			if _, ok := h.files[e.Runbook]; ok {
				name = "<a href=\"" + html.EscapeString(runbookQuery(e)) + "\">" + name + "</a>"
			}
			fmt.Fprintf(&b, "<li>%s failed (%s) at %s UTC; deleted at %s UTC, %s. %s</li>\n", name, html.EscapeString(s.FailedReason),
				s.FailedAt.UTC().Format(pageTimeFormat), s.Deleted.UTC().Format(pageTimeFormat), html.EscapeString(deletedBy(s)), html.EscapeString(e.Cause))
		}
		b.WriteString("</ul>\n")
		if total > len(kept) {
			fmt.Fprintf(&b, "<p>… and %d more, deleted earlier.</p>\n", total-len(kept))
		}
	}
	if _, shards, _ := h.jobs.ShardOf(namespace + "/" + owner); shards > 1 {
		fmt.Fprintf(&b, "<p>Each of the %d shards keeps the Jobs it reports: the owner's other Jobs may be on the other replicas' pages.</p>\n", shards)
	}
	b.WriteString("</div>\n")
	if len(kept) > 0 {
		b.WriteString(h.keptHTML(ctx, kept[0]))
	}
	return b.String()
}

// cronJobHTML renders the live diagnosis of a CronJob, with its newest
// failed run's: present, or deleted and kept (a history limit of 0).
func (h *runbookHandler) cronJobHTML(ctx context.Context, namespace, name string) string {
	cs, ok := h.jobs.CronJob(namespace + "/" + name)
	if !ok {
		return fmt.Sprintf("<div class=\"evidence\"><p>CronJob <code>%s/%s</code> is not reported by this exporter now: it was deleted, is outside the namespaces it watches, or belongs to another shard (or, without permission to read CronJobs, none of its runs is present).</p></div>\n",
			html.EscapeString(namespace), html.EscapeString(name))
	}
	var failed *job.Summary
	var newest *cronjob.Run
	for i := range cs.Runs {
		if r := &cs.Runs[i]; r.Failed && (newest == nil || r.Finished.After(newest.Finished)) {
			newest = r
		}
	}
	if newest != nil {
		// A run whose summary could not be computed is shown as not
		// present: the CronJob's own report still stands.
		if s, ok, err := h.summaries.get(namespace + "/" + newest.Name); ok && err == nil {
			failed = &s
		}
	}
	var note string
	if h.evidence != nil {
		if e, ok := h.evidence.deletedRun(namespace, name, cronJobUID(cs), cs.LastFailure, h.clock()); ok && (failed == nil || e.kept.FailedAt.After(failed.FailedAt)) {
			failed = e.kept
			note = fmt.Sprintf("<div class=\"evidence\"><p>Its newest failed run, <code>%s</code>, was deleted at %s UTC, %s: its report below is the exporter's last view of it.</p></div>\n",
				html.EscapeString(e.Name), e.kept.Deleted.UTC().Format(pageTimeFormat), html.EscapeString(deletedBy(e.kept)))
		}
	}
	report := diagnose.FromCronJob(cs, failed, time.Now(), h.missedGrace)
	if report.NewestFailed != nil {
		h.addEvents(ctx, *failed, report.NewestFailed)
	}
	var text bytes.Buffer
	if err := report.WriteText(&text); err != nil {
		return ""
	}
	return note + evidenceDiv("This CronJob now", text.String())
}

// addEvents reads the events of a Job and its pods into its report.
func (h *runbookHandler) addEvents(ctx context.Context, s job.Summary, r *diagnose.Report) {
	if h.events == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, eventsTimeout)
	defer cancel()
	events, err := h.events(ctx, s)
	if err != nil {
		r.EventsNote = "some events could not be read: " + err.Error()
	}
	r.AddEvents(s, events)
}

func evidenceDiv(title, text string) string {
	return fmt.Sprintf("<div class=\"evidence\"><h2>%s</h2><p>Live from the exporter's cache, %s:</p><pre>%s</pre></div>\n",
		html.EscapeString(title), time.Now().UTC().Format(time.RFC3339), html.EscapeString(text))
}

func (h *runbookHandler) index(w http.ResponseWriter) {
	names := make([]string, 0, len(h.files))
	for n := range h.files {
		names = append(names, n)
	}
	sort.Strings(names)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>kube-job-exporter runbooks</title>%s</head><body><h1>Runbooks</h1><ul>\n", pageStyle)
	for _, n := range names {
		fmt.Fprintf(w, "<li><a href=\"%s\">%s</a></li>\n", html.EscapeString(n), html.EscapeString(n))
	}
	fmt.Fprint(w, "</ul></body></html>\n")
}

const pageStyle = `<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;line-height:1.5}pre{background:#f4f4f4;padding:.8em;overflow-x:auto}code{background:#f4f4f4}.evidence{border-left:4px solid #e6522c;padding-left:1em}</style>`
