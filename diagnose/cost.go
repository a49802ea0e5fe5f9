package diagnose

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// cost is what the failed attempts of e (the report's evidence: the pods
// present, or those departed) held, nil when nothing is known: no failed
// pod that started, or amounts too small to say. When the verdict v is
// that retrying fails the same way, it says what each retry holds again:
// their average, since the next attempt runs the same spec.
func cost(e job.Summary, v Verdict, departed bool) *Cost {
	amounts := heldWords(e.FailedHeld, 1)
	if amounts == "" {
		return nil
	}
	kinds, failures, _ := causes(e)
	c := &Cost{Failures: failures, ResourceSeconds: map[string]float64{}}
	for _, h := range e.FailedHeld {
		c.ResourceSeconds[h.Resource] = h.Value
	}
	what := "failed attempt"
	if e.RestartPolicy == "OnFailure" {
		what = "failed container run"
	}
	if failures > 0 {
		c.Text = plural(failures, what) + " held " + amounts
	} else {
		c.Text = "the " + what + "s held " + amounts
	}
	if departed {
		c.Text += " (" + FromDeparted + ")"
	}
	sameAgain := v.Kind == VerdictDeterministic || v.Kind == VerdictResource && kinds["OOMKilled"] == failures
	if sameAgain && failures > 0 {
		if each := heldWords(e.FailedHeld, float64(failures)); each != "" {
			c.EachRetry = "each retry holds about " + each + " more"
		}
	}
	return c
}

// Sentence is the cost in one sentence, as the text report and the pages
// say it.
func (c *Cost) Sentence() string {
	if c.EachRetry == "" {
		return c.Text
	}
	return c.Text + "; " + c.EachRetry
}

// gpus are the extended resources counted by default: the GPUs of the
// device plugins of NVIDIA, AMD and Intel.
var gpus = strings.Split(job.DefaultExtendedResources, ",")

// heldWords says resource-time divided by per in words, the extended
// resources (the costliest) first, all in the period that suits the
// largest amount: "1.5 GPU-hours, 6 core-hours and 12 GiB-hours"; "" when
// every amount rounds to nothing.
func heldWords(held []job.ResourceTime, per float64) string {
	type amount struct {
		v        float64
		unit, of string
	}
	kinds := 0 // of GPU held: each is named when more than one
	for _, h := range held {
		if slices.Contains(gpus, h.Resource) {
			kinds++
		}
	}
	var extended, base []amount
	largest := 0.0
	for _, h := range held {
		a := amount{v: h.Value / per}
		switch {
		case h.Resource == job.ResourceCPU:
			a.unit = "core"
		case h.Resource == job.ResourceMemory:
			a.v, a.unit = a.v/(1<<30), "GiB"
		case slices.Contains(gpus, h.Resource) && kinds == 1:
			a.unit = "GPU"
		case slices.Contains(gpus, h.Resource):
			a.unit, a.of = "GPU", " of "+h.Resource
		default:
			a.unit, a.of = "device", " of "+h.Resource
		}
		largest = max(largest, a.v)
		if a.of != "" || a.unit == "GPU" {
			extended = append(extended, a)
		} else {
			base = append(base, a)
		}
	}
	period, seconds := "second", 1.0
	switch {
	case largest >= 3600:
		period, seconds = "hour", 3600
	case largest >= 60:
		period, seconds = "minute", 60
	}
	var parts []string
	for _, a := range append(extended, base...) {
		n := roundNumber(a.v / seconds)
		if n == "0" {
			continue
		}
		p := period
		if n != "1" {
			p += "s"
		}
		parts = append(parts, n+" "+a.unit+"-"+p+a.of)
	}
	return andList(parts)
}

// roundNumber keeps about three significant digits (two below 1), and no
// trailing zeros: 0.025, 1.5, 6, 12.3, 123; "0" below a millionth.
func roundNumber(v float64) string {
	var s string
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		s = fmt.Sprintf("%.1f", v)
	case v >= 1:
		s = fmt.Sprintf("%.2f", v)
	case v < 1e-6:
		return "0"
	default:
		s = fmt.Sprintf("%.*f", 1-int(math.Floor(math.Log10(v))), v)
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// andList is "a", "a and b", "a, b and c".
func andList(parts []string) string {
	if len(parts) < 2 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
