package kube

import (
	"context"
	"net/http"

	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
)

// The exporter's requests fall in three kinds that must not starve each
// other: the informers' lists and watches (what the metrics are made
// from), the reads of the pages people open (events for the runbook
// pages), and the periodic permission checks. With one client rate limit
// a page opened by many, or a check over many namespaces, would delay a
// re-list after a watch broke, and the other way round; each kind has its
// own budget (a token bucket), taken by what the request's context says
// (WithBudget), on one HTTP client (the same connections).

// Budget is a kind of request, with its own rate limit.
type Budget int

const (
	// BudgetWatches is the informers' lists and watches, and anything not
	// marked otherwise.
	BudgetWatches Budget = iota
	// BudgetPages is reads made for a page someone opened.
	BudgetPages
	// BudgetPermissions is the periodic permission checks.
	BudgetPermissions
	numBudgets
)

func (b Budget) String() string {
	return [...]string{"watches", "pages", "permissions"}[b]
}

// Limits are a budget's requests per second and burst.
type Limits struct {
	QPS   float32
	Burst int
}

// Budgets are the limits of each budget.
type Budgets [numBudgets]Limits

// DefaultBudgets gives the informers the 20 QPS (burst 40) they had alone,
// so that a large cluster's initial paging is as fast as before; a page
// reads at most 7 lists at once and 4 pages read at a time, hence a burst
// of 30 at 10 per second; a permission check asks one rules review per
// namespace (or eight access reviews where rules reviews cannot answer)
// each interval, 5 per second checks 300 namespaces a minute.
var DefaultBudgets = Budgets{
	BudgetWatches:     {QPS: 20, Burst: 40},
	BudgetPages:       {QPS: 10, Burst: 30},
	BudgetPermissions: {QPS: 5, Burst: 10},
}

type budgetKey struct{}

// WithBudget marks ctx's requests as taken from budget b.
func WithBudget(ctx context.Context, b Budget) context.Context {
	return context.WithValue(ctx, budgetKey{}, b)
}

// BudgetOf is the budget ctx's requests take from (BudgetWatches unless
// marked).
func BudgetOf(ctx context.Context) Budget {
	if b, ok := ctx.Value(budgetKey{}).(Budget); ok && b >= 0 && b < numBudgets {
		return b
	}
	return BudgetWatches
}

// NewBudgetedClient is NewClient with one rate limiter per budget, each
// from its Limits (cfg's QPS, Burst and RateLimiter are not used), all on
// httpClient.
func NewBudgetedClient(cfg *rest.Config, httpClient *http.Client, budgets Budgets) (Client, error) {
	var bc budgetedClient
	for b, l := range budgets {
		c := *cfg
		c.RateLimiter, c.QPS, c.Burst = nil, l.QPS, l.Burst
		client, err := NewClient(&c, httpClient)
		if err != nil {
			return nil, err
		}
		bc[b] = client
	}
	return &bc, nil
}

// budgetedClient sends each request through the client of its budget.
type budgetedClient [numBudgets]Client

var (
	_ Client             = (*budgetedClient)(nil)
	_ BoundedEventLister = (*budgetedClient)(nil)
)

func (c *budgetedClient) of(ctx context.Context) Client { return c[BudgetOf(ctx)] }

func (c *budgetedClient) ListJobs(ctx context.Context, namespace string, opts metav1.ListOptions) (*batchv1.JobList, error) {
	return c.of(ctx).ListJobs(ctx, namespace, opts)
}

func (c *budgetedClient) WatchJobs(ctx context.Context, namespace string, opts metav1.ListOptions) (watch.Interface, error) {
	return c.of(ctx).WatchJobs(ctx, namespace, opts)
}

func (c *budgetedClient) ListCronJobs(ctx context.Context, namespace string, opts metav1.ListOptions) (*batchv1.CronJobList, error) {
	return c.of(ctx).ListCronJobs(ctx, namespace, opts)
}

func (c *budgetedClient) WatchCronJobs(ctx context.Context, namespace string, opts metav1.ListOptions) (watch.Interface, error) {
	return c.of(ctx).WatchCronJobs(ctx, namespace, opts)
}

func (c *budgetedClient) ListPods(ctx context.Context, namespace string, opts metav1.ListOptions) (*corev1.PodList, error) {
	return c.of(ctx).ListPods(ctx, namespace, opts)
}

func (c *budgetedClient) WatchPods(ctx context.Context, namespace string, opts metav1.ListOptions) (watch.Interface, error) {
	return c.of(ctx).WatchPods(ctx, namespace, opts)
}

func (c *budgetedClient) ListEvents(ctx context.Context, namespace string, opts metav1.ListOptions) (*corev1.EventList, error) {
	return c.of(ctx).ListEvents(ctx, namespace, opts)
}

func (c *budgetedClient) ListEventsBounded(ctx context.Context, namespace string, opts metav1.ListOptions, b EventBounds) (*corev1.EventList, error) {
	return ListEventsBounded(ctx, c.of(ctx), namespace, opts, b)
}

func (c *budgetedClient) WatchEvents(ctx context.Context, namespace string, opts metav1.ListOptions) (watch.Interface, error) {
	return c.of(ctx).WatchEvents(ctx, namespace, opts)
}

func (c *budgetedClient) PodLogs(ctx context.Context, namespace, pod string, opts *corev1.PodLogOptions) ([]byte, error) {
	return c.of(ctx).PodLogs(ctx, namespace, pod, opts)
}

func (c *budgetedClient) CreateSelfSubjectAccessReview(ctx context.Context, review *authorizationv1.SelfSubjectAccessReview) (*authorizationv1.SelfSubjectAccessReview, error) {
	return c.of(ctx).CreateSelfSubjectAccessReview(ctx, review)
}

func (c *budgetedClient) CreateSelfSubjectRulesReview(ctx context.Context, review *authorizationv1.SelfSubjectRulesReview) (*authorizationv1.SelfSubjectRulesReview, error) {
	return CreateSelfSubjectRulesReview(ctx, c.of(ctx), review)
}

func (c *budgetedClient) Version(ctx context.Context) ([]byte, error) {
	return c.of(ctx).Version(ctx)
}
