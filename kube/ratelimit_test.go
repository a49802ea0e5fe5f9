package kube

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// TestBudgetsDoNotShare: each budget has its own rate limit. With the
// pages' budget spent (burst 1, a token a thousand seconds), a page's next
// read fails at once on its deadline while the watches and the permission
// checks go on unthrottled; requests not marked take from the watches'.
func TestBudgetsDoNotShare(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/selfsubjectrulesreviews"):
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"kind":"SelfSubjectRulesReview","apiVersion":"authorization.k8s.io/v1","status":{"resourceRules":[],"nonResourceRules":[],"incomplete":false}}`)
		default:
			io.WriteString(w, `{"kind":"EventList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}`)
		}
	}))
	defer srv.Close()
	budgets := DefaultBudgets
	budgets[BudgetPages] = Limits{QPS: 0.001, Burst: 1}
	c, err := NewBudgetedClient(&rest.Config{Host: srv.URL, QPS: 0.001, Burst: 1}, srv.Client(), budgets)
	if err != nil {
		t.Fatal(err)
	}
	bounds := EventBounds{MaxBytes: 1 << 20, MaxString: 1024}
	pages := WithBudget(context.Background(), BudgetPages)
	if _, err := ListEventsBounded(pages, c, "batch", metav1.ListOptions{}, bounds); err != nil {
		t.Fatalf("the page's first read: %v", err)
	}
	ctx, cancel := context.WithTimeout(pages, 5*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := ListEventsBounded(ctx, c, "batch", metav1.ListOptions{}, bounds); err == nil {
		t.Fatal("the page's second read within its budget's burst of 1 went through")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the throttled read failed after %v, not at once", d)
	}
	// The watches' budget (also the default, unmarked) and the
	// permission checks' are untouched, whatever cfg's own QPS says.
	for i := range 30 {
		if _, err := c.ListEvents(context.Background(), "batch", metav1.ListOptions{}); err != nil {
			t.Fatalf("watch-budget request %d: %v", i, err)
		}
	}
	perms := WithBudget(context.Background(), BudgetPermissions)
	for i := range 10 {
		if _, err := CreateSelfSubjectRulesReview(perms, c, &authorizationv1.SelfSubjectRulesReview{
			Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: "batch"}}); err != nil {
			t.Fatalf("permission-budget request %d: %v", i, err)
		}
	}
	if n := served.Load(); n != 1+30+10 {
		t.Errorf("the API server served %d requests, want 41", n)
	}
	if BudgetOf(context.Background()) != BudgetWatches || BudgetOf(perms) != BudgetPermissions {
		t.Error("BudgetOf does not read what WithBudget marks")
	}
}
