package pages

import (
	"embed"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
)

// The templates of every page and the one stylesheet they share, inlined
// into each page (the pages' Content-Security-Policy allows inline styles
// and loads nothing).
//
//go:embed templates/*.html templates/pages.css
var files embed.FS

var templates = template.Must(template.New("pages").Funcs(template.FuncMap{
	"utc":           func(t time.Time) string { return t.UTC().Format(pageTimeFormat) },
	"rfc3339":       func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"upper":         func(h diagnose.Health) string { return strings.ToUpper(string(h)) },
	"join":          strings.Join,
	"style":         func() template.CSS { return stylesheet },
	"departedTitle": func() string { return diagnose.DepartedTitle },
	"fromDeparted":  func() string { return diagnose.FromDeparted },
}).ParseFS(files, "templates/*.html"))

// stylesheet is templates/pages.css, the pages' one stylesheet.
var stylesheet = func() template.CSS {
	b, err := files.ReadFile("templates/pages.css")
	if err != nil {
		panic(err)
	}
	return template.CSS(b)
}()

// chrome is what every page's header needs: its title, and the way back
// to the exporter's root relative to the page (so that the links work
// behind a path prefix).
type chrome struct {
	Title string
	// Root is the exporter's root relative to the page: "./" on
	// /failing, "../" under /runbooks/.
	Root string
	// Runbooks: the runbook pages are served.
	Runbooks bool
	// Metrics is the metrics path relative to the root; "": not linked.
	Metrics string
}

// render writes the page; an error is the client going away (the status
// is out already) or a template bug the tests catch.
func render(w io.Writer, name string, data any) {
	_ = templates.ExecuteTemplate(w, name, data)
}
