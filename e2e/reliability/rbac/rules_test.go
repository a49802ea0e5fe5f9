package rbac

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
	"github.com/kube-job-exporter/kube-job-exporter/e2e/reliability"
)

// TestNamespacedPermissionLossByRules: an exporter watching one namespace
// through a RoleBinding checks its permissions with one
// SelfSubjectRulesReview per check, which the real RBAC authorizer
// answers completely (no fallback to access reviews logged, no denial
// while the binding exists); deleting the RoleBinding shows as watch_up 0
// and a failing /readyz within the bound, as the access reviews did.
func TestNamespacedPermissionLossByRules(t *testing.T) {
	ctx := context.Background()
	const ns, sa, role = "rbac-rules", "kje-namespaced", "kje-namespaced-reader"
	user := "system:serviceaccount:" + saNamespace + ":" + sa
	client := suite.Cluster.Client()
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: saNamespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().ServiceAccounts(saNamespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	suite.CreateNamespace(t, ns)
	if _, err := client.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: role, Namespace: ns},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}, Verbs: []string{"list", "watch"}},
			{APIGroups: []string{""}, Resources: []string{"pods", "events"}, Verbs: []string{"list", "watch"}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role, Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: saNamespace}},
	}
	if _, err := client.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := suite.Cluster.ImpersonatingKubeconfig(t.TempDir(), user)
	if err != nil {
		t.Fatal(err)
	}
	suite.CreateJobs(t, reliability.NewJob(ns, "before", "exit=2", 0))
	e := suite.StartExporterWith(t, "rbac-rules", kubeconfig, "--watch.namespaces="+ns, "--"+permFlag+"="+checkInterval.String())
	if err := reliability.WaitHealthy(ctx, time.Minute, e); err != nil {
		t.Fatalf("not healthy with its RoleBinding: %v\n%s", err, reliability.Tail(e.Logs(), 3000))
	}
	// The first check runs as the watches start, a check every 2s after:
	// several have run by the time the Job failed and was exported.
	if _, err := e.WaitMetrics(ctx, time.Minute, harness.Labels{"namespace": ns}, func(m *harness.Metrics) (bool, string) {
		v, _ := m.Value("kubejob_failed", reliability.Labels(ns, "before", "reason", "BackoffLimitExceeded"))
		return v == 1, "Job before not failed yet"
	}); err != nil {
		t.Fatal(err)
	}
	logs := e.Logs()
	if denyLine.MatchString(logs) {
		t.Fatalf("a denial logged with full permissions:\n%s", reliability.Tail(logs, 3000))
	}
	if strings.Contains(logs, "rules review incomplete") || strings.Contains(logs, "rules review not possible") ||
		!strings.Contains(logs, `msg="permissions checked" rules_reviews=1 access_reviews=0`) {
		t.Errorf("the RBAC authorizer's rules review did not answer the check alone:\n%s", reliability.Tail(logs, 3000))
	}

	if err := client.RbacV1().RoleBindings(ns).Delete(ctx, role, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	err = harness.Eventually(ctx, detectBound, func(ctx context.Context) (bool, string, error) {
		m, err := e.Scrape(ctx)
		if err != nil {
			return false, "scrape: " + err.Error(), nil
		}
		var why []string
		for _, r := range []string{"jobs", "pods"} {
			if v, _ := m.Value("kubejob_exporter_watch_up", harness.Labels{"resource": r}); v != 0 {
				why = append(why, fmt.Sprintf("kubejob_exporter_watch_up{resource=%q} = %v", r, v))
			}
		}
		code, body, err := e.Get(ctx, "/readyz")
		if err != nil || code != http.StatusServiceUnavailable || !strings.Contains(body, "in namespace "+ns) {
			why = append(why, fmt.Sprintf("/readyz %d %q %v", code, strings.TrimSpace(body), err))
		}
		return len(why) == 0, strings.Join(why, "; "), nil
	})
	if err != nil {
		t.Fatalf("the RoleBinding's deletion not reported within %s: %v\n%s", detectBound, err, reliability.Tail(e.Logs(), 3000))
	}
	t.Logf("permission loss in namespace %s reported %s after the RoleBinding was deleted", ns, time.Since(revoked).Round(time.Millisecond))
}
