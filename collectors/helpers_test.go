package collectors

import (
	"strconv"
	"strings"

	"github.com/kube-job-exporter/kube-job-exporter/metricstore"
)

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// exposition is the text exposition of samples (one per line) of the
// families fams, with each family's HELP and TYPE as the code declares
// them, so a test states only the samples; names are the families, to
// compare the whole of each (testutil.GatherAndCompare).
func exposition(fams []metricstore.Family, samples string) (text string, names []string) {
	var b strings.Builder
	for _, f := range fams {
		names = append(names, f.Name)
		var lines []string
		for _, line := range strings.Split(strings.TrimSpace(samples), "\n") {
			if strings.HasPrefix(line, f.Name+"{") || line == f.Name || strings.HasPrefix(line, f.Name+" ") {
				lines = append(lines, line+"\n")
			}
		}
		if len(lines) > 0 {
			b.WriteString("# HELP " + f.Name + " " + f.Help + "\n# TYPE " + f.Name + " " + f.Type + "\n")
			b.WriteString(strings.Join(lines, ""))
		}
	}
	return b.String(), names
}
