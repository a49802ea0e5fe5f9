package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/kube-job-exporter/kube-job-exporter/job"
)

func testEvent(name, message string) corev1.Event {
	return corev1.Event{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
		ObjectMeta:     metav1.ObjectMeta{Name: name, Namespace: "batch", ResourceVersion: "9"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "etl-x7k2p", UID: "0b5c3f0e-6d2a-4e8b-9a51-3f1e2d4c5b6a"},
		Type:           "Warning", Reason: "Failed", Message: message, Count: 3}
}

// TestDecodeEventListWithinBounds: within its bounds a list decodes as
// encoding/json decodes it (escapes, UTF-8, \u escapes of <>&); past
// MaxString every string is its own start, cut at a character boundary
// and marked, still valid UTF-8.
func TestDecodeEventListWithinBounds(t *testing.T) {
	messages := []string{
		"short",
		`Failed to pull image "a<b>&c": "quoted" \ back\slash` + "\n\ttabbed",
		strings.Repeat("é", 3000),
		strings.Repeat("🙂x", 1000),
		strings.Repeat(`"\`, 2000),
		strings.Repeat("a", 5000),
		"",
	}
	var in corev1.EventList
	in.ResourceVersion, in.Continue = "42", "next-page"
	for i, m := range messages {
		in.Items = append(in.Items, testEvent(fmt.Sprintf("e%d", i), m))
	}
	raw, err := json.Marshal(&in)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := decodeEventList(bytes.NewReader(raw), EventBounds{MaxBytes: int64(len(raw)), MaxString: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(whole.Items, in.Items) || whole.ResourceVersion != "42" || whole.Continue != "next-page" {
		t.Errorf("within its bounds the list decodes differently from encoding/json")
	}
	for _, max := range []int{minString, 65, 100, 1024} {
		cut, err := decodeEventList(bytes.NewReader(raw), EventBounds{MaxBytes: int64(len(raw)), MaxString: max})
		if err != nil {
			t.Fatalf("MaxString %d: %v", max, err)
		}
		if len(cut.Items) != len(messages) {
			t.Fatalf("MaxString %d: %d events, want %d", max, len(cut.Items), len(messages))
		}
		for i, e := range cut.Items {
			m := e.Message
			if !utf8.ValidString(m) {
				t.Errorf("MaxString %d: message %d is not valid UTF-8", max, i)
			}
			// As written in JSON a kept byte may take up to 6 (\u0026);
			// decoded, what is kept is at most max bytes and the rest of
			// a character begun before, then the marker.
			if len(m) > max+utf8.UTFMax+len(job.CutMarker) {
				t.Errorf("MaxString %d: message %d kept %d bytes", max, i, len(m))
			}
			if kept, ok := strings.CutSuffix(m, job.CutMarker); ok && m != messages[i] {
				if !strings.HasPrefix(messages[i], strings.TrimRight(kept, "\uFFFD")) {
					t.Errorf("MaxString %d: message %d %q is not the start of the original", max, i, m)
				}
			} else if m != messages[i] {
				t.Errorf("MaxString %d: message %d changed without a cut marker: %q", max, i, m)
			}
		}
	}
}

// eventStream writes a JSON EventList of n events of a message of size
// bytes, from one reused buffer: a reader of it allocates only what it
// keeps.
func eventStream(n, size int) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		chunk := bytes.Repeat([]byte("m"), 64<<10)
		w := func(s string) bool { _, err := io.WriteString(pw, s); return err == nil }
		if !w(`{"kind":"EventList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[`) {
			return
		}
		for i := range n {
			sep := ","
			if i == 0 {
				sep = ""
			}
			if !w(sep + fmt.Sprintf(`{"metadata":{"name":"e%d","namespace":"batch"},"involvedObject":{"kind":"Job","name":"etl"},"reason":"BackOff","type":"Warning","message":"`, i)) {
				return
			}
			for left := size; left > 0; left -= len(chunk) {
				if _, err := pw.Write(chunk[:min(left, len(chunk))]); err != nil {
					return
				}
			}
			if !w(`"}`) {
				return
			}
		}
		w(`]}`)
		pw.Close()
	}()
	return pr
}

// TestDecodeEventListMemory: 40 events of 1 MiB messages, 40 MiB read,
// cost the reader less than 4 MiB of allocations: every message is cut
// as it streams by, none is ever held whole. Without a byte bound, as the
// events informer lists, every event is read.
func TestDecodeEventListMemory(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	// 40 MiB: ten times the allocation allowed, and quick under -race.
	l, err := decodeEventList(eventStream(40, 1<<20), EventBounds{MaxString: 2048})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 40 || l.ResourceVersion != "7" {
		t.Fatalf("%d events, resourceVersion %q; want 40, 7", len(l.Items), l.ResourceVersion)
	}
	for _, e := range l.Items {
		if len(e.Message) != 2048+len(job.CutMarker) || !strings.HasSuffix(e.Message, job.CutMarker) {
			t.Fatalf("a 1 MiB message kept as %d bytes, want 2048 and the marker", len(e.Message))
		}
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("reading 40 MiB of events allocated %d MiB, want < 4", alloc>>20)
	}
}

// TestDecodeEventListStopsAtMaxBytes: the events before the byte bound are
// returned, with ErrEventsCut.
func TestDecodeEventListStopsAtMaxBytes(t *testing.T) {
	l, err := decodeEventList(eventStream(200, 1<<20), EventBounds{MaxBytes: 5<<20 + 4096, MaxString: 2048})
	if !errors.Is(err, ErrEventsCut) {
		t.Fatalf("err = %v, want ErrEventsCut", err)
	}
	if len(l.Items) != 5 {
		t.Errorf("%d events read within 5 MiB of 1 MiB events, want 5", len(l.Items))
	}
}

// TestListEventsBounded: the production client asks for JSON (to stream
// it) with the caller's options, answers errors as the API server says
// them, and a client without streaming (a fake) cuts after listing.
func TestListEventsBounded(t *testing.T) {
	var query, accept string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query, accept = r.URL.RawQuery, r.Header.Get("Accept")
		if strings.Contains(r.URL.Path, "/namespaces/forbidden/") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"events is forbidden","reason":"Forbidden","code":403}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.Copy(w, eventStream(3, 10000))
	}))
	defer srv.Close()
	c, err := NewClient(&rest.Config{Host: srv.URL, QPS: 1000, Burst: 1000}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	opts := metav1.ListOptions{FieldSelector: "involvedObject.kind=Job,involvedObject.name=etl", Limit: 200}
	b := EventBounds{MaxBytes: 1 << 20, MaxString: 100}
	l, err := ListEventsBounded(context.Background(), c, "batch", opts, b)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "application/json" || !strings.Contains(query, "limit=200") || !strings.Contains(query, "fieldSelector=involvedObject.kind") {
		t.Errorf("request Accept %q, query %q", accept, query)
	}
	if len(l.Items) != 3 || len(l.Items[0].Message) != 100+len(job.CutMarker) {
		t.Errorf("%d events, first message %d bytes", len(l.Items), len(l.Items[0].Message))
	}
	_, err = ListEventsBounded(context.Background(), c, "forbidden", opts, b)
	if err == nil || !strings.Contains(err.Error(), "events is forbidden") {
		t.Errorf("a forbidden list: err = %v", err)
	}
}

// FuzzDecodeEventListBounds: whatever a tenant writes in a message or a
// label, the list decodes (no cut breaks the JSON), every string value is
// within its bound and what is kept is the start of what was written.
func FuzzDecodeEventListBounds(f *testing.F) {
	f.Add("plain", "v", 64)
	f.Add(strings.Repeat(`\"é🙂<&>`+"\x00\xff", 40), strings.Repeat("ü", 100), 65)
	f.Add(strings.Repeat("\\u", 50), `"`, 70)
	f.Fuzz(func(t *testing.T, message, label string, limit int) {
		limit = minString + int(uint(limit)%2048)
		e := testEvent("e", message)
		e.Labels = map[string]string{"k": label}
		raw, err := json.Marshal(&corev1.EventList{Items: []corev1.Event{e}})
		if err != nil {
			t.Skip()
		}
		var want corev1.EventList
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		l, err := decodeEventList(bytes.NewReader(raw), EventBounds{MaxBytes: int64(len(raw)), MaxString: limit})
		if err != nil {
			t.Fatalf("decoding a cut list: %v", err)
		}
		for _, pair := range [][2]string{{l.Items[0].Message, want.Items[0].Message}, {l.Items[0].Labels["k"], want.Items[0].Labels["k"]}} {
			got, orig := pair[0], pair[1]
			if got == orig {
				continue
			}
			kept, ok := strings.CutSuffix(got, job.CutMarker)
			if !ok || len(got) > limit+utf8.UTFMax+len(job.CutMarker) || !strings.HasPrefix(orig, strings.TrimRight(kept, "\uFFFD")) {
				t.Errorf("limit %d: %q kept as %q", limit, orig, got)
			}
		}
	})
}
