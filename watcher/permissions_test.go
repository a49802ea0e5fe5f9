package watcher

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
	"github.com/kube-job-exporter/kube-job-exporter/kube/kubefake"
)

// rulesClient is kubefake's client that also makes rules reviews (as the
// production client does), through the fake clientset, so that reactors
// answer them.
type rulesClient struct{ *kubefake.Client }

func (c rulesClient) CreateSelfSubjectRulesReview(ctx context.Context, review *authorizationv1.SelfSubjectRulesReview) (*authorizationv1.SelfSubjectRulesReview, error) {
	return c.AuthorizationV1().SelfSubjectRulesReviews().Create(ctx, review, metav1.CreateOptions{})
}

var _ kube.RulesReviewer = rulesClient{}

// fakeRBAC answers rules and access reviews: rules per namespace (nil:
// the rules review fails), namespaces whose rules review is incomplete,
// and the access reviews' decision; it counts the requests.
type fakeRBAC struct {
	rules      map[string][]authorizationv1.ResourceRule
	incomplete map[string]bool
	allowed    func(a *authorizationv1.ResourceAttributes) bool
	failAccess bool

	rulesAsked, accessAsked []string
}

func (f *fakeRBAC) install(c *kubefake.Client) {
	c.PrependReactor("create", "selfsubjectrulesreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		review := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectRulesReview).DeepCopy()
		ns := review.Spec.Namespace
		f.rulesAsked = append(f.rulesAsked, ns)
		rules, ok := f.rules[ns]
		if !ok {
			return true, nil, errors.New("rules review failed")
		}
		review.Status = authorizationv1.SubjectRulesReviewStatus{ResourceRules: rules, Incomplete: f.incomplete[ns]}
		if f.incomplete[ns] {
			review.Status.EvaluationError = "webhook authorizer does not support user rule resolution"
		}
		return true, review, nil
	})
	c.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		review := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview).DeepCopy()
		attrs := review.Spec.ResourceAttributes
		f.accessAsked = append(f.accessAsked, attrs.Verb+" "+attrs.Resource+" "+attrs.Namespace)
		if f.failAccess {
			return true, nil, errors.New("API server unreachable")
		}
		review.Status.Allowed = f.allowed(attrs)
		return true, review, nil
	})
}

// exporterRules are the rules the exporter's Role grants.
var exporterRules = []authorizationv1.ResourceRule{
	{Verbs: []string{"list", "watch"}, APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}},
	{Verbs: []string{"list", "watch"}, APIGroups: []string{""}, Resources: []string{"pods", "events"}},
	{Verbs: []string{"create"}, APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"selfsubjectaccessreviews", "selfsubjectrulesreviews"}},
}

func allowAll(*authorizationv1.ResourceAttributes) bool { return true }

// TestPermissionChecksByRules: one rules review per namespace answers
// the check when it is complete and shows everything allowed; access
// reviews are asked only for what it does not show allowed (a denial
// rests on them), for every permission of a namespace whose rules review
// is incomplete or failed, for the cluster-wide watch (rules reviews are
// per namespace), and with a client that makes no rules reviews. An access
// review that cannot be made reports nothing.
func TestPermissionChecksByRules(t *testing.T) {
	podsByName := []authorizationv1.ResourceRule{
		{Verbs: []string{"list", "watch"}, APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}},
		{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"events"}},
		// Named pods only: no list or watch of the collection.
		{Verbs: []string{"list", "watch"}, APIGroups: []string{""}, Resources: []string{"pods"}, ResourceNames: []string{"one"}},
	}
	for _, tt := range []struct {
		what       string
		namespaces []string
		noRules    bool // a client without rules reviews
		rbac       fakeRBAC
		rules      []string // namespaces rules-reviewed
		access     int      // access reviews asked
		denied     map[string][]string
		noReport   bool
	}{
		{what: "all allowed by rules: one request per namespace", namespaces: []string{"a", "b"},
			rbac:  fakeRBAC{rules: map[string][]authorizationv1.ResourceRule{"a": exporterRules, "b": exporterRules}, allowed: allowAll},
			rules: []string{"a", "b"}},
		{what: "wildcards allow", namespaces: []string{"a"},
			rbac:  fakeRBAC{rules: map[string][]authorizationv1.ResourceRule{"a": {{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}}, allowed: allowAll},
			rules: []string{"a"}},
		{what: "rules do not show pods: access reviews confirm the denial", namespaces: []string{"a", "b"},
			rbac: fakeRBAC{rules: map[string][]authorizationv1.ResourceRule{"a": exporterRules, "b": podsByName},
				allowed: func(a *authorizationv1.ResourceAttributes) bool { return a.Namespace != "b" || a.Resource != "pods" }},
			rules: []string{"a", "b"}, access: 2,
			denied: map[string][]string{ResourcePods: {"list pods in namespace b", "watch pods in namespace b"}}},
		{what: "rules do not show it, the access review allows it: not denied", namespaces: []string{"b"},
			rbac:  fakeRBAC{rules: map[string][]authorizationv1.ResourceRule{"b": podsByName}, allowed: allowAll},
			rules: []string{"b"}, access: 2},
		{what: "incomplete rules review: access reviews for that namespace", namespaces: []string{"a", "b"},
			rbac: fakeRBAC{rules: map[string][]authorizationv1.ResourceRule{"a": exporterRules, "b": nil}, incomplete: map[string]bool{"b": true},
				allowed: func(a *authorizationv1.ResourceAttributes) bool { return a.Resource != "cronjobs" }},
			rules: []string{"a", "b"}, access: 8,
			denied: map[string][]string{ResourceCronJobs: {"list cronjobs in namespace b", "watch cronjobs in namespace b"}}},
		{what: "rules review fails: access reviews", namespaces: []string{"a"},
			rbac:  fakeRBAC{rules: map[string][]authorizationv1.ResourceRule{}, allowed: allowAll},
			rules: []string{"a"}, access: 8},
		{what: "cluster-wide: access reviews", namespaces: nil,
			rbac:   fakeRBAC{allowed: func(a *authorizationv1.ResourceAttributes) bool { return a.Verb != "watch" || a.Resource != "events" }},
			access: 8, denied: map[string][]string{ResourceEvents: {"watch events cluster-wide"}}},
		{what: "a client without rules reviews: access reviews", namespaces: []string{"a", "b"}, noRules: true,
			rbac: fakeRBAC{allowed: allowAll}, access: 16},
		{what: "access reviews not possible: nothing reported", namespaces: []string{"a"},
			rbac:  fakeRBAC{rules: map[string][]authorizationv1.ResourceRule{"a": podsByName}, failAccess: true},
			rules: []string{"a"}, access: 1, noReport: true},
	} {
		t.Run(tt.what, func(t *testing.T) {
			fake := kubefake.New()
			tt.rbac.install(fake)
			var client kube.Client = rulesClient{fake}
			if tt.noRules {
				client = fake
			}
			rec := &fakeRecorder{}
			w, err := New(Config{Client: client, Namespaces: tt.namespaces, Events: true, CronJobs: true, Recorder: rec,
				Summarize: job.Options{Backoff: job.DefaultBackoff}}, &fakeSink{})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			w.checkPermissions(ctx)
			if !slices.Equal(tt.rbac.rulesAsked, tt.rules) {
				t.Errorf("rules reviews for %q, want %q", tt.rbac.rulesAsked, tt.rules)
			}
			if len(tt.rbac.accessAsked) != tt.access {
				t.Errorf("%d access reviews (%s), want %d", len(tt.rbac.accessAsked), strings.Join(tt.rbac.accessAsked, "; "), tt.access)
			}
			if tt.noReport {
				if rec.denied != nil {
					t.Errorf("reported %v although the reviews could not be made", rec.denied)
				}
				return
			}
			if len(rec.denied) != 4 {
				t.Fatalf("reported for %d resources, want all 4: %v", len(rec.denied), rec.denied)
			}
			for _, r := range []string{ResourceJobs, ResourcePods, ResourceEvents, ResourceCronJobs} {
				got, want := rec.denied[r], tt.denied[r]
				sort.Strings(got)
				if !slices.Equal(got, want) {
					t.Errorf("%s: denied %q, want %q", r, got, want)
				}
			}
			if w.cronJobsDown.Load() != (len(tt.denied[ResourceCronJobs]) > 0) {
				t.Errorf("CronJobs marked down: %v", w.cronJobsDown.Load())
			}
		})
	}
}

// TestPermissionChecksKueue: with Config.Kueue the check covers list and
// watch on Kueue's resources in its API group, like any other resource.
func TestPermissionChecksKueue(t *testing.T) {
	kueueRule := authorizationv1.ResourceRule{Verbs: []string{"list", "watch"}, APIGroups: []string{kube.KueueGroup}, Resources: []string{ResourceWorkloads, ResourceLocalQueues}}
	// A rule on the right resources in another group allows nothing.
	otherGroup := authorizationv1.ResourceRule{Verbs: []string{"list", "watch"}, APIGroups: []string{"batch"}, Resources: []string{ResourceWorkloads, ResourceLocalQueues}}
	for _, tt := range []struct {
		what   string
		rules  []authorizationv1.ResourceRule
		access int
		denied []string
	}{
		{"granted", append(slices.Clone(exporterRules), kueueRule), 0, nil},
		{"not granted", append(slices.Clone(exporterRules), otherGroup), 4, []string{"list workloads in namespace a", "watch workloads in namespace a"}},
	} {
		t.Run(tt.what, func(t *testing.T) {
			fake := kubefake.New()
			rbac := fakeRBAC{rules: map[string][]authorizationv1.ResourceRule{"a": tt.rules},
				allowed: func(a *authorizationv1.ResourceAttributes) bool { return a.Group != kube.KueueGroup }}
			rbac.install(fake)
			rec := &fakeRecorder{}
			w, err := New(Config{Client: rulesClient{fake}, Namespaces: []string{"a"}, Kueue: true, Recorder: rec,
				Summarize: job.Options{Backoff: job.DefaultBackoff}}, &fakeSink{})
			if err != nil {
				t.Fatal(err)
			}
			w.checkPermissions(t.Context())
			if len(rbac.accessAsked) != tt.access {
				t.Errorf("%d access reviews (%s), want %d", len(rbac.accessAsked), strings.Join(rbac.accessAsked, "; "), tt.access)
			}
			got := rec.denied[ResourceWorkloads]
			sort.Strings(got)
			if _, reported := rec.denied[ResourceLocalQueues]; !slices.Equal(got, tt.denied) || !reported {
				t.Errorf("workloads denied %q, want %q; reported for %v", got, tt.denied, rec.denied)
			}
		})
	}
}
