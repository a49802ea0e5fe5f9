// Package rbac: permission loss at runtime. The API server runs with RBAC
// (its authorization mode is fixed at start, hence a cluster of its own,
// one per process), the exporter as a ServiceAccount (a kubeconfig that
// impersonates it) bound to a ClusterRole with list and watch on Jobs and
// Pods. Deleting the ClusterRoleBinding must show within a bound time, and
// restoring it must heal the exporter without a restart.
package rbac

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
	"github.com/kube-job-exporter/kube-job-exporter/e2e/reliability"
)

var suite reliability.Suite

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(reliability.Main(m, &suite, "reliability-rbac", harness.Options{
		APIServerFlags: []string{"--authorization-mode=RBAC"},
	}))
}

const (
	saNamespace = "monitoring"
	saName      = "kje-reliability"
	saUser      = "system:serviceaccount:" + saNamespace + ":" + saName
	roleName    = "kje-reliability-reader"
	// checkInterval is --kube.permission-check-interval; detectBound is how
	// long a lost (or restored) permission may take to show: a few checks.
	checkInterval = 2 * time.Second
	detectBound   = 30 * time.Second
	permFlag      = "kube.permission-check-interval"
)

// denyLine is the ERROR log line that names a denied verb and resource.
var denyLine = regexp.MustCompile(`level=ERROR.*cannot (list|watch) (jobs|pods)`)

func binding() *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: roleName},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: roleName},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: saName, Namespace: saNamespace}},
	}
}

// can asks the API server whether the ServiceAccount may verb resource.
func can(ctx context.Context, verb, group, res string) (bool, error) {
	r, err := suite.Cluster.Client().AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User:               saUser,
			Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + saNamespace, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: verb, Group: group, Resource: res},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return r.Status.Allowed, nil
}

// waitCan waits until the RBAC authorizer (which reads roles from an
// informer) answers want for list and watch on jobs and pods.
func waitCan(t *testing.T, want bool) {
	t.Helper()
	err := harness.Eventually(context.Background(), 30*time.Second, func(ctx context.Context) (bool, string, error) {
		for _, r := range []struct{ group, res string }{{"batch", "jobs"}, {"", "pods"}} {
			for _, v := range []string{"list", "watch"} {
				ok, err := can(ctx, v, r.group, r.res)
				if err != nil {
					return false, err.Error(), nil
				}
				if ok != want {
					return false, fmt.Sprintf("%s %s: allowed=%v, want %v", v, r.res, ok, want), nil
				}
			}
		}
		return true, "", nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// saKubeconfig is the admin kubeconfig impersonating the ServiceAccount
// (kubeconfig `as:`): every request is authorized as the ServiceAccount's.
func saKubeconfig(t *testing.T) string {
	t.Helper()
	path, err := suite.Cluster.ImpersonatingKubeconfig(t.TempDir(), saUser)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPermissionLossAtRuntime(t *testing.T) {
	ctx := context.Background()
	help, _ := exec.Command(suite.Binary, "--help").CombinedOutput()
	if !strings.Contains(string(help), "--"+permFlag) {
		t.Skipf("the exporter has no --%s flag yet (periodic SelfSubjectAccessReview): an open watch outlives its deleted binding, nothing to test", permFlag)
	}
	client := suite.Cluster.Client()
	suite.CreateNamespace(t, saNamespace)
	if _, err := client.CoreV1().ServiceAccounts(saNamespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: saName}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: roleName},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}, Verbs: []string{"list", "watch"}},
			{APIGroups: []string{""}, Resources: []string{"pods", "events"}, Verbs: []string{"list", "watch"}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.RbacV1().ClusterRoleBindings().Create(ctx, binding(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitCan(t, true)

	ns := "rbac-app"
	suite.CreateNamespace(t, ns)
	suite.CreateJobs(t, reliability.NewJob(ns, "before", "exit=2", 0))
	e := suite.StartExporterWith(t, "rbac", saKubeconfig(t), "--"+permFlag+"="+checkInterval.String())
	if _, err := e.WaitMetrics(ctx, time.Minute, harness.Labels{"namespace": ns}, func(m *harness.Metrics) (bool, string) {
		if v, _ := m.Value("kubejob_failed", reliability.Labels(ns, "before", "reason", "BackoffLimitExceeded")); v != 1 {
			return false, "Job before not failed yet"
		}
		return reliability.WatchUp(m) == float64(len(harness.WatchedResources)), "watches not up"
	}); err != nil {
		t.Fatal(err)
	}
	if denyLine.MatchString(e.Logs()) {
		t.Fatalf("a denial logged with full permissions:\n%s", reliability.Tail(e.Logs(), 3000))
	}

	// The binding goes.
	if err := client.RbacV1().ClusterRoleBindings().Delete(ctx, roleName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	waitCan(t, false)
	t.Logf("RBAC authorizer denies %s after the delete", time.Since(revoked).Round(time.Millisecond))
	var readyBody string
	err := harness.Eventually(ctx, detectBound, func(ctx context.Context) (bool, string, error) {
		m, err := e.Scrape(ctx)
		if err != nil {
			return false, "scrape: " + err.Error(), nil
		}
		var why []string
		for _, r := range []string{"jobs", "pods"} {
			if v, _ := m.Value("kubejob_exporter_watch_up", harness.Labels{"resource": r}); v != 0 {
				why = append(why, fmt.Sprintf("kubejob_exporter_watch_up{resource=%q} = %v", r, v))
			}
			if v := m.Sum("kubejob_exporter_watch_errors_total", harness.Labels{"resource": r, "reason": "forbidden"}); v < 1 {
				why = append(why, fmt.Sprintf("kubejob_exporter_watch_errors_total{resource=%q,reason=\"forbidden\"} = %v", r, v))
			}
		}
		code, body, err := e.Get(ctx, "/readyz")
		readyBody = strings.TrimSpace(body)
		if err != nil || code != http.StatusServiceUnavailable {
			why = append(why, fmt.Sprintf("/readyz %d %q %v", code, readyBody, err))
		}
		if !denyLine.MatchString(e.Logs()) {
			why = append(why, "no ERROR log line naming the verb and resource")
		}
		return len(why) == 0, strings.Join(why, "; "), nil
	})
	if err != nil {
		t.Fatalf("permission loss not reported within %s (--%s=%s): %v\n%s", detectBound, permFlag, checkInterval, err, reliability.Tail(e.Logs(), 3000))
	}
	t.Logf("permission loss reported %s after the ClusterRoleBinding was deleted; /readyz: %q", time.Since(revoked).Round(time.Millisecond), readyBody)
	for _, l := range strings.Split(e.Logs(), "\n") {
		if denyLine.MatchString(l) {
			t.Logf("log: %s", l)
		}
	}
	// /readyz names a denied verb and resource (exporter.WatchHealth.Ready
	// returns the first resource's denial only, not both).
	if !regexp.MustCompile(`(list|watch) (jobs|pods)`).MatchString(readyBody) {
		t.Errorf("/readyz %q: want it to name a denied verb and resource", readyBody)
	}

	// The binding comes back: healed without a restart.
	if _, err := client.RbacV1().ClusterRoleBindings().Create(ctx, binding(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	restoredAt := time.Now()
	if err := reliability.WaitHealthy(ctx, detectBound+30*time.Second, e); err != nil {
		t.Fatalf("no recovery after the ClusterRoleBinding came back: %v\n%s", err, reliability.Tail(e.Logs(), 3000))
	}
	select {
	case <-e.Exited():
		t.Fatal("the exporter restarted (exited)")
	default:
	}
	t.Logf("recovered %s after the ClusterRoleBinding was restored, same process", time.Since(restoredAt).Round(time.Millisecond))
	// And it watches for real: a Job after the restore is exported, equal
	// to a fresh exporter.
	suite.CreateJobs(t, reliability.NewJob(ns, "after", "exit=3", 0))
	if err := suite.WaitJobsFinished(ctx, 2*time.Minute, ns, map[string]batchv1.JobConditionType{"after": batchv1.JobFailed}); err != nil {
		t.Fatal(err)
	}
	fresh := suite.StartExporterWith(t, "rbac-fresh", saKubeconfig(t))
	if _, err := reliability.WaitEqual(ctx, time.Minute, fresh, e, true); err != nil {
		t.Fatalf("after the permission came back, the exporter and a fresh one disagree: %v", err)
	}
}
