package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

const (
	fieldManager = "kje-deploy-e2e"
	// The ServiceAccount of deploy/base, as the API server names it.
	saNamespace = "monitoring"
	saName      = "kube-job-exporter"
	saUser      = "system:serviceaccount:" + saNamespace + ":" + saName
)

// build runs kustomize (the same library kubectl apply -k uses) on a
// directory and returns the rendered objects.
func build(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var out []*unstructured.Unstructured
	for _, r := range rm.Resources() {
		m, err := r.Map()
		if err != nil {
			t.Fatalf("kustomize build %s: %v", dir, err)
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out
}

func deployDir(parts ...string) string {
	return filepath.Join(append([]string{repoRoot, "deploy"}, parts...)...)
}

// find returns the one object of kind and name.
func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	var found *unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			if found != nil {
				t.Fatalf("two %s %s", kind, name)
			}
			found = o
		}
	}
	if found == nil {
		t.Fatalf("no %s %s among the rendered objects", kind, name)
	}
	return found
}

func ofKind(objs []*unstructured.Unstructured, kinds ...string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		for _, k := range kinds {
			if o.GetKind() == k {
				out = append(out, o)
			}
		}
	}
	return out
}

// into converts an unstructured object into a typed one (strictly: unknown
// fields are an error).
func into(t *testing.T, o *unstructured.Unstructured, v any) {
	t.Helper()
	raw, err := json.Marshal(o.Object)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s %s: strict decode into %T: %v", o.GetKind(), o.GetName(), v, err)
	}
}

// applier does server-side applies with the admin credentials.
type applier struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

func newApplier(t *testing.T) *applier {
	t.Helper()
	cfg := cluster.RESTConfig()
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	disc := memory.NewMemCacheClient(cluster.Client().Discovery())
	return &applier{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(disc)}
}

// apply server-side applies o (dryRun: nothing is stored) with strict field
// validation, so an unknown or misspelt field is an error, as is anything
// the API server's validation or admission rejects.
func (a *applier) apply(ctx context.Context, o *unstructured.Unstructured, dryRun bool) error {
	gvk := o.GroupVersionKind()
	mapping, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		a.mapper.Reset()
		if mapping, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			return fmt.Errorf("%s %s: %w", gvk.Kind, o.GetName(), err)
		}
	}
	var ri dynamic.ResourceInterface = a.dyn.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ri = a.dyn.Resource(mapping.Resource).Namespace(o.GetNamespace())
	}
	body, err := json.Marshal(o.Object)
	if err != nil {
		return err
	}
	opts := metav1.PatchOptions{FieldManager: fieldManager, Force: ptr(true), FieldValidation: "Strict"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if _, err := ri.Patch(ctx, o.GetName(), types.ApplyPatchType, body, opts); err != nil {
		return fmt.Errorf("%s %s/%s: %w", gvk.Kind, o.GetNamespace(), o.GetName(), err)
	}
	return nil
}

func (a *applier) delete(ctx context.Context, o *unstructured.Unstructured) error {
	gvk := o.GroupVersionKind()
	mapping, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return err
	}
	var ri dynamic.ResourceInterface = a.dyn.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ri = a.dyn.Resource(mapping.Resource).Namespace(o.GetNamespace())
	}
	if err := ri.Delete(ctx, o.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// saKubeconfig writes a kubeconfig that authenticates as the admin but
// impersonates the ServiceAccount (kubeconfig `as:`), so every request of
// the exporter is authorized as the ServiceAccount would be in a cluster.
func saKubeconfig(t *testing.T) string {
	t.Helper()
	path, err := cluster.ImpersonatingKubeconfig(t.TempDir(), saUser)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// proc is an exporter process started without waiting for /readyz (it may
// never become ready, or speak only TLS).
// proc is an exporter started by a deploy test, with all its output (the
// secrets test reads every line of it).
type proc struct {
	*harness.Exporter
	out *lockedLog
}

// lockedLog keeps everything written to it.
type lockedLog struct {
	mu   sync.Mutex
	logs strings.Builder
}

func (l *lockedLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.logs.Write(b)
}

// Logs is everything the exporter wrote so far.
func (p *proc) Logs() string {
	p.out.mu.Lock()
	defer p.out.mu.Unlock()
	return p.out.logs.String()
}

// startProc runs the exporter with kubeconfig and args and waits until it
// accepts TCP connections (not until it is ready: some tests deny it what
// readiness needs, some serve TLS). It is stopped when the test ends.
func startProc(t *testing.T, kubeconfig string, args ...string) *proc {
	t.Helper()
	initial, maxDelay := cluster.JobBackoff()
	p := &proc{out: &lockedLog{}}
	e, err := harness.StartExporter(context.Background(), harness.ExporterOptions{
		Binary: exporterBin, Kubeconfig: kubeconfig, BackoffInitial: initial, BackoffMax: maxDelay,
		LogLevel: "debug", Args: args, Output: p.out, WaitListening: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	p.Exporter = e
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			_ = os.WriteFile(filepath.Join(workDir, strings.ReplaceAll(t.Name(), "/", "_")+".exporter.log"), []byte(p.Logs()), 0o644)
		}
	})
	return p
}

// get fetches url with client and returns status and body.
func get(ctx context.Context, client *http.Client, url string, mutate ...func(*http.Request)) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	for _, m := range mutate {
		m(req)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

var plainHTTP = &http.Client{Timeout: 10 * time.Second}

// scrape parses the exporter's /metrics over plain HTTP.
func (p *proc) scrape(ctx context.Context) (*harness.Metrics, error) {
	code, body, err := get(ctx, plainHTTP, "http://"+p.Addr()+"/metrics")
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %d: %s", code, body)
	}
	return harness.ParseMetrics(strings.NewReader(body))
}
