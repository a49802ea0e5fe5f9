package metricstore

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// Writer renders the samples of one object, family by family. The labels
// that identify the object (for a Job: namespace and job_name) are given
// once, to NewWriter, and prefixed to every sample: no generator can forget
// them or spell them differently.
type Writer struct {
	base   []byte // `k1="v1",k2="v2"` of the object
	chunks [][]byte
	family int
	names  []string
}

// NewWriter starts rendering an object of a store with the given identity
// labels (key, value pairs).
func (s *Store) NewWriter(identity ...string) *Writer {
	w := &Writer{chunks: make([][]byte, len(s.families)), family: -1}
	for _, f := range s.families {
		w.names = append(w.names, f.Name)
	}
	w.base = appendLabels(nil, identity)
	return w
}

// Family selects the family the next samples belong to, by index.
func (w *Writer) Family(i int) { w.family = i }

// Sample appends one sample to the current family with extra labels
// (key, value pairs) after the identity labels.
func (w *Writer) Sample(value float64, labels ...string) {
	b := w.chunks[w.family]
	b = append(b, w.names[w.family]...)
	b = append(b, '{')
	b = append(b, w.base...)
	if len(labels) > 0 {
		if len(w.base) > 0 {
			b = append(b, ',')
		}
		b = appendLabels(b, labels)
	}
	b = append(b, '}', ' ')
	b = appendValue(b, value)
	b = append(b, '\n')
	w.chunks[w.family] = b
}

// Chunks returns the rendered chunks, one per family, for Store.Set.
func (w *Writer) Chunks() [][]byte { return w.chunks }

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
