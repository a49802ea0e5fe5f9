package mixintest

import (
	"context"
	"math"
	"testing"
	"time"

	promqlengine "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
)

// evalInstant evaluates expr at ts on engine over st: every sample of
// the resulting vector, by its labels as text.
func evalInstant(t *testing.T, engine promqlengine.QueryEngine, st storage.Queryable, expr string, ts time.Time) map[string]float64 {
	t.Helper()
	q, err := engine.NewInstantQuery(context.Background(), st, nil, expr, ts)
	if err != nil {
		t.Fatalf("%v\n  %s", err, expr)
	}
	defer q.Close()
	res := q.Exec(context.Background())
	if res.Err != nil {
		t.Fatalf("%v\n  %s", res.Err, expr)
	}
	vec, err := res.Vector()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, s := range vec {
		out[s.Metric.String()] = s.F
	}
	return out
}

// checkVector fails unless got has exactly want's samples, to 1e-9.
func checkVector(t *testing.T, name string, got, want map[string]float64) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok || math.Abs(g-w) > 1e-9 {
			t.Errorf("%s: %s = %v (present %v), want %v", name, k, g, ok, w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected %s = %v", name, k, g)
		}
	}
}
