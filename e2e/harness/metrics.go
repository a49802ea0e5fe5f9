package harness

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	prommodel "github.com/prometheus/common/model"
)

// WatchedResources are the resources the exporter watches by default, the
// values of the resource label of its kubejob_exporter_watch_* series.
var WatchedResources = []string{"jobs", "pods", "events", "cronjobs"}

// Labels selects series: every given label must have the given value
// ("" matches a missing or empty label, as in PromQL).
type Labels map[string]string

// Sample is one series of a scrape.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

func (s Sample) String() string {
	keys := make([]string, 0, len(s.Labels))
	for k := range s.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%q", k, s.Labels[k]))
	}
	return fmt.Sprintf("%s{%s} %v", s.Name, strings.Join(parts, ","), s.Value)
}

// Metrics is one parsed /metrics scrape (Prometheus text format).
type Metrics struct {
	Families map[string]*dto.MetricFamily
	Raw      string
}

// ParseMetrics parses the Prometheus text exposition format.
func ParseMetrics(r io.Reader) (*Metrics, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	p := expfmt.NewTextParser(prommodel.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("parse /metrics: %w", err)
	}
	return &Metrics{Families: fams, Raw: string(raw)}, nil
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	case m.Summary != nil:
		return float64(m.Summary.GetSampleCount())
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return math.NaN()
}

// Samples returns the series of metric name whose labels match.
func (m *Metrics) Samples(name string, match Labels) []Sample {
	fam := m.Families[name]
	if fam == nil {
		return nil
	}
	var out []Sample
	for _, met := range fam.Metric {
		labels := map[string]string{}
		for _, lp := range met.Label {
			labels[lp.GetName()] = lp.GetValue()
		}
		ok := true
		for k, v := range match {
			if labels[k] != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, Sample{Name: name, Labels: labels, Value: metricValue(met)})
		}
	}
	return out
}

// Value returns the value of the single series of name matching labels;
// ok is false when there is none or more than one.
func (m *Metrics) Value(name string, match Labels) (v float64, ok bool) {
	s := m.Samples(name, match)
	if len(s) != 1 {
		return 0, false
	}
	return s[0].Value, true
}

// Has reports whether any series of name matches labels.
func (m *Metrics) Has(name string, match Labels) bool { return len(m.Samples(name, match)) > 0 }

// Sum adds up the series of name matching labels.
func (m *Metrics) Sum(name string, match Labels) float64 {
	var t float64
	for _, s := range m.Samples(name, match) {
		t += s.Value
	}
	return t
}

// Dump lists the series of the given names that match labels, one a line,
// for error messages ("expected X, the exporter said: ...").
func (m *Metrics) Dump(match Labels, names ...string) string {
	if len(names) == 0 {
		for n := range m.Families {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		for _, s := range m.Samples(n, match) {
			b.WriteString("  " + s.String() + "\n")
		}
	}
	if b.Len() == 0 {
		return "  (no series)\n"
	}
	return b.String()
}

// CountedPerOwner tells the exporter's outcome counters per owner
// (kubejob_owner_* and kubejob_attempt_resource_seconds_total) from the
// rest: they count what watch events showed and outlive the Jobs they
// count (--outcomes.retention), so a state comparison or a count of the
// series of the Jobs present leaves them out.
func CountedPerOwner(name string) bool {
	return strings.HasPrefix(name, "kubejob_owner_") || name == "kubejob_attempt_resource_seconds_total"
}
