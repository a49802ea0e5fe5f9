package watcher

import (
	"context"
	"fmt"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
)

// An API server checks authorization when a request starts, so an open
// watch keeps streaming after the RoleBinding behind it is deleted: the
// exporter would learn of it only when the watch is renewed, minutes later.
// The permission check asks the API server every interval, with a
// SelfSubjectAccessReview (allowed to every authenticated user), whether
// this exporter may still list and watch what it watches, and reports a
// denial at once.

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

func (w *Watcher) permissions() []permission {
	var out []permission
	for _, s := range w.scopes {
		for _, r := range w.cfg.resources() {
			for _, verb := range []string{"list", "watch"} {
				out = append(out, permission{resource: r.resource, group: r.group, verb: verb, namespace: s.namespace})
			}
		}
	}
	return out
}

// checkPermissions asks once and reports, per resource, what is denied.
// A review that cannot be made (API server unreachable) changes nothing:
// the watches report that themselves.
func (w *Watcher) checkPermissions(ctx context.Context) {
	denied := map[string][]string{}
	for _, r := range w.cfg.resources() {
		denied[r.resource] = nil
	}
	for _, p := range w.permissions() {
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: p.namespace, Verb: p.verb, Group: p.group, Resource: p.resource},
		}}
		reqCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		res, err := w.cfg.Client.CreateSelfSubjectAccessReview(reqCtx, review)
		cancel()
		if err != nil {
			w.cfg.Logger.Debug("permission check not possible", "permission", p.String(), "err", err)
			return
		}
		if !res.Status.Allowed {
			denied[p.resource] = append(denied[p.resource], p.String())
		}
	}
	for resource, d := range denied {
		w.cfg.Recorder.Permissions(resource, d)
		if resource == ResourceCronJobs && len(d) > 0 {
			// An open watch outlives a revoked permission; the watch's
			// next success clears this.
			w.cronJobsDown.Store(true)
		}
	}
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
