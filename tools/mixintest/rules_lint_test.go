package mixintest

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// The rule checks the ecosystem's rule linters make (mixtool lint, pint),
// over the generated rule files, beside TestRuleExpressions (which parses
// every expression, requires summary, description, runbook_url and
// severity on every alert, and every metric to be documented):
//
//   - every vector selector of every alert and recording rule carries the
//     configured scrape matcher, exactly (job="kube-job-exporter", the
//     default _config.kubeJobExporterSelector; job=~".+" would match it but
//     selects every other job's series too), except ALERTS (the rules' own
//     alerts, labelled by their expressions) and recorded series. A
//     recorded series is one whose name a `record:` of the rule files
//     defines; its name has the level:metric:operations form, so a name with
//     a colon that no rule records (a recording rule renamed, its readers
//     not) fails here as an unrecorded name;
//   - `for` and `keep_firing_for` parse as Prometheus durations, as written
//     in the files, and are not negative;
//   - severity is one Alertmanager routes on (critical, warning, info);
//   - a summary is one sentence: it ends with a period and has no sentence
//     break inside, once the template actions are taken out.

// exporterMatcher is the configured scrape selector, as a matcher.
var exporterMatcher = labels.MustNewMatcher(labels.MatchEqual, "job", exporterJob)

var (
	recordedName   = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]*[a-zA-Z0-9_]$`)
	templateAction = regexp.MustCompile(`\{\{.*?\}\}`)
	// A sentence break: an end mark, a space, and a capital letter or a
	// digit that starts the next sentence.
	sentenceBreak = regexp.MustCompile(`[.!?;]\s+[A-Z0-9]`)
)

// rawRule is a rule as written in a generated file, its durations as the
// strings there (rulefmt turns them into model.Duration and accepts
// what it can parse; the test wants to see what was written).
type rawRule struct {
	Alert         string            `yaml:"alert"`
	Record        string            `yaml:"record"`
	Expr          string            `yaml:"expr"`
	For           *string           `yaml:"for"`
	KeepFiringFor *string           `yaml:"keep_firing_for"`
	Labels        map[string]string `yaml:"labels"`
	Annotations   map[string]string `yaml:"annotations"`
}

// hasExporterMatcher: vs carries the configured scrape matcher, exactly.
func hasExporterMatcher(vs *parser.VectorSelector) bool {
	for _, m := range vs.LabelMatchers {
		if m.Name == exporterMatcher.Name && m.Type == exporterMatcher.Type && m.Value == exporterMatcher.Value {
			return true
		}
	}
	return false
}

// oneSentence: summary, without its template actions, is one sentence
// ending with a period; else the part that breaks the rule.
func oneSentence(summary string) (bool, string) {
	text := strings.TrimSpace(templateAction.ReplaceAllString(summary, "X"))
	if !strings.HasSuffix(text, ".") {
		return false, "no period at the end"
	}
	if loc := sentenceBreak.FindStringIndex(text); loc != nil {
		return false, "a sentence break at " + strconv.Quote(text[loc[0]:])
	}
	return true, ""
}

func rawRules(t *testing.T) (alerts, records []rawRule) {
	t.Helper()
	for _, f := range ruleFiles {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Groups []struct {
				Name  string    `yaml:"name"`
				Rules []rawRule `yaml:"rules"`
			} `yaml:"groups"`
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, g := range doc.Groups {
			for _, r := range g.Rules {
				if r.Alert != "" {
					alerts = append(alerts, r)
				} else {
					records = append(records, r)
				}
			}
		}
	}
	if len(alerts) == 0 || len(records) == 0 {
		t.Fatalf("%v: %d alerts, %d recording rules", ruleFiles, len(alerts), len(records))
	}
	return alerts, records
}

func TestRulesCarryTheScrapeSelector(t *testing.T) {
	alerts, records := rawRules(t)
	recorded := map[string]bool{}
	for _, r := range records {
		if !recordedName.MatchString(r.Record) {
			t.Errorf("recording rule %s: not a level:metric:operations name", r.Record)
		}
		recorded[r.Record] = true
	}
	for _, r := range append(alerts, records...) {
		name := r.Alert + r.Record
		sels, err := selectors(r.Expr)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for _, vs := range sels {
			metric := metricName(vs)
			if metric == "ALERTS" || recorded[metric] {
				continue
			}
			if strings.Contains(metric, ":") {
				t.Errorf("%s: %s reads %s, which no rule records", name, vs, metric)
				continue
			}
			if !hasExporterMatcher(vs) {
				t.Errorf("%s: %s lacks the scrape matcher %s", name, vs, exporterMatcher)
			}
		}
	}
}

func TestAlertDurationsSeverityAndSummary(t *testing.T) {
	alerts, _ := rawRules(t)
	for _, r := range alerts {
		for field, v := range map[string]*string{"for": r.For, "keep_firing_for": r.KeepFiringFor} {
			if v == nil {
				continue
			}
			d, err := model.ParseDuration(*v)
			if err != nil {
				t.Errorf("%s: %s %q: %v", r.Alert, field, *v, err)
			} else if d < 0 {
				t.Errorf("%s: %s %q is negative", r.Alert, field, *v)
			}
		}
		switch r.Labels["severity"] {
		case "critical", "warning", "info":
		default:
			t.Errorf("%s: severity %q, want critical, warning or info", r.Alert, r.Labels["severity"])
		}
		if ok, why := oneSentence(r.Annotations["summary"]); !ok {
			t.Errorf("%s: summary %q is not one sentence: %s", r.Alert, r.Annotations["summary"], why)
		}
	}
}

// The checks above must catch what they are for: a selector without the
// matcher, with a regexp that merely matches it, a name with a colon no rule
// records, a summary of two sentences.
func TestRuleLintCatches(t *testing.T) {
	expr := `kubejob_failed{job=~".+"} * on () group_left () kubejob_retries * on () group_left () foo:bar:sum`
	sels, err := selectors(expr)
	if err != nil {
		t.Fatal(err)
	}
	missing := 0
	for _, vs := range sels {
		if !hasExporterMatcher(vs) {
			missing++
		}
	}
	if missing != 3 {
		t.Errorf("%d of 3 selectors without the exact matcher found in %s", missing, expr)
	}
	for summary, want := range map[string]bool{
		"Job {{ $labels.namespace }}/{{ $labels.job_name }} failed.":                        true,
		"Job a/b failed: its pods failed more often than backoffLimit={{ $value }} allows.": true,
		"Job a/b failed. Check its pods.":                                                   false,
		"Job a/b failed":                                                                    false,
	} {
		got, _ := oneSentence(summary)
		if got != want {
			t.Errorf("summary %q: one sentence %v, want %v", summary, got, want)
		}
	}
}
