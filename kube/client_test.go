package kube

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// request is what a client sent, as the API server sees it.
type request struct {
	Method, Path, Query, Accept, ContentType string
	Body                                     string
}

// apiServer answers as an API server would, in the media type asked for
// (protobuf when the client prefers it), and records every request.
type apiServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []request
}

var testObjects = map[string]runtime.Object{
	"pods": &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "etl-x7k2p", Namespace: "batch", Labels: map[string]string{batchv1.JobNameLabel: "etl"}, ResourceVersion: "12"},
		Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{Name: "main",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}}}}}},
	"jobs": &batchv1.Job{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: "etl", Namespace: "batch", ResourceVersion: "11"},
		Spec:       batchv1.JobSpec{BackoffLimit: ptr.To[int32](6)},
		Status:     batchv1.JobStatus{Failed: 2}},
	"cronjobs": &batchv1.CronJob{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
		ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "batch", ResourceVersion: "10"},
		Spec:       batchv1.CronJobSpec{Schedule: "0 3 * * *", TimeZone: ptr.To("Europe/Paris")}},
	"events": &corev1.Event{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
		ObjectMeta:     metav1.ObjectMeta{Name: "etl.1", Namespace: "batch", ResourceVersion: "9"},
		InvolvedObject: corev1.ObjectReference{Kind: "Job", Name: "etl"}, Type: "Warning", Reason: "FailedCreate", Message: "exceeded quota"},
}

func newAPIServer(t *testing.T) *apiServer {
	s := &apiServer{}
	codecs := serializer.NewCodecFactory(scheme)
	encode := func(w http.ResponseWriter, r *http.Request, gv schema.GroupVersion, obj runtime.Object, code int) {
		mediaType := "application/json"
		if strings.HasPrefix(r.Header.Get("Accept"), runtime.ContentTypeProtobuf) {
			mediaType = runtime.ContentTypeProtobuf
		}
		info, _ := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), mediaType)
		body, err := runtime.Encode(codecs.EncoderForVersion(info.Serializer, gv), obj)
		if err != nil {
			t.Errorf("encoding %T: %v", obj, err)
		}
		w.Header().Set("Content-Type", mediaType)
		w.WriteHeader(code)
		w.Write(body)
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, request{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Accept"), r.Header.Get("Content-Type"), string(body)})
		s.mu.Unlock()
		segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		resource := segs[len(segs)-1]
		gv := corev1.SchemeGroupVersion
		if segs[0] == "apis" {
			gv = schema.GroupVersion{Group: segs[1], Version: segs[2]}
		}
		switch {
		case r.URL.Path == "/version":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"major":"1","minor":"37","gitVersion":"v1.37.2"}`)
		case strings.Contains(r.URL.Path, "/namespaces/forbidden/"):
			encode(w, r, gv, &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden,
				Message: `pods is forbidden: User "system:serviceaccount:monitoring:kube-job-exporter" cannot list resource "pods" in API group "" in the namespace "forbidden"`,
				Details: &metav1.StatusDetails{Kind: "pods"}}, http.StatusForbidden)
		case resource == "log":
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, "loading batch 17\nKilled\n")
		case resource == "selfsubjectaccessreviews":
			encode(w, r, gv, &authorizationv1.SelfSubjectAccessReview{Status: authorizationv1.SubjectAccessReviewStatus{Allowed: true, Reason: "RBAC: allowed"}}, http.StatusCreated)
		case r.URL.Query().Get("watch") == "true":
			// A JSON stream of one event, then the server ends the watch.
			obj := testObjects[resource]
			info, _ := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), "application/json")
			raw, err := runtime.Encode(codecs.EncoderForVersion(info.Serializer, gv), obj)
			if err != nil {
				t.Errorf("encoding %T: %v", obj, err)
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"type":"ADDED","object":%s}`+"\n", raw)
		default:
			list, err := listOf(testObjects[resource])
			if err != nil {
				t.Errorf("%s: %v", r.URL.Path, err)
			}
			encode(w, r, gv, list, http.StatusOK)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// listOf wraps one object into its list type.
func listOf(obj runtime.Object) (runtime.Object, error) {
	switch o := obj.(type) {
	case *corev1.Pod:
		return &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "20"}, Items: []corev1.Pod{*o}}, nil
	case *corev1.Event:
		return &corev1.EventList{ListMeta: metav1.ListMeta{ResourceVersion: "20"}, Items: []corev1.Event{*o}}, nil
	case *batchv1.Job:
		return &batchv1.JobList{ListMeta: metav1.ListMeta{ResourceVersion: "20"}, Items: []batchv1.Job{*o}}, nil
	case *batchv1.CronJob:
		return &batchv1.CronJobList{ListMeta: metav1.ListMeta{ResourceVersion: "20"}, Items: []batchv1.CronJob{*o}}, nil
	}
	return nil, fmt.Errorf("no list type for %T", obj)
}

func (s *apiServer) take() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.reqs
	s.reqs = nil
	return r
}

// firstEvent reads a watch's first event and stops it.
func firstEvent(w watch.Interface, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	ev, ok := <-w.ResultChan()
	if !ok {
		return nil, fmt.Errorf("watch closed without an event")
	}
	return ev, nil
}

// TestClientSpeaksLikeClientset checks the exporter's own client against
// client-go's typed clients, the reference it replaces: for every call the
// exporter makes, both send the same request (method, path, query, media
// types, body) and decode the same answer, protobuf and JSON, errors
// included.
func TestClientSpeaksLikeClientset(t *testing.T) {
	srv := newAPIServer(t)
	cfg := &rest.Config{Host: srv.URL, UserAgent: "kube-job-exporter-test", QPS: 1000, Burst: 1000}
	mine, err := NewClient(cfg, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := kubernetes.NewForConfigAndClient(cfg, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	listOpts := metav1.ListOptions{LabelSelector: batchv1.JobNameLabel, FieldSelector: "metadata.namespace!=kube-system", Limit: 500, TimeoutSeconds: ptr.To[int64](30)}
	// What a reflector asks for a streaming list (watch-list).
	watchListOpts := metav1.ListOptions{FieldSelector: "involvedObject.kind=Job,type=Warning,reason=FailedCreate", SendInitialEvents: ptr.To(true),
		ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan, AllowWatchBookmarks: true, TimeoutSeconds: ptr.To[int64](300)}
	logOpts := &corev1.PodLogOptions{Container: "main", Previous: true, TailLines: ptr.To[int64](20), LimitBytes: ptr.To[int64](64 << 10)}
	review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: "batch", Verb: "watch", Group: "batch", Resource: "jobs"}}}
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		mine   func() (any, error)
		theirs func() (any, error)
	}{
		{"list pods in a namespace",
			func() (any, error) { return mine.ListPods(ctx, "batch", listOpts) },
			func() (any, error) { return theirs.CoreV1().Pods("batch").List(ctx, listOpts) }},
		{"list pods in all namespaces",
			func() (any, error) { return mine.ListPods(ctx, "", listOpts) },
			func() (any, error) { return theirs.CoreV1().Pods("").List(ctx, listOpts) }},
		{"list jobs",
			func() (any, error) {
				return mine.ListJobs(ctx, "batch", metav1.ListOptions{FieldSelector: "metadata.name=etl"})
			},
			func() (any, error) {
				return theirs.BatchV1().Jobs("batch").List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=etl"})
			}},
		{"list cronjobs",
			func() (any, error) { return mine.ListCronJobs(ctx, "", metav1.ListOptions{}) },
			func() (any, error) { return theirs.BatchV1().CronJobs("").List(ctx, metav1.ListOptions{}) }},
		{"list events",
			func() (any, error) { return mine.ListEvents(ctx, "batch", listOpts) },
			func() (any, error) { return theirs.CoreV1().Events("batch").List(ctx, listOpts) }},
		{"list forbidden",
			func() (any, error) { return mine.ListPods(ctx, "forbidden", listOpts) },
			func() (any, error) { return theirs.CoreV1().Pods("forbidden").List(ctx, listOpts) }},
		{"watch pods",
			func() (any, error) { return firstEvent(mine.WatchPods(ctx, "", listOpts)) },
			func() (any, error) { return firstEvent(theirs.CoreV1().Pods("").Watch(ctx, listOpts)) }},
		{"watch-list events",
			func() (any, error) { return firstEvent(mine.WatchEvents(ctx, "batch", watchListOpts)) },
			func() (any, error) { return firstEvent(theirs.CoreV1().Events("batch").Watch(ctx, watchListOpts)) }},
		{"watch jobs",
			func() (any, error) { return firstEvent(mine.WatchJobs(ctx, "batch", watchListOpts)) },
			func() (any, error) { return firstEvent(theirs.BatchV1().Jobs("batch").Watch(ctx, watchListOpts)) }},
		{"watch cronjobs",
			func() (any, error) { return firstEvent(mine.WatchCronJobs(ctx, "", watchListOpts)) },
			func() (any, error) { return firstEvent(theirs.BatchV1().CronJobs("").Watch(ctx, watchListOpts)) }},
		{"pod logs",
			func() (any, error) { return mine.PodLogs(ctx, "batch", "etl-x7k2p", logOpts) },
			func() (any, error) { return theirs.CoreV1().Pods("batch").GetLogs("etl-x7k2p", logOpts).DoRaw(ctx) }},
		{"self subject access review",
			func() (any, error) { return mine.CreateSelfSubjectAccessReview(ctx, review) },
			func() (any, error) {
				return theirs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
			}},
		{"version",
			func() (any, error) { return mine.Version(ctx) },
			func() (any, error) { return theirs.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Raw() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.take()
			got, gotErr := tc.mine()
			gotReqs := srv.take()
			want, wantErr := tc.theirs()
			wantReqs := srv.take()
			if len(gotReqs) != 1 || !reflect.DeepEqual(gotReqs, wantReqs) {
				t.Errorf("requests differ:\n got  %+v\n want %+v", gotReqs, wantReqs)
			}
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || apierrors.ReasonForError(gotErr) != apierrors.ReasonForError(wantErr) {
				t.Errorf("error %v (reason %q), want %v (reason %q)", gotErr, apierrors.ReasonForError(gotErr), wantErr, apierrors.ReasonForError(wantErr))
			}
			if wantErr == nil && !reflect.DeepEqual(got, want) {
				t.Errorf("decoded\n %#v\nwant\n %#v", got, want)
			}
		})
	}
	// The cases above must have exercised what they claim.
	pods, err := mine.ListPods(ctx, "batch", listOpts)
	if err != nil || len(pods.Items) != 1 || pods.Items[0].Status.ContainerStatuses[0].State.Terminated.ExitCode != 137 {
		t.Errorf("list pods: %v, %+v", err, pods)
	}
	if reqs := srv.take(); len(reqs) != 1 || !strings.HasPrefix(reqs[0].Accept, runtime.ContentTypeProtobuf) {
		t.Errorf("list pods asked for %+v, want protobuf first", reqs)
	}
	if _, err := mine.ListPods(ctx, "forbidden", listOpts); !apierrors.IsForbidden(err) {
		t.Errorf("a 403 gives %v, not a Forbidden error", err)
	}
	srv.take()
	if _, err := firstEvent(mine.WatchEvents(ctx, "batch", watchListOpts)); err != nil {
		t.Fatal(err)
	}
	if reqs := srv.take(); len(reqs) != 1 || !strings.Contains(reqs[0].Query, "sendInitialEvents=true") || !strings.Contains(reqs[0].Query, "watch=true") {
		t.Errorf("a streaming list sent %+v", reqs)
	}
}
