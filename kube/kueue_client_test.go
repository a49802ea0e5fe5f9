package kube

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
)

// A Workload as an API server serves it (Kueue v0.17's JSON): list items
// carry no apiVersion or kind, and most fields (the pod sets' templates)
// are ones the exporter does not read.
const workloadJSON = `{"metadata":{"name":"job-etl-3f2a1","namespace":"batch","uid":"w-1","resourceVersion":"41",
 "creationTimestamp":"2026-12-07T09:00:00Z",
 "ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":"etl","uid":"j-1","controller":true}]},
 "spec":{"queueName":"team-a","active":true,"priority":0,
  "podSets":[{"name":"main","count":4,"template":{"spec":{"containers":[{"name":"main","image":"etl:1","resources":{"requests":{"nvidia.com/gpu":"1"}}}]}}}]},
 "status":{"conditions":[{"type":"QuotaReserved","status":"False","reason":"Pending","lastTransitionTime":"2026-12-07T09:00:05Z",
   "message":"couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor a100, 3 more needed"}],
  "requeueState":{"count":2},"resourceRequests":[{"name":"main","resources":{"nvidia.com/gpu":"4"}}]}}`

// kueueServer answers as an API server with Kueue's CRDs at versions
// (none: Kueue not installed), recording the requests.
type kueueServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []request
}

func newKueueServer(t *testing.T, versions ...string) *kueueServer {
	s := &kueueServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Accept: r.Header.Get("Accept")})
		s.mu.Unlock()
		notFound := func() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","code":404}`)
		}
		if r.URL.Path == "/apis/"+KueueGroup {
			if len(versions) == 0 {
				// What kube-apiserver answers for a group it does not
				// serve: a plain 404.
				w.WriteHeader(http.StatusNotFound)
				fmt.Fprint(w, "404 page not found\n")
				return
			}
			var vs []string
			for _, v := range versions {
				vs = append(vs, fmt.Sprintf(`{"groupVersion":"%s/%s","version":"%s"}`, KueueGroup, v, v))
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"kind":"APIGroup","apiVersion":"v1","name":"%s","versions":[%s],"preferredVersion":%s}`, KueueGroup, strings.Join(vs, ","), vs[0])
			return
		}
		segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		if len(segs) < 4 || segs[1] != KueueGroup {
			notFound()
			return
		}
		version, resource := segs[2], segs[len(segs)-1]
		served := false
		for _, v := range versions {
			served = served || v == version
		}
		if !served {
			notFound()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		gv := KueueGroup + "/" + version
		switch {
		case resource == KueueWorkloads && r.URL.Query().Get("watch") == "true":
			obj := strings.Replace(workloadJSON, `{"metadata"`, `{"apiVersion":"`+gv+`","kind":"Workload","metadata"`, 1)
			fmt.Fprintf(w, `{"type":"MODIFIED","object":%s}`+"\n", strings.ReplaceAll(obj, "\n", ""))
		case resource == KueueWorkloads:
			fmt.Fprintf(w, `{"apiVersion":"%s","kind":"WorkloadList","metadata":{"resourceVersion":"50"},"items":[%s]}`, gv, workloadJSON)
		case resource == KueueLocalQueues && r.URL.Query().Get("watch") == "true":
			fmt.Fprintf(w, `{"type":"ADDED","object":{"apiVersion":"%s","kind":"LocalQueue","metadata":{"name":"team-a","namespace":"batch","resourceVersion":"7"},"spec":{"clusterQueue":"gpu","stopPolicy":"None"}}}`+"\n", gv)
		case resource == KueueLocalQueues:
			fmt.Fprintf(w, `{"apiVersion":"%s","kind":"LocalQueueList","metadata":{"resourceVersion":"50"},"items":[{"metadata":{"name":"team-a","namespace":"batch"},"spec":{"clusterQueue":"gpu"},"status":{"pendingWorkloads":3}}]}`, gv)
		default:
			notFound()
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *kueueServer) take() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.reqs
	s.reqs = nil
	return r
}

func newTestClient(t *testing.T, url string, httpClient *http.Client) Client {
	t.Helper()
	c, err := NewBudgetedClient(&rest.Config{Host: url}, httpClient, DefaultBudgets)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestKueueVersion(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		versions []string
		want     string
	}{
		{"not installed", nil, ""},
		{"both versions", []string{"v1beta2", "v1beta1"}, "v1beta2"},
		{"v1beta1 preferred by the server", []string{"v1beta1", "v1beta2"}, "v1beta2"},
		{"v1beta1 only", []string{"v1beta1"}, "v1beta1"},
		{"a version the exporter does not read", []string{"v1alpha1"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newKueueServer(t, tc.versions...)
			got, err := newTestClient(t, srv.URL, srv.Client()).KueueVersion(ctx)
			if err != nil || got != tc.want {
				t.Errorf("KueueVersion = %q, %v; want %q, nil", got, err, tc.want)
			}
			if reqs := srv.take(); len(reqs) != 1 || reqs[0].Method != http.MethodGet || reqs[0].Path != "/apis/kueue.x-k8s.io" {
				t.Errorf("requests %+v, want one GET /apis/kueue.x-k8s.io", reqs)
			}
		})
	}
	t.Run("server error", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		t.Cleanup(srv.Close)
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if got, err := newTestClient(t, srv.URL, srv.Client()).KueueVersion(ctx); err == nil {
			t.Errorf("a 503 gives %q, nil; want an error (the API is not known absent)", got)
		}
	})
}

func TestKueueListAndWatch(t *testing.T) {
	ctx := context.Background()
	srv := newKueueServer(t, "v1beta1", "v1beta2")
	c := newTestClient(t, srv.URL, srv.Client())
	for _, version := range KueueVersions {
		t.Run(version, func(t *testing.T) {
			srv.take()
			wls, err := c.ListWorkloads(ctx, version, "batch", metav1.ListOptions{Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			if len(wls.Items) != 1 || wls.ResourceVersion != "50" {
				t.Fatalf("list = %+v", wls)
			}
			checkWorkload(t, &wls.Items[0])
			ev, err := firstEvent(c.WatchWorkloads(ctx, version, "batch", metav1.ListOptions{ResourceVersion: "50"}))
			if err != nil {
				t.Fatal(err)
			}
			e := ev.(watch.Event)
			wl, ok := e.Object.(*Workload)
			if e.Type != watch.Modified || !ok {
				t.Fatalf("watch event %s %T, want MODIFIED *Workload", e.Type, e.Object)
			}
			checkWorkload(t, wl)
			lqs, err := c.ListLocalQueues(ctx, version, "", metav1.ListOptions{})
			if err != nil || len(lqs.Items) != 1 || lqs.Items[0].Name != "team-a" || lqs.Items[0].Spec.ClusterQueue != "gpu" {
				t.Errorf("list localqueues = %+v, %v", lqs, err)
			}
			ev, err = firstEvent(c.WatchLocalQueues(ctx, version, "", metav1.ListOptions{}))
			if err != nil {
				t.Fatal(err)
			}
			if lq, ok := ev.(watch.Event).Object.(*LocalQueue); !ok || lq.Spec.ClusterQueue != "gpu" || lq.Namespace != "batch" {
				t.Errorf("localqueue watch event %+v", ev)
			}
			reqs := srv.take()
			want := []string{
				"/apis/kueue.x-k8s.io/" + version + "/namespaces/batch/workloads",
				"/apis/kueue.x-k8s.io/" + version + "/namespaces/batch/workloads",
				"/apis/kueue.x-k8s.io/" + version + "/localqueues",
				"/apis/kueue.x-k8s.io/" + version + "/localqueues",
			}
			if len(reqs) != len(want) {
				t.Fatalf("requests %+v", reqs)
			}
			for i, r := range reqs {
				// Custom resources are never served in protobuf.
				if r.Path != want[i] || r.Accept != "application/json" {
					t.Errorf("request %d: %s Accept %q, want %s Accept application/json", i, r.Path, r.Accept, want[i])
				}
			}
			if !strings.Contains(reqs[1].Query, "watch=true") || !strings.Contains(reqs[1].Query, "resourceVersion=50") || !strings.Contains(reqs[0].Query, "limit=500") {
				t.Errorf("queries %q, %q", reqs[0].Query, reqs[1].Query)
			}
		})
	}
}

func checkWorkload(t *testing.T, w *Workload) {
	t.Helper()
	if w.Name != "job-etl-3f2a1" || w.Namespace != "batch" || w.UID != "w-1" || len(w.OwnerReferences) != 1 || w.OwnerReferences[0].UID != "j-1" {
		t.Errorf("metadata %+v", w.ObjectMeta)
	}
	if w.Spec.QueueName != "team-a" || w.Spec.Active == nil || !*w.Spec.Active {
		t.Errorf("spec %+v", w.Spec)
	}
	if len(w.Status.Conditions) != 1 || w.Status.Conditions[0].Reason != "Pending" || !strings.Contains(w.Status.Conditions[0].Message, "insufficient unused quota") {
		t.Errorf("conditions %+v", w.Status.Conditions)
	}
	if r := w.Status.RequeueState; r == nil || r.Count == nil || *r.Count != 2 {
		t.Errorf("requeueState %+v", r)
	}
}

// A version Kueue's group no longer serves (its CRD gone, or a version
// dropped) answers 404: the watcher's cue to discover again.
func TestKueueNotServed(t *testing.T) {
	ctx := context.Background()
	srv := newKueueServer(t, "v1beta1")
	c := newTestClient(t, srv.URL, srv.Client())
	if _, err := c.ListWorkloads(ctx, "v1beta2", "", metav1.ListOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("list of an unserved version: %v, want NotFound", err)
	}
	if _, err := c.ListWorkloads(ctx, "v9", "", metav1.ListOptions{}); err == nil {
		t.Error("a version the client does not know: no error")
	}
}
