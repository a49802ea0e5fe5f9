package exporter

import (
	"strings"
	"testing"
	"unicode/utf8"

	kubeversion "k8s.io/apimachinery/pkg/version"

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
		{"too long", kubeversion.Info{Major: "1", Minor: "34", GitVersion: long}, long[:maxGitVersionLength], "34"},
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
