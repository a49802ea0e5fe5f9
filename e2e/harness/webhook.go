package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// WebhookMessage is Alertmanager's webhook payload (version 4).
type WebhookMessage struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []WebhookAlert    `json:"alerts"`
}

// WebhookAlert is one alert of a notification.
type WebhookAlert struct {
	Status       string            `json:"status"` // firing or resolved
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

func (a WebhookAlert) String() string {
	keys := make([]string, 0, len(a.Labels))
	for k := range a.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%q", k, a.Labels[k]))
	}
	return fmt.Sprintf("%s{%s}", a.Status, strings.Join(parts, ","))
}

// Notification is one webhook call as received.
type Notification struct {
	Received time.Time
	Message  WebhookMessage
}

// ReceivedAlert is one alert of a notification, with the receive time
// and the receiver and group labels of the notification.
type ReceivedAlert struct {
	Received    time.Time
	Receiver    string
	GroupLabels map[string]string
	WebhookAlert
}

// WebhookReceiver is an HTTP server that records every Alertmanager
// notification it gets.
type WebhookReceiver struct {
	srv      *http.Server
	addr     string
	mu       sync.Mutex
	notes    []Notification
	changed  chan struct{}
	onNotify func(Notification)
	links    []pageLinks
}

// StartWebhookReceiver listens on a free loopback port. onNotify (may be
// nil) is called for each notification, e.g. to print it in the demo.
func StartWebhookReceiver(onNotify func(Notification)) (*WebhookReceiver, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	w := &WebhookReceiver{addr: l.Addr().String(), changed: make(chan struct{}), onNotify: onNotify}
	w.srv = &http.Server{Handler: w, ReadHeaderTimeout: 10 * time.Second}
	go w.srv.Serve(l)
	return w, nil
}

// URL is where Alertmanager posts.
func (w *WebhookReceiver) URL() string { return "http://" + w.addr + "/alerts" }

func (w *WebhookReceiver) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		w.servePage(rw, r)
		return
	}
	now := time.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	var m WebhookMessage
	if err := json.Unmarshal(body, &m); err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	n := Notification{Received: now, Message: m}
	w.mu.Lock()
	w.notes = append(w.notes, n)
	close(w.changed)
	w.changed = make(chan struct{})
	w.mu.Unlock()
	if w.onNotify != nil {
		w.onNotify(n)
	}
	rw.WriteHeader(http.StatusOK)
}

// Links shown on the page (the pipeline sets them).
type pageLinks struct{ Title, URL string }

// SetLinks sets the links the page at PageURL shows above the pages.
func (w *WebhookReceiver) SetLinks(titleURL ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.links = nil
	for i := 0; i+1 < len(titleURL); i += 2 {
		w.links = append(w.links, pageLinks{titleURL[i], titleURL[i+1]})
	}
}

// PageURL is a web page listing every page received, newest first, with
// its description and runbook link (Prometheus built without its UI
// assets and Debian's Alertmanager have no web UI).
func (w *WebhookReceiver) PageURL() string { return "http://" + w.addr + "/" }

var pageTmpl = template.Must(template.New("pages").Funcs(template.FuncMap{
	"ts": func(t time.Time) string { return t.Format("15:04:05") },
}).Parse(`<!DOCTYPE html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>kube-job-exporter pages</title>
<style>body{font-family:sans-serif;margin:1em 2em}pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em}
.firing{color:#b00}.resolved{color:#070}</style></head><body>
<h1>Pages received from Alertmanager</h1>
<p>{{range .Links}}<a href="{{.URL}}">{{.Title}}</a> &middot; {{end}}refreshes every 5s</p>
{{range .Alerts}}<h3><span class="{{.Status}}">{{.Status}}</span> {{index .Labels "alertname"}}
{{index .Labels "namespace"}}/{{index .Labels "job_name"}}{{index .Labels "cronjob"}} <small>{{ts .Received}}, {{index .Labels "severity"}}</small></h3>
<p>{{index .Annotations "summary"}} <a href="{{index .Annotations "runbook_url"}}">runbook</a>{{with index .Annotations "live_report_url"}} · <a href="{{.}}">live report</a>{{end}}</p>
<pre>{{index .Annotations "description"}}</pre>
{{else}}<p>No page yet: terminal Job failures page within seconds.</p>{{end}}
</body></html>`))

func (w *WebhookReceiver) servePage(rw http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(rw, r)
		return
	}
	alerts := w.Alerts(nil)
	for i, j := 0, len(alerts)-1; i < j; i, j = i+1, j-1 {
		alerts[i], alerts[j] = alerts[j], alerts[i]
	}
	w.mu.Lock()
	links := append([]pageLinks(nil), w.links...)
	w.mu.Unlock()
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = pageTmpl.Execute(rw, struct {
		Links  []pageLinks
		Alerts []ReceivedAlert
	}{links, alerts})
}

// Notifications returns every notification so far, oldest first.
func (w *WebhookReceiver) Notifications() []Notification {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Notification(nil), w.notes...)
}

// Alerts returns every alert of every notification so far, oldest first,
// for which match (nil: all) holds.
func (w *WebhookReceiver) Alerts(match func(ReceivedAlert) bool) []ReceivedAlert {
	var out []ReceivedAlert
	for _, n := range w.Notifications() {
		for _, a := range n.Message.Alerts {
			ra := ReceivedAlert{Received: n.Received, Receiver: n.Message.Receiver, GroupLabels: n.Message.GroupLabels, WebhookAlert: a}
			if match == nil || match(ra) {
				out = append(out, ra)
			}
		}
	}
	return out
}

// WaitAlert waits until an alert for which match holds has been received
// and returns the first one. On timeout the error lists what was received
// (filtered by show, nil: everything).
func (w *WebhookReceiver) WaitAlert(ctx context.Context, timeout time.Duration, match, show func(ReceivedAlert) bool) (ReceivedAlert, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		w.mu.Lock()
		changed := w.changed
		w.mu.Unlock()
		if got := w.Alerts(match); len(got) > 0 {
			return got[0], nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			var seen []string
			for _, a := range w.Alerts(show) {
				seen = append(seen, fmt.Sprintf("  %s %s", a.Received.Format("15:04:05.000"), a))
			}
			if len(seen) == 0 {
				seen = []string{"  (none)"}
			}
			return ReceivedAlert{}, fmt.Errorf("no matching alert after %s; received:\n%s", timeout, strings.Join(seen, "\n"))
		}
	}
}

// Close stops the server.
func (w *WebhookReceiver) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return w.srv.Shutdown(ctx)
}
