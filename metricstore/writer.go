package metricstore

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// Writer renders the samples of one object, family by family. The labels
// that identify the object (for a Job: namespace and job_name) are given
// once, to NewWriter, and prefixed to every sample: no generator can forget
// them or spell them differently.
//
// Families are written in order: Family(i) moves forward to family i, and
// every sample goes to the current family.
type Writer struct {
	store  *Store
	buf    []byte // identity labels, then the lines
	id     int    // length of the identity
	ends   []uint32
	family int
}

// NewWriter starts rendering an object of a store with the given identity
// labels (key, value pairs).
func (s *Store) NewWriter(identity ...string) *Writer {
	w := &Writer{store: s, buf: appendLabels(make([]byte, 0, 512), identity), ends: make([]uint32, 0, len(s.families)), family: -1}
	w.id = len(w.buf)
	return w
}

// Family moves to family i; families skipped get no samples. Going back is
// a programming error.
func (w *Writer) Family(i int) {
	if i < w.family {
		panic(fmt.Sprintf("metricstore: family %d after %d", i, w.family))
	}
	for w.family < i {
		if w.family >= 0 {
			w.ends = append(w.ends, uint32(len(w.buf)))
		}
		w.family++
	}
}

// Sample appends one sample to the current family with extra labels
// (key, value pairs) after the identity labels.
func (w *Writer) Sample(value float64, labels ...string) {
	if w.family < 0 {
		panic("metricstore: Sample before Family")
	}
	b := w.buf
	if len(labels) > 0 {
		if w.id > 0 {
			b = append(b, ',')
		}
		b = appendLabels(b, labels)
	}
	b = append(b, '}', ' ')
	b = appendValue(b, value)
	b = append(b, '\n')
	w.buf = b
}

// Rendered finishes the object, for Store.Set. The buffer is copied to its
// exact size, so no spare capacity stays on the heap per object.
func (w *Writer) Rendered() *Rendered {
	w.Family(len(w.store.families) - 1)
	ends := append(w.ends, uint32(len(w.buf)))
	return &Rendered{buf: append([]byte(nil), w.buf...), id: uint32(w.id), ends: append([]uint32(nil), ends...)}
}

func appendLabels(b []byte, kv []string) []byte {
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, kv[i]...)
		b = append(b, '=', '"')
		b = appendEscaped(b, kv[i+1])
		b = append(b, '"')
	}
	return b
}

// appendEscaped writes a label value escaped for the text format, with
// invalid UTF-8 replaced, so no object field can break the exposition.
func appendEscaped(b []byte, v string) []byte {
	for i := 0; i < len(v); {
		r, size := utf8.DecodeRuneInString(v[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			b = append(b, "\uFFFD"...)
		case r == '\\':
			b = append(b, `\\`...)
		case r == '"':
			b = append(b, `\"`...)
		case r == '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, v[i:i+size]...)
		}
		i += size
	}
	return b
}

// appendValue writes integers without exponent (timestamps stay readable)
// and other values in the shortest form that parses back exactly.
func appendValue(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}
