// Package metricstore keeps pre-rendered Prometheus text exposition per
// object and writes it out on a scrape. Rendering happens when an object
// changes, never on a scrape, so a scrape of 10k Jobs copies bytes instead
// of recomputing 10k Jobs (the design kube-state-metrics uses).
package metricstore

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Family describes one metric family. All families are gauges or counters
// written in the text format, version 0.0.4.
type Family struct {
	Name string
	Help string
	Type string // "gauge" or "counter"
}

// Store holds, for every object key, its rendered samples. They are
// immutable once stored, so a scrape only needs the lock to copy the
// references, and a slow scraper never delays updates.
type Store struct {
	families []Family
	headers  [][]byte

	mu      sync.RWMutex
	objects map[string]*Rendered
}

// Rendered is one object's samples, kept small because the exporter holds
// one per Job: one buffer with the object's identity labels
// (`namespace="ns",job_name="j"`) followed by every family's lines in family
// order, and where each family's lines end. A line holds only what differs
// between samples — extra labels and the value, `,reason="X"} 1` — and the
// metric name and identity are put in front of it as it is written, which
// saves about 70 bytes per series.
type Rendered struct {
	buf  []byte
	id   uint32   // buf[:id] is the identity
	ends []uint32 // family i's lines are buf[ends[i-1]:ends[i]] (buf[id:ends[0]] for 0)
}

// family returns the lines of family i.
func (r *Rendered) family(i int) []byte {
	start := r.id
	if i > 0 {
		start = r.ends[i-1]
	}
	return r.buf[start:r.ends[i]]
}

// New returns a store for the given families, in exposition order.
func New(families []Family) *Store {
	s := &Store{families: families, objects: map[string]*Rendered{}}
	for _, f := range families {
		s.headers = append(s.headers, fmt.Appendf(nil, "# HELP %s %s\n# TYPE %s %s\n", f.Name, escapeHelp(f.Help), f.Name, f.Type))
	}
	return s
}

// Set replaces the samples of an object, as rendered by a Writer of this
// store.
func (s *Store) Set(key string, r *Rendered) {
	if len(r.ends) != len(s.families) {
		panic(fmt.Sprintf("metricstore: samples of %d families for %d", len(r.ends), len(s.families)))
	}
	s.mu.Lock()
	s.objects[key] = r
	s.mu.Unlock()
}

// Delete removes an object's series.
func (s *Store) Delete(key string) {
	s.mu.Lock()
	delete(s.objects, key)
	s.mu.Unlock()
}

// Has tells whether an object is stored.
func (s *Store) Has(key string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.objects[key]
	return ok
}

// Keys returns the stored keys, sorted.
func (s *Store) Keys() []string {
	s.mu.RLock()
	keys := make([]string, 0, len(s.objects))
	for k := range s.objects {
		keys = append(keys, k)
	}
	s.mu.RUnlock()
	sort.Strings(keys)
	return keys
}

// Len is the number of stored objects.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.objects)
}

// WriteTo writes every family: its HELP and TYPE lines, then the samples of
// every object. Families without samples are still announced, as
// client_golang does not; parsers accept both.
func (s *Store) WriteTo(w io.Writer) (int64, error) {
	s.mu.RLock()
	snapshot := make([]*Rendered, 0, len(s.objects))
	for _, r := range s.objects {
		snapshot = append(snapshot, r)
	}
	s.mu.RUnlock()

	bw, ok := w.(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriterSize(w, 64<<10)
	}
	var n int64
	for i, h := range s.headers {
		m, err := bw.Write(h)
		n += int64(m)
		if err != nil {
			return n, err
		}
		name := s.families[i].Name
		for _, r := range snapshot {
			id := r.buf[:r.id]
			lines := r.family(i)
			for len(lines) > 0 {
				end := bytes.IndexByte(lines, '\n') + 1
				bw.WriteString(name)
				bw.WriteByte('{')
				bw.Write(id)
				m, err := bw.Write(lines[:end])
				n += int64(len(name) + 1 + len(id) + m)
				if err != nil {
					return n, err
				}
				lines = lines[end:]
			}
		}
	}
	return n, bw.Flush()
}

// Gather parses the store's own output into metric families, sorted as a
// prometheus.Registry would return them. It lets tests compare exposition
// with testutil.GatherAndCompare, and proves the output parses.
func (s *Store) Gather() ([]*dto.MetricFamily, error) {
	var buf bytes.Buffer
	if _, err := s.WriteTo(&buf); err != nil {
		return nil, err
	}
	return ParseText(&buf)
}

// ParseText parses text exposition into non-empty metric families, sorted
// by name and, within a family, by labels, with label pairs sorted by
// name: the shape a prometheus.Registry gathers.
func ParseText(r io.Reader) ([]*dto.MetricFamily, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	byName, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, err
	}
	out := make([]*dto.MetricFamily, 0, len(byName))
	for _, mf := range byName {
		if len(mf.Metric) > 0 {
			for _, m := range mf.Metric {
				sort.Slice(m.Label, func(i, j int) bool { return m.Label[i].GetName() < m.Label[j].GetName() })
			}
			sort.Slice(mf.Metric, func(i, j int) bool { return labelKey(mf.Metric[i]) < labelKey(mf.Metric[j]) })
			out = append(out, mf)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out, nil
}

// labelKey orders samples by their label pairs, as a registry does.
func labelKey(m *dto.Metric) string {
	var b strings.Builder
	for _, lp := range m.GetLabel() {
		b.WriteString(lp.GetName())
		b.WriteByte(0)
		b.WriteString(lp.GetValue())
		b.WriteByte(0)
	}
	return b.String()
}

func escapeHelp(h string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(h)
}
