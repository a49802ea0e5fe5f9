package watcher

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"

	"github.com/kube-job-exporter/kube-job-exporter/kube"
)

// An API server checks authorization when a request starts, so an open
// watch keeps streaming after the RoleBinding behind it is deleted: the
// exporter would learn of it only when the watch is renewed, minutes later.
// The permission check asks the API server every interval whether this
// exporter may still list and watch what it watches, and reports a denial
// at once.
//
// Per namespace watched, it asks one SelfSubjectRulesReview (every rule
// that lets the exporter act there) rather than an access review per
// resource and verb (8 with events and CronJobs): 100 namespaces cost 100
// requests a check, not 800. A rules review answers the question only
// when it is complete: the API server marks it incomplete when an
// authorizer cannot list its rules (webhook and Node authorizers, an
// evaluation error); then, and for the cluster-wide watch (a rules review
// is asked per namespace), each permission gets its own
// SelfSubjectAccessReview, as before. And since rules reviews are meant to
// show permissions, not decide them (the API documentation says so), a
// permission a rules review does not show allowed is denied only once an
// access review confirms it: a denial always rests on the API server's
// authorization decision, and the common case, all allowed, costs one
// request per namespace. All take from their own rate limit
// (kube.BudgetPermissions), not from the watches'.

type permission struct {
	resource, group, verb, namespace string
}

func (p permission) String() string {
	where := "cluster-wide"
	if p.namespace != "" {
		where = "in namespace " + p.namespace
	}
	return fmt.Sprintf("%s %s %s", p.verb, p.resource, where)
}

// permissions are what the watches need in namespace ("" cluster-wide).
func (w *Watcher) permissions(namespace string) []permission {
	var out []permission
	for _, r := range w.cfg.resources() {
		for _, verb := range []string{"list", "watch"} {
			out = append(out, permission{resource: r.resource, group: r.group, verb: verb, namespace: namespace})
		}
	}
	return out
}

// reviewTimeout bounds each review request.
const reviewTimeout = 10 * time.Second

// checkPermissions asks once and reports, per resource, what is denied.
// A review that cannot be made (API server unreachable) changes nothing:
// the watches report that themselves.
func (w *Watcher) checkPermissions(ctx context.Context) {
	ctx = kube.WithBudget(ctx, kube.BudgetPermissions)
	denied := map[string][]string{}
	for _, r := range w.cfg.resources() {
		denied[r.resource] = nil
	}
	rulesReviews, accessReviews := 0, 0
	for _, s := range w.scopes {
		perms := w.permissions(s.namespace)
		if s.namespace != "" {
			rulesReviews++
		}
		unsure := w.notAllowedByRules(ctx, s.namespace, perms)
		accessReviews += len(unsure)
		for _, p := range unsure {
			allowed, err := w.accessReview(ctx, p)
			if err != nil {
				w.cfg.Logger.Debug("permission check not possible", "permission", p.String(), "err", err)
				return
			}
			if !allowed {
				denied[p.resource] = append(denied[p.resource], p.String())
			}
		}
	}
	// What a check cost, to tell when rules reviews cannot answer.
	w.cfg.Logger.Debug("permissions checked", "rules_reviews", rulesReviews, "access_reviews", accessReviews)
	for resource, d := range denied {
		w.cfg.Recorder.Permissions(resource, d)
		if resource == ResourceCronJobs && len(d) > 0 {
			// An open watch outlives a revoked permission; the watch's
			// next success clears this.
			w.cronJobsDown.Store(true)
		}
	}
}

// notAllowedByRules are the permissions of perms that a rules review of
// namespace does not show allowed: none left when it shows them all, all
// of them when it cannot answer (cluster-wide, incomplete, not possible).
func (w *Watcher) notAllowedByRules(ctx context.Context, namespace string, perms []permission) []permission {
	if namespace == "" {
		return perms
	}
	reqCtx, cancel := context.WithTimeout(ctx, reviewTimeout)
	defer cancel()
	res, err := kube.CreateSelfSubjectRulesReview(reqCtx, w.cfg.Client, &authorizationv1.SelfSubjectRulesReview{
		Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: namespace}})
	switch {
	case errors.Is(err, kube.ErrNoRulesReview):
		return perms
	case err != nil:
		w.cfg.Logger.Debug("rules review not possible, asking access reviews", "namespace", namespace, "err", err)
		return perms
	case res.Status.Incomplete:
		w.cfg.Logger.Debug("rules review incomplete, asking access reviews", "namespace", namespace, "evaluation_error", res.Status.EvaluationError)
		return perms
	}
	var out []permission
	for _, p := range perms {
		if !rulesAllow(res.Status.ResourceRules, p) {
			out = append(out, p)
		}
	}
	return out
}

// rulesAllow tells whether rules let p be done on the whole collection:
// a rule naming the verb, the API group and the resource (or "*"), and no
// resourceNames (a rule for named objects allows no list or watch of all).
func rulesAllow(rules []authorizationv1.ResourceRule, p permission) bool {
	for _, r := range rules {
		if len(r.ResourceNames) == 0 && matches(r.Verbs, p.verb) && matches(r.APIGroups, p.group) && matches(r.Resources, p.resource) {
			return true
		}
	}
	return false
}

func matches(values []string, want string) bool {
	return slices.Contains(values, want) || slices.Contains(values, "*")
}

// accessReview asks whether p is allowed.
func (w *Watcher) accessReview(ctx context.Context, p permission) (bool, error) {
	review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: p.namespace, Verb: p.verb, Group: p.group, Resource: p.resource},
	}}
	reqCtx, cancel := context.WithTimeout(ctx, reviewTimeout)
	defer cancel()
	res, err := w.cfg.Client.CreateSelfSubjectAccessReview(reqCtx, review)
	if err != nil {
		return false, err
	}
	return res.Status.Allowed, nil
}

func (w *Watcher) runPermissionChecks(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		w.checkPermissions(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
