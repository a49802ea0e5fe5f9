package metricstore

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// FuzzStoreRoundTrip writes objects whose identity and extra label values
// are arbitrary bytes (what tenants control: namespaces, Job and CronJob
// names, reasons, owner names, container names) and checks that WriteTo
// is text exposition the Prometheus parser accepts, and that it parses
// back to exactly the families, samples, label values and values written,
// with invalid UTF-8 replaced by U+FFFD byte by byte. Gather must agree.
func FuzzStoreRoundTrip(f *testing.F) {
	f.Add("ns", "job", "OOMKilled", "app", 1.0, uint8(0))
	f.Add(`q"uote`, `back\slash`, "new\nline", `\n`, 0.25, uint8(1))
	f.Add("bad\xffutf8", "\xc3", "\xed\xa0\x80", "\xf4\x90\x80\x80", math.NaN(), uint8(2))
	f.Add("", "", "", "", math.Inf(-1), uint8(3))
	f.Add("\x00\r\t", "}", `",x="y`, "\"} 1\n# TYPE x counter\n", math.Copysign(0, -1), uint8(7))
	f.Add("\uFFFD", "Ünïcode ☃", `\\\"`, "\\", 1e300, uint8(4))
	f.Add(strings.Repeat("x", 500), strings.Repeat("\xff", 100), strings.Repeat(`\"`, 100), strings.Repeat("\n", 100), 1793534440.0, uint8(5))

	f.Fuzz(roundTrip)
}

// TestStoreRoundTripLong: label values longer than WriteTo's 64 KiB
// buffer. Kept out of the fuzz corpus: the fuzzer minimizes every input
// that finds new coverage, byte by byte, and inputs this long would take
// a short run's whole time.
func TestStoreRoundTripLong(t *testing.T) {
	roundTrip(t, strings.Repeat("x", 70000), strings.Repeat("\xff", 70000), strings.Repeat(`\"`, 40000), strings.Repeat("\n", 70000), 1793534440, 4)
}

var fuzzFamilies = []Family{
	{Name: "kubejob_a", Help: "A gauge.", Type: "gauge"},
	{Name: "kubejob_b_total", Help: "A counter with \\ and\nnewline.", Type: "counter"},
	{Name: "kubejob_c", Help: "Sometimes empty.", Type: "gauge"},
}

// roundTrip writes two or three objects with the given identity and label
// values (mode's bits: skip a family, add an object with no identity,
// delete one) and checks the output.
func roundTrip(t *testing.T, ns, name, v1, v2 string, value float64, mode uint8) {
	fams := fuzzFamilies
	s := New(fams)
	want := make([][]sample, len(fams))
	write := func(key string, identity []string, skipC bool) {
		w := s.NewWriter(identity...)
		add := func(fam int, value float64, labels ...string) {
			w.Sample(value, labels...)
			want[fam] = append(want[fam], sample{sanitized(append(slices.Clone(identity), labels...)), value})
		}
		w.Family(0)
		add(0, value)
		add(0, 1, "reason", v1)
		w.Family(1)
		add(1, 2, "owner_kind", v1, "owner_name", v2)
		if !skipC {
			w.Family(2)
			add(2, -value, "container", v2)
		}
		s.Set(key, w.Rendered())
	}
	write("a", []string{"namespace", ns, "job_name", name}, mode&1 != 0)
	write("b", []string{"namespace", v2, "cronjob", ns}, mode&2 != 0)
	if mode&4 != 0 {
		write("c", nil, false) // no identity labels at all
	}
	if mode&8 != 0 {
		s.Delete("a")
		for i := range want {
			want[i] = slices.DeleteFunc(want[i], func(x sample) bool { return len(x.labels) > 2 && x.labels[2] == "job_name" })
		}
	}

	var out bytes.Buffer
	n, err := s.WriteTo(&out)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(out.Len()) {
		t.Fatalf("WriteTo returned %d, wrote %d bytes", n, out.Len())
	}
	text := out.String()
	parsed, err := ParseText(strings.NewReader(text))
	if err != nil {
		t.Fatalf("output does not parse: %v\n%q", err, clip(text))
	}
	check(t, "WriteTo", parsed, fams, want, text)
	gathered, err := s.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	check(t, "Gather", gathered, fams, want, text)
	if !slices.IsSortedFunc(gathered, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) }) {
		t.Fatalf("Gather: families not sorted by name")
	}
	for _, mf := range gathered {
		if !slices.IsSortedFunc(mf.GetMetric(), func(a, b *dto.Metric) int { return strings.Compare(labelKey(a), labelKey(b)) }) {
			t.Fatalf("Gather: family %s: samples not sorted by labels", mf.GetName())
		}
	}
}

// sample is one sample written, as it must parse back.
type sample struct {
	labels []string // name, value pairs, values sanitized
	value  float64
}

// sanitized is what the parser must read back for label pairs: values
// with each byte of invalid UTF-8 replaced by U+FFFD (as a string's range
// loop decodes them).
func sanitized(kv []string) []string {
	out := slices.Clone(kv)
	for i := 1; i < len(out); i += 2 {
		out[i] = string([]rune(out[i]))
	}
	return out
}

// check compares parsed families with the samples written: same families
// (non-empty ones; ParseText drops empty ones), same types and help, and
// the same multiset of (label pairs, value).
func check(t *testing.T, what string, got []*dto.MetricFamily, fams []Family, want [][]sample, text string) {
	t.Helper()
	byName := map[string]*dto.MetricFamily{}
	for _, mf := range got {
		byName[mf.GetName()] = mf
	}
	nonEmpty := 0
	for i, fam := range fams {
		mf := byName[fam.Name]
		if len(want[i]) == 0 {
			if mf != nil {
				t.Fatalf("%s: family %s has %d samples, none written", what, fam.Name, len(mf.GetMetric()))
			}
			continue
		}
		nonEmpty++
		if mf == nil {
			t.Fatalf("%s: family %s missing\n%q", what, fam.Name, clip(text))
		}
		if mf.GetHelp() != fam.Help || !strings.EqualFold(mf.GetType().String(), fam.Type) {
			t.Fatalf("%s: family %s: help %q type %v, want %q %s", what, fam.Name, mf.GetHelp(), mf.GetType(), fam.Help, fam.Type)
		}
		var gotKeys, wantKeys []string
		for _, m := range mf.GetMetric() {
			var v float64
			switch {
			case m.GetGauge() != nil:
				v = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				v = m.GetCounter().GetValue()
			default:
				t.Fatalf("%s: family %s: sample is neither gauge nor counter: %v", what, fam.Name, m)
			}
			pairs := make([]string, 0, 2*len(m.GetLabel()))
			for _, lp := range m.GetLabel() {
				pairs = append(pairs, lp.GetName(), lp.GetValue())
			}
			gotKeys = append(gotKeys, sampleKey(pairs, v))
		}
		for _, s := range want[i] {
			wantKeys = append(wantKeys, sampleKey(sortedPairs(s.labels), s.value))
		}
		slices.Sort(gotKeys)
		slices.Sort(wantKeys)
		if !slices.Equal(gotKeys, wantKeys) {
			t.Fatalf("%s: family %s parses to\n%q\nwant\n%q\noutput:\n%q", what, fam.Name, clip(strings.Join(gotKeys, "\n")), clip(strings.Join(wantKeys, "\n")), clip(text))
		}
	}
	if len(got) != nonEmpty {
		t.Fatalf("%s: %d families parsed, want %d\n%q", what, len(got), nonEmpty, clip(text))
	}
}

// sortedPairs sorts label pairs by name, as ParseText returns them.
func sortedPairs(kv []string) []string {
	type pair struct{ k, v string }
	ps := make([]pair, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		ps = append(ps, pair{kv[i], kv[i+1]})
	}
	slices.SortStableFunc(ps, func(a, b pair) int { return strings.Compare(a.k, b.k) })
	out := make([]string, 0, len(kv))
	for _, p := range ps {
		out = append(out, p.k, p.v)
	}
	return out
}

// sampleKey renders a sample unambiguously; values compare as the parser
// reads them: any NaN as NaN, -0 as 0 (it is written "0"), others by
// their exact bits.
func sampleKey(pairs []string, v float64) string {
	var b strings.Builder
	for _, p := range pairs {
		b.WriteString(strconv.Itoa(len(p)))
		b.WriteByte(':')
		b.WriteString(p)
	}
	switch {
	case math.IsNaN(v):
		b.WriteString(" NaN")
	case v == 0:
		b.WriteString(" 0")
	default:
		fmt.Fprintf(&b, " %b", v) // exact bits
	}
	return b.String()
}

// clip shortens what a failure prints.
func clip(s string) string {
	if len(s) > 4000 {
		return s[:4000] + "…"
	}
	return s
}
