package metricstore

import (
	"bytes"
	"strings"
	"testing"
)

func TestWriterEscapesAndFormats(t *testing.T) {
	s := New([]Family{{Name: "kubejob_test", Help: "A help\nwith a newline and \\ backslash.", Type: "gauge"}})
	w := s.NewWriter("namespace", "ns", "job_name", "j")
	w.Family(0)
	w.Sample(1, "reason", "quote\" backslash\\ newline\n")
	w.Sample(1793534440, "reason", "bad\xffutf8")
	w.Sample(0.25)
	s.Set("ns/j", w.Rendered())

	var out bytes.Buffer
	if _, err := s.WriteTo(&out); err != nil {
		t.Fatal(err)
	}
	want := `# HELP kubejob_test A help\nwith a newline and \\ backslash.
# TYPE kubejob_test gauge
kubejob_test{namespace="ns",job_name="j",reason="quote\" backslash\\ newline\n"} 1
kubejob_test{namespace="ns",job_name="j",reason="bad` + "\uFFFD" + `utf8"} 1793534440
kubejob_test{namespace="ns",job_name="j"} 0.25
`
	if out.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out.String(), want)
	}
	mfs, err := s.Gather()
	if err != nil {
		t.Fatalf("output does not parse: %v", err)
	}
	found := false
	for _, m := range mfs[0].GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == "reason" && lp.GetValue() == "quote\" backslash\\ newline\n" {
				found = true
			}
		}
	}
	if !found {
		t.Fatalf("escaped label value does not parse back: %v", mfs)
	}
}

func TestStoreSetDeleteAndGrouping(t *testing.T) {
	s := New([]Family{{Name: "a", Help: "a", Type: "gauge"}, {Name: "b", Help: "b", Type: "gauge"}})
	for _, k := range []string{"x", "y"} {
		w := s.NewWriter("job_name", k)
		w.Family(0)
		w.Sample(1)
		w.Family(1)
		w.Sample(2)
		s.Set(k, w.Rendered())
	}
	var out bytes.Buffer
	if _, err := s.WriteTo(&out); err != nil {
		t.Fatal(err)
	}
	// Every family's samples follow its own header: the text format
	// requires a family's lines to be contiguous.
	text := out.String()
	if i, j := strings.Index(text, "# TYPE b"), strings.LastIndex(text, "a{"); i < j {
		t.Fatalf("family a sample after family b header:\n%s", text)
	}
	if strings.Count(text, "a{") != 2 || strings.Count(text, "b{") != 2 {
		t.Fatalf("want 2 samples per family:\n%s", text)
	}
	s.Delete("x")
	if s.Has("x") || !s.Has("y") || s.Len() != 1 {
		t.Fatalf("after delete: keys %v", s.Keys())
	}
	out.Reset()
	if _, err := s.WriteTo(&out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), `job_name="x"`) {
		t.Fatal("deleted object still written")
	}
}
