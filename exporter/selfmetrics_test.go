package exporter

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	kubeversion "k8s.io/apimachinery/pkg/version"

	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/watcher"
)

// The API server's version is one series with bounded, valid labels,
// whatever the server wrote into /version.
func TestAPIServerInfo(t *testing.T) {
	long := "v1.34.4-" + strings.Repeat("x", 100)
	for _, c := range []struct {
		name           string
		server         kubeversion.Info
		version, minor string
	}{
		{"release", kubeversion.Info{Major: "1", Minor: "34", GitVersion: "v1.34.4"}, "v1.34.4", "34"},
		{"provider minor with +", kubeversion.Info{Major: "1", Minor: "28+", GitVersion: "v1.28.15-eks-1a2b3c4"}, "v1.28.15-eks-1a2b3c4", "28"},
		{"test build without 1.N", kubeversion.Info{GitVersion: "v0.0.0-master+$Format:%H$"}, "v0.0.0-master+$Format:%H$", ""},
		{"nothing reported", kubeversion.Info{}, "", ""},
		{"too long", kubeversion.Info{Major: "1", Minor: "34", GitVersion: long}, long[:maxGitVersionLength-len(job.CutMarker)] + job.CutMarker, "34"},
		{"invalid UTF-8", kubeversion.Info{Major: "1", Minor: "34", GitVersion: "v1.34.4-\xff"}, "v1.34.4-\uFFFD", "34"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := NewSelfMetrics([]string{watcher.ResourceJobs}, func() map[string]int { return nil }, watcher.Shard{})
			m.registerAPIServerInfo(c.server)
			mfs, err := m.Registry.Gather() // fails on an invalid label value
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, mf := range mfs {
				if mf.GetName() != "kubejob_exporter_kube_apiserver_info" {
					continue
				}
				for _, s := range mf.GetMetric() {
					if v := s.GetGauge().GetValue(); v != 1 {
						t.Errorf("value %v, want 1", v)
					}
					for _, l := range s.GetLabel() {
						got = append(got, l.GetName()+"="+l.GetValue())
						if !utf8.ValidString(l.GetValue()) || len(l.GetValue()) > maxGitVersionLength {
							t.Errorf("label %s=%q: invalid UTF-8 or longer than %d bytes", l.GetName(), l.GetValue(), maxGitVersionLength)
						}
					}
				}
			}
			want := []string{"git_version=" + c.version, "minor=" + c.minor}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("series labels %q, want %q", got, want)
			}
		})
	}
}

// The sizes of what outlives Jobs are read when scraped, as a gauge of
// deleted Jobs kept, a gauge of owners and a counter of dropped outcomes.
func TestEvidenceSelfMetrics(t *testing.T) {
	m := NewSelfMetrics([]string{watcher.ResourceJobs}, func() map[string]int { return nil }, watcher.Shard{})
	kept, owners, dropped := 3, 7, int64(2)
	m.registerEvidence(func() int { return kept }, func() int { return owners }, func() int64 { return dropped })
	read := func() map[string]string {
		mfs, err := m.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, mf := range mfs {
			switch n := mf.GetName(); n {
			case "kubejob_exporter_deleted_jobs_kept", "kubejob_exporter_outcome_owners":
				out[n] = fmt.Sprintf("%s %v", mf.GetType(), mf.GetMetric()[0].GetGauge().GetValue())
			case "kubejob_exporter_outcomes_dropped_total":
				out[n] = fmt.Sprintf("%s %v", mf.GetType(), mf.GetMetric()[0].GetCounter().GetValue())
			}
		}
		return out
	}
	want := map[string]string{"kubejob_exporter_deleted_jobs_kept": "GAUGE 3", "kubejob_exporter_outcome_owners": "GAUGE 7", "kubejob_exporter_outcomes_dropped_total": "COUNTER 2"}
	if got := read(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	kept, owners, dropped = 0, 1, 5
	want = map[string]string{"kubejob_exporter_deleted_jobs_kept": "GAUGE 0", "kubejob_exporter_outcome_owners": "GAUGE 1", "kubejob_exporter_outcomes_dropped_total": "COUNTER 5"}
	if got := read(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after a change: got %v, want %v", got, want)
	}
}
