package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// EventBounds bound the reading of events for a page or a report in
// bytes, whatever tenants wrote: the API server accepts events of up to about 1.5 MiB, and
// a list of 200 of them, decoded whole, would take hundreds of MiB. A
// bounded list streams the API server's JSON and cuts every string longer
// than MaxString bytes as it arrives (the message is the one that grows),
// so that it holds at most a read buffer and the events cut; and it stops
// reading after MaxBytes, reporting the events read so far with
// ErrEventsCut.
type EventBounds struct {
	// MaxBytes bounds the bytes read of one response; 0 reads it whole
	// (for the informer's list, which must see every event, cut).
	MaxBytes int64
	// MaxString bounds every string of an event as kept: longer ones end
	// in job.CutMarker.
	MaxString int
}

// ErrEventsCut says that a bounded list stopped at EventBounds.MaxBytes:
// the events returned are the first ones of the list.
var ErrEventsCut = errors.New("the events listed exceed the bytes read for one list")

// BoundedEventLister is a Client that can list events bounded in bytes;
// the production client is one.
type BoundedEventLister interface {
	ListEventsBounded(ctx context.Context, namespace string, opts metav1.ListOptions, b EventBounds) (*corev1.EventList, error)
}

// ListEventsBounded lists events within b: streamed and cut on the way
// (BoundedEventLister), or, from a client that cannot (test fakes, which
// hold the events in memory anyway), listed whole and cut after, with the
// same result.
func ListEventsBounded(ctx context.Context, c Client, namespace string, opts metav1.ListOptions, b EventBounds) (*corev1.EventList, error) {
	if bl, ok := c.(BoundedEventLister); ok {
		return bl.ListEventsBounded(ctx, namespace, opts, b)
	}
	l, err := c.ListEvents(ctx, namespace, opts)
	if err != nil {
		return nil, err
	}
	for i := range l.Items {
		e := &l.Items[i]
		e.Message = boundedString(e.Message, b.MaxString)
		e.Reason = boundedString(e.Reason, b.MaxString)
		e.InvolvedObject.Name = boundedString(e.InvolvedObject.Name, b.MaxString)
	}
	return l, nil
}

// boundedString is s cut to at most limit bytes as cutStrings cuts it.
func boundedString(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	return job.Bounded(s, limit)
}

func (c *restClient) ListEventsBounded(ctx context.Context, namespace string, opts metav1.ListOptions, b EventBounds) (*corev1.EventList, error) {
	body, err := c.core.Get().
		SetHeader("Accept", "application/json").
		NamespaceIfScoped(namespace, namespace != "").
		Resource("events").
		VersionedParams(&opts, parameterCodec).
		Stream(ctx)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return decodeEventList(body, b)
}

// decodeEventList decodes a JSON EventList from r within b.
func decodeEventList(r io.Reader, b EventBounds) (*corev1.EventList, error) {
	capped := &capReader{r: r, left: b.MaxBytes}
	if b.MaxBytes <= 0 {
		capped.left = math.MaxInt64
	}
	dec := json.NewDecoder(&cutStrings{r: capped, max: b.MaxString})
	l := &corev1.EventList{}
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("reading the event list: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("reading the event list: not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return cutOr(l, capped, err)
		}
		switch key, _ := tok.(string); key {
		case "metadata":
			if err := dec.Decode(&l.ListMeta); err != nil {
				return cutOr(l, capped, err)
			}
		case "items":
			// One event at a time: an error mid-list keeps those before.
			if tok, err := dec.Token(); err != nil {
				return cutOr(l, capped, err)
			} else if d, ok := tok.(json.Delim); !ok || d != '[' {
				if tok == nil { // "items": null
					continue
				}
				return nil, fmt.Errorf("reading the event list: items is not a list")
			}
			for dec.More() {
				var e corev1.Event
				if err := dec.Decode(&e); err != nil {
					return cutOr(l, capped, err)
				}
				l.Items = append(l.Items, e)
			}
			if _, err := dec.Token(); err != nil {
				return cutOr(l, capped, err)
			}
		default:
			var skip json.RawMessage // kind, apiVersion: short, or cut
			if err := dec.Decode(&skip); err != nil {
				return cutOr(l, capped, err)
			}
		}
	}
	return l, nil
}

// cutOr is what a read that failed returns: the events so far with
// ErrEventsCut when the byte bound ended it, else the error.
func cutOr(l *corev1.EventList, c *capReader, err error) (*corev1.EventList, error) {
	if c.reached {
		return l, ErrEventsCut
	}
	return nil, fmt.Errorf("reading the event list: %w", err)
}

// capReader reads at most left bytes of r, then fails.
type capReader struct {
	r       io.Reader
	left    int64
	reached bool
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		c.reached = true
		return 0, ErrEventsCut
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// cutStrings passes JSON through, cutting every string value of more
// than max bytes as written in JSON to its first ones, at a character or
// escape boundary, followed by job.CutMarker: the rest of the string is
// read and dropped as it arrives, so a string of any length costs no
// memory. A string kept is at most max bytes, plus the rest of an escape
// or UTF-8 sequence begun before max, plus the marker. Keys are not cut:
// the API server's are field names, label and annotation keys (at most
// 317 bytes by validation). The output is valid JSON when the input is (a
// surrogate pair cut in two decodes as U+FFFD).
type cutStrings struct {
	r   io.Reader
	max int

	// Where the scanner is, outside strings: the open containers (true:
	// an object) and whether a string in the innermost object is a key.
	objects []bool
	key     bool

	in       bool // inside a string
	cutting  bool // the string is a value: cut past max
	esc      int  // inside an escape: -1 after the backslash, else hex digits of \u still to come
	n        int  // bytes of the current string written
	dropping bool // past max: dropping until the closing quote
	buf, out []byte
	pending  []byte // output not yet returned
}

// minString is the least MaxString: fixed-format values (timestamps, 20
// bytes; UIDs, 36) must decode whole.
const minString = 64

func (c *cutStrings) Read(p []byte) (int, error) {
	for len(c.pending) == 0 {
		if c.buf == nil {
			c.buf = make([]byte, 32<<10)
			c.max = max(c.max, minString)
		}
		n, err := c.r.Read(c.buf)
		c.pending = c.filter(c.buf[:n])
		if len(c.pending) == 0 && err != nil {
			return 0, err
		}
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// filter returns what of in passes, in c.out (reused: called only once
// the previous output was read).
func (c *cutStrings) filter(in []byte) []byte {
	out := c.out[:0]
	for _, b := range in {
		switch {
		case !c.in:
			out = append(out, b)
			c.structure(b)
			continue
		case c.esc < 0: // the escape's letter
			c.esc = 0
			if b == 'u' {
				c.esc = 4
			}
		case c.esc > 0: // a hex digit of \uXXXX
			c.esc--
		case b == '"':
			if c.dropping {
				out = append(out, job.CutMarker...)
			}
			out = append(out, b)
			c.in = false
			continue
		default:
			// A character starts here (ASCII, a backslash, a UTF-8 lead
			// byte): past max, a value is cut before it.
			if c.cutting && !c.dropping && c.n >= c.max && (b < 0x80 || b >= 0xC0) {
				c.dropping = true
			}
			if b == '\\' {
				c.esc = -1
			}
		}
		if !c.dropping {
			out = append(out, b)
			c.n++
		}
	}
	c.out = out
	return out
}

// structure follows the JSON structure outside strings.
func (c *cutStrings) structure(b byte) {
	inObject := len(c.objects) > 0 && c.objects[len(c.objects)-1]
	switch b {
	case '"':
		c.in, c.n, c.esc, c.dropping = true, 0, 0, false
		c.cutting = !inObject || !c.key
	case '{':
		c.objects = append(c.objects, true)
		c.key = true
	case '[':
		c.objects = append(c.objects, false)
	case '}', ']':
		if len(c.objects) > 0 {
			c.objects = c.objects[:len(c.objects)-1]
		}
		c.key = false
	case ',':
		c.key = inObject
	case ':':
		c.key = false
	}
}
