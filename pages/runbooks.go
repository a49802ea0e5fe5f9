package pages

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
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
// report (evidence.go).
type runbookHandler struct {
	cfg   Config
	files map[string][]byte // alert → Markdown
	md    goldmark.Markdown
	// summaries: nil without cfg.Jobs (no evidence).
	summaries *summaryCache
	// events reads the events of a Job and its pods, bounded and reused;
	// nil shows none.
	events *eventReader
}

func newRunbookHandler(cfg Config) (*runbookHandler, error) {
	h := &runbookHandler{cfg: cfg, files: map[string][]byte{}, md: goldmark.New(goldmark.WithExtensions(extension.GFM))}
	if cfg.Jobs != nil {
		h.summaries = newSummaryCache(cfg.Jobs)
	}
	if cfg.Events != nil {
		h.events = newEventReader(cfg.Events)
	}
	entries, err := fs.ReadDir(cfg.Runbooks, ".")
	if err != nil {
		return nil, fmt.Errorf("reading runbooks: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".md" || strings.EqualFold(e.Name(), "README.md") {
			continue
		}
		b, err := fs.ReadFile(cfg.Runbooks, e.Name())
		if err != nil {
			return nil, err
		}
		h.files[strings.TrimSuffix(e.Name(), ".md")] = b
	}
	return h, nil
}

// has tells whether alert has a runbook page; false on a nil handler (no
// runbooks served).
func (h *runbookHandler) has(alert string) bool {
	if h == nil {
		return false
	}
	_, ok := h.files[alert]
	return ok
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

// runbookPage is what the runbook template renders.
type runbookPage struct {
	chrome
	Evidence *evidence // nil: none asked for
	// Body is the runbook rendered from its Markdown, the placeholders
	// given filled in (the values validated).
	Body template.HTML
}

// indexPage lists the runbooks.
type indexPage struct {
	chrome
	Alerts []string
}

func (h *runbookHandler) chrome(title string) chrome {
	return chrome{Title: title, Root: "../", Runbooks: true, Metrics: h.cfg.MetricsPath}
}

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
	render(w, "runbook.html", runbookPage{chrome: h.chrome(name), Evidence: h.evidence(r.Context(), r.URL.Query()),
		// The runbooks are the binary's own files (goldmark escapes raw
		// HTML in them: no WithUnsafe), and the values filled in were
		// validated as names above.
		Body: template.HTML(page)}) //nolint:gosec // see above
}

func (h *runbookHandler) index(w http.ResponseWriter) {
	names := make([]string, 0, len(h.files))
	for n := range h.files {
		names = append(names, n)
	}
	sort.Strings(names)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	render(w, "index.html", indexPage{chrome: h.chrome("Runbooks"), Alerts: names})
}
