package harness

// A stand-in for metrics-server behind the real aggregation layer: an
// HTTPS server in the test process, registered with an APIService for
// v1beta1.metrics.k8s.io, so that a client's
// GET /apis/metrics.k8s.io/v1beta1/... goes to kube-apiserver, which
// authenticates and authorizes it (RBAC, when on) and proxies it here
// with its front-proxy client certificate, as in a real cluster.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"math/big"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// MetricsAPIService is the APIService metrics-server registers, and the
// Service (in kube-system) it points at.
const (
	MetricsAPIService    = "v1beta1.metrics.k8s.io"
	metricsServiceName   = "metrics-server"
	metricsNamespace     = "kube-system"
	metricsGroupVersion  = "metrics.k8s.io/v1beta1"
	metricsServiceDNS    = metricsServiceName + "." + metricsNamespace + ".svc"
	metricsWindow        = 15 * time.Second // metrics-server's default --metric-resolution
	authConfigMap        = "extension-apiserver-authentication"
	requestHeaderCAKey   = "requestheader-client-ca-file"
	requestHeaderNameKey = "requestheader-allowed-names"
	requestHeaderUserKey = "requestheader-username-headers"
)

var apiServiceGVR = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// MetricsServer answers PodMetrics for the pods the test gives a usage
// (SetPodUsage), the way metrics-server does: list and get in a namespace
// or across all, with the pod's labels (so label selectors work) and a
// timestamp and window, plus the discovery documents the aggregator reads.
// It accepts only requests that kube-apiserver proxied: a client
// certificate from the front-proxy CA with an allowed name, as read from
// kube-system/extension-apiserver-authentication, like any aggregated
// API server.
type MetricsServer struct {
	c        *Cluster
	srv      *http.Server
	l        net.Listener
	userHdrs []string

	mu       sync.Mutex
	usage    map[string]map[string]int64 // "namespace/pod" → container → bytes
	requests []MetricsRequest
}

// MetricsRequest is one request the server answered, as the aggregator
// forwarded it.
type MetricsRequest struct {
	Path      string
	Query     string
	User      string // X-Remote-User, the authenticated client the aggregator names
	UserAgent string // the client's own
	Status    int
}

// StartMetricsServer starts the server, registers its Service and
// APIService, and returns once kube-apiserver reports the APIService
// Available (its own discovery check through the proxy passed).
func StartMetricsServer(ctx context.Context, c *Cluster) (_ *MetricsServer, retErr error) {
	m := &MetricsServer{c: c, usage: map[string]map[string]int64{}}
	clientCAs, allowed, userHdrs, err := m.frontProxyTrust(ctx)
	if err != nil {
		return nil, err
	}
	m.userHdrs = userHdrs
	caPEM, cert, err := servingCert()
	if err != nil {
		return nil, err
	}
	if m.l, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, err
	}
	m.srv = &http.Server{
		Handler:           m.authenticated(allowed, http.HandlerFunc(m.serve)),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			// Verified when given; requests without one are refused by
			// authenticated, with a message that says why.
			ClientAuth: tls.VerifyClientCertIfGiven,
			ClientCAs:  clientCAs,
			MinVersion: tls.VersionTLS12,
		},
		// TLS handshake noise (the aggregator's probes) stays out of
		// the test output.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() { _ = m.srv.ServeTLS(m.l, "", "") }()
	defer func() {
		if retErr != nil {
			_ = m.Stop()
		}
	}()
	if err := m.register(ctx, caPEM); err != nil {
		return nil, err
	}
	return m, nil
}

// frontProxyTrust reads what kube-apiserver publishes for aggregated API
// servers: the CA of its front-proxy client certificate, the names that
// certificate may carry and the header naming the user.
func (m *MetricsServer) frontProxyTrust(ctx context.Context) (*x509.CertPool, []string, []string, error) {
	var cm *v1.ConfigMap
	err := Eventually(ctx, time.Minute, func(ctx context.Context) (bool, string, error) {
		var err error
		cm, err = m.c.Client().CoreV1().ConfigMaps(metricsNamespace).Get(ctx, authConfigMap, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		return cm.Data[requestHeaderCAKey] != "", "no " + requestHeaderCAKey + " in " + authConfigMap + " yet", nil
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("front-proxy CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(cm.Data[requestHeaderCAKey])) {
		return nil, nil, nil, fmt.Errorf("%s: no certificate in %s", authConfigMap, requestHeaderCAKey)
	}
	var allowed, userHdrs []string
	// Both are JSON string lists in the ConfigMap.
	if s := cm.Data[requestHeaderNameKey]; s != "" {
		if err := json.Unmarshal([]byte(s), &allowed); err != nil {
			return nil, nil, nil, fmt.Errorf("%s %s: %w", authConfigMap, requestHeaderNameKey, err)
		}
	}
	if err := json.Unmarshal([]byte(cm.Data[requestHeaderUserKey]), &userHdrs); err != nil || len(userHdrs) == 0 {
		userHdrs = []string{"X-Remote-User"}
	}
	return pool, allowed, userHdrs, nil
}

// servingCert makes a CA and a serving certificate for the name the
// aggregator checks (<service>.<namespace>.svc), so that the APIService
// carries a real caBundle instead of insecureSkipTLSVerify.
func servingCert() ([]byte, tls.Certificate, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "e2e-metrics-server-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: metricsServiceDNS},
		DNSNames:    []string{metricsServiceDNS},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:   now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// register creates the Service and the APIService and waits until the
// aggregator says the APIService is Available.
func (m *MetricsServer) register(ctx context.Context, caPEM []byte) error {
	port := m.l.Addr().(*net.TCPAddr).Port
	// An ExternalName Service: the aggregator resolves it to
	// externalName:port without needing EndpointSlices, which may not
	// point at loopback addresses (no kube-proxy runs here either).
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: metricsServiceName, Namespace: metricsNamespace},
		Spec:       v1.ServiceSpec{Type: v1.ServiceTypeExternalName, ExternalName: "localhost"},
	}
	if _, err := m.c.Client().CoreV1().Services(metricsNamespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create Service %s/%s: %w", metricsNamespace, metricsServiceName, err)
	}
	dyn, err := dynamic.NewForConfig(m.c.RESTConfig())
	if err != nil {
		return err
	}
	apiService := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1",
		"kind":       "APIService",
		"metadata":   map[string]any{"name": MetricsAPIService},
		"spec": map[string]any{
			"group": "metrics.k8s.io", "version": "v1beta1",
			"service": map[string]any{"namespace": metricsNamespace, "name": metricsServiceName, "port": int64(port)},
			// []byte in the Go type: base64 in JSON.
			"caBundle":             base64.StdEncoding.EncodeToString(caPEM),
			"groupPriorityMinimum": int64(100), "versionPriority": int64(100),
		},
	}}
	apis := dyn.Resource(apiServiceGVR)
	_ = apis.Delete(ctx, MetricsAPIService, metav1.DeleteOptions{}) // one left by an earlier server of this cluster
	if _, err := apis.Create(ctx, apiService, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create APIService %s: %w", MetricsAPIService, err)
	}
	return Eventually(ctx, time.Minute, func(ctx context.Context) (bool, string, error) {
		got, err := apis.Get(ctx, MetricsAPIService, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conds {
			c, _ := c.(map[string]any)
			if c["type"] == "Available" {
				return c["status"] == "True", fmt.Sprintf("APIService %s Available=%v: %v %v", MetricsAPIService, c["status"], c["reason"], c["message"]), nil
			}
		}
		return false, "APIService " + MetricsAPIService + " has no Available condition yet", nil
	})
}

// Stop unregisters the APIService (so discovery stops naming a group
// nobody serves) and closes the server.
func (m *MetricsServer) Stop() error {
	var errs []error
	if dyn, err := dynamic.NewForConfig(m.c.RESTConfig()); err != nil {
		errs = append(errs, err)
	} else if err := dyn.Resource(apiServiceGVR).Delete(context.Background(), MetricsAPIService, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, err)
	}
	if err := m.c.Client().CoreV1().Services(metricsNamespace).Delete(context.Background(), metricsServiceName, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, err)
	}
	if m.srv != nil {
		errs = append(errs, m.srv.Close())
	} else if m.l != nil {
		errs = append(errs, m.l.Close())
	}
	return errors.Join(errs...)
}

// SetPodUsage sets the memory working set, per container, that the
// server reports for the pod (as metrics-server would after scraping its
// kubelet); nil removes the pod, as when metrics-server has no reading.
// The pod is reported only while it exists, with its current labels.
func (m *MetricsServer) SetPodUsage(namespace, pod string, memory map[string]int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if memory == nil {
		delete(m.usage, namespace+"/"+pod)
		return
	}
	m.usage[namespace+"/"+pod] = maps.Clone(memory)
}

// WaitRunningPod waits for a pod of the Job to run (the pod driver starts
// it) and returns its name: the pod a usage is set for.
func WaitRunningPod(ctx context.Context, client kubernetes.Interface, namespace, job string) (string, error) {
	var name string
	err := Eventually(ctx, JobTimeout, func(ctx context.Context) (bool, string, error) {
		pods, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=" + job})
		if err != nil {
			return false, err.Error(), nil
		}
		for _, p := range pods.Items {
			if p.Status.Phase == v1.PodRunning {
				name = p.Name
				return true, "", nil
			}
		}
		return false, fmt.Sprintf("no running pod of Job %s/%s among %d", namespace, job, len(pods.Items)), nil
	})
	return name, err
}

// Requests returns the requests answered so far.
func (m *MetricsServer) Requests() []MetricsRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.requests)
}

// authenticated lets through only requests that carry a front-proxy
// client certificate (verified by the TLS handshake against the
// front-proxy CA) with an allowed name and a user header: requests
// kube-apiserver authenticated and forwarded.
func (m *MetricsServer) authenticated(allowed []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
			m.status(w, r, http.StatusUnauthorized, "no front-proxy client certificate: only kube-apiserver's aggregator may call this server")
			return
		}
		if cn := r.TLS.VerifiedChains[0][0].Subject.CommonName; len(allowed) > 0 && !slices.Contains(allowed, cn) {
			m.status(w, r, http.StatusUnauthorized, fmt.Sprintf("client certificate name %q is not an allowed front-proxy name %v", cn, allowed))
			return
		}
		if m.user(r) == "" {
			m.status(w, r, http.StatusUnauthorized, "no user header from the front proxy")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (m *MetricsServer) user(r *http.Request) string {
	for _, h := range m.userHdrs {
		if u := r.Header.Get(h); u != "" {
			return u
		}
	}
	return ""
}

// The wire types of metrics.k8s.io/v1beta1, as metrics-server writes them
// (k8s.io/metrics/pkg/apis/metrics/v1beta1), declared here so that the
// JSON is spelled out rather than produced by the client's own types.
type podMetrics struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Timestamp         metav1.Time        `json:"timestamp"`
	Window            metav1.Duration    `json:"window"`
	Containers        []containerMetrics `json:"containers"`
}

type containerMetrics struct {
	Name  string          `json:"name"`
	Usage v1.ResourceList `json:"usage"`
}

type podMetricsList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`
	Items           []podMetrics `json:"items"`
}

// serve routes the paths metrics-server serves for pods.
func (m *MetricsServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		m.status(w, r, http.StatusMethodNotAllowed, "only get and list")
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.URL.Path == "/apis":
		m.json(w, r, http.StatusOK, metav1.APIGroupList{
			TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"},
			Groups: []metav1.APIGroup{{
				Name:             "metrics.k8s.io",
				Versions:         []metav1.GroupVersionForDiscovery{{GroupVersion: metricsGroupVersion, Version: "v1beta1"}},
				PreferredVersion: metav1.GroupVersionForDiscovery{GroupVersion: metricsGroupVersion, Version: "v1beta1"},
			}},
		})
	case r.URL.Path == "/apis/"+metricsGroupVersion:
		// The document the aggregator's availability check and its
		// discovery merge read.
		m.json(w, r, http.StatusOK, metav1.APIResourceList{
			TypeMeta:     metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
			GroupVersion: metricsGroupVersion,
			APIResources: []metav1.APIResource{
				{Name: "nodes", Kind: "NodeMetrics", Verbs: metav1.Verbs{"get", "list"}},
				{Name: "pods", Namespaced: true, Kind: "PodMetrics", Verbs: metav1.Verbs{"get", "list"}},
			},
		})
	case len(parts) == 4 && parts[3] == "pods" && strings.HasPrefix(r.URL.Path, "/apis/"+metricsGroupVersion+"/"):
		m.list(w, r, metav1.NamespaceAll)
	case len(parts) == 6 && parts[3] == "namespaces" && parts[5] == "pods":
		m.list(w, r, parts[4])
	case len(parts) == 7 && parts[3] == "namespaces" && parts[5] == "pods":
		m.get(w, r, parts[4], parts[6])
	default:
		m.status(w, r, http.StatusNotFound, "the server could not find the requested resource")
	}
}

func (m *MetricsServer) list(w http.ResponseWriter, r *http.Request, namespace string) {
	sel, err := labels.Parse(r.URL.Query().Get("labelSelector"))
	if err != nil {
		m.status(w, r, http.StatusBadRequest, err.Error())
		return
	}
	items, err := m.items(r.Context(), namespace, "", sel)
	if err != nil {
		m.status(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	m.json(w, r, http.StatusOK, podMetricsList{
		TypeMeta: metav1.TypeMeta{Kind: "PodMetricsList", APIVersion: metricsGroupVersion},
		ListMeta: metav1.ListMeta{SelfLink: r.URL.Path},
		Items:    items,
	})
}

func (m *MetricsServer) get(w http.ResponseWriter, r *http.Request, namespace, name string) {
	items, err := m.items(r.Context(), namespace, name, labels.Everything())
	switch {
	case err != nil:
		m.status(w, r, http.StatusInternalServerError, err.Error())
	case len(items) == 0:
		m.status(w, r, http.StatusNotFound, fmt.Sprintf("podmetrics.metrics.k8s.io %q not found", name))
	default:
		m.json(w, r, http.StatusOK, items[0])
	}
}

// items are the PodMetrics of the pods with a usage set, in namespace
// ("" all), named name ("" any), whose labels match sel: the pods are
// read from the API server, as metrics-server reads them from its pod
// informer, so that their labels are the real ones.
func (m *MetricsServer) items(ctx context.Context, namespace, name string, sel labels.Selector) ([]podMetrics, error) {
	m.mu.Lock()
	usage := maps.Clone(m.usage) // the inner maps are replaced, never changed
	m.mu.Unlock()
	namespaces := map[string]bool{}
	for key := range usage {
		ns, _, _ := strings.Cut(key, "/")
		if namespace == metav1.NamespaceAll || ns == namespace {
			namespaces[ns] = true
		}
	}
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	var out []podMetrics
	for _, ns := range slices.Sorted(maps.Keys(namespaces)) {
		pods, err := m.c.Client().CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			return nil, err
		}
		for _, p := range pods.Items {
			mem, ok := usage[p.Namespace+"/"+p.Name]
			if !ok || (name != "" && p.Name != name) {
				continue
			}
			pm := podMetrics{
				TypeMeta:   metav1.TypeMeta{Kind: "PodMetrics", APIVersion: metricsGroupVersion},
				ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, Labels: p.Labels, CreationTimestamp: now},
				Timestamp:  now,
				Window:     metav1.Duration{Duration: metricsWindow},
			}
			for _, c := range slices.Sorted(maps.Keys(mem)) {
				pm.Containers = append(pm.Containers, containerMetrics{Name: c, Usage: v1.ResourceList{
					v1.ResourceCPU:    resource.MustParse("1m"),
					v1.ResourceMemory: *resource.NewQuantity(mem[c], resource.BinarySI),
				}})
			}
			out = append(out, pm)
		}
	}
	return out, nil
}

func (m *MetricsServer) json(w http.ResponseWriter, r *http.Request, code int, v any) {
	m.record(r, code)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// status answers with a metav1.Status, as an API server does.
func (m *MetricsServer) status(w http.ResponseWriter, r *http.Request, code int, msg string) {
	reason := metav1.StatusReasonUnknown
	switch code {
	case http.StatusNotFound:
		reason = metav1.StatusReasonNotFound
	case http.StatusUnauthorized:
		reason = metav1.StatusReasonUnauthorized
	case http.StatusBadRequest:
		reason = metav1.StatusReasonBadRequest
	}
	m.json(w, r, code, metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Message: msg, Reason: reason, Code: int32(code),
	})
}

func (m *MetricsServer) record(r *http.Request, code int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	// Bounded: a long suite polls every few seconds.
	if len(m.requests) >= 10000 {
		m.requests = m.requests[1:]
	}
	m.requests = append(m.requests, MetricsRequest{
		Path: r.URL.Path, Query: r.URL.RawQuery, User: m.user(r), UserAgent: r.UserAgent(), Status: code,
	})
}
