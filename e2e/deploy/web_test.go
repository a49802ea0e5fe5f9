package deploy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// ca is a test certificate authority.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, name string) *ca {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &ca{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue signs a leaf certificate: a server certificate for 127.0.0.1, or a
// client certificate.
func (c *ca) issue(t *testing.T, name string, server bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.DNSNames = []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func (c *ca) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.cert)
	return p
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func httpsClient(roots *x509.CertPool, certs ...tls.Certificate) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs, MinVersion: tls.VersionTLS12},
	}}
}

func basicAuth(user, pass string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(user, pass) }
}

// protectedPaths are what a scrape, a runbook link from an alert and a
// browser reach: all behind the web config.
var protectedPaths = []string{
	"/metrics",
	"/runbooks/KubeJobBackoffLimitExceeded?namespace=default&job_name=x",
	"/runbooks/",
	"/",
	"/healthz",
	"/readyz",
}

// waitServing waits until the exporter answers over TLS with client.
func waitServing(t *testing.T, p *proc, client *http.Client, auth ...func(*http.Request)) {
	t.Helper()
	err := harness.Eventually(context.Background(), time.Minute, func(ctx context.Context) (bool, string, error) {
		code, body, err := get(ctx, client, "https://"+p.Addr()+"/readyz", auth...)
		if err != nil {
			return false, err.Error(), nil
		}
		return code == http.StatusOK, fmt.Sprintf("/readyz: %d %s", code, body), nil
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, tail(p.Logs(), 3000))
	}
}

// --web.config.file: TLS with basic auth, and mutual TLS, with the real
// binary; every path is protected, runbooks included.
func TestWebConfig(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	serverCA, clientCA, otherCA := newCA(t, "server-ca"), newCA(t, "client-ca"), newCA(t, "other-ca")
	srvCert, srvKey := serverCA.issue(t, "kube-job-exporter", true)
	certFile, keyFile := writeFile(t, dir, "tls.crt", srvCert), writeFile(t, dir, "tls.key", srvKey)
	clientCAFile := writeFile(t, dir, "client-ca.crt", clientCA.pem)
	goodPEM, goodKey := clientCA.issue(t, "prometheus", false)
	badPEM, badKey := otherCA.issue(t, "intruder", false)
	goodClient, _ := tls.X509KeyPair(goodPEM, goodKey)
	badClient, _ := tls.X509KeyPair(badPEM, badKey)

	const user, password = "prometheus", "s3cret-scrape-password"
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("TLS and basic auth", func(t *testing.T) {
		t.Parallel()
		cfg := writeFile(t, dir, "web-basic.yml", []byte(fmt.Sprintf(
			"tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  %s: %s\n", certFile, keyFile, user, hash)))
		healthAddr := freeLoopbackAddr(t)
		p := startProc(t, cluster.Kubeconfig(), "--web.config.file="+cfg, "--web.health-listen-address="+healthAddr)
		trusted := httpsClient(serverCA.pool())
		waitServing(t, p, trusted, basicAuth(user, password))
		base := "https://" + p.Addr()

		for _, path := range protectedPaths {
			for name, auth := range map[string][]func(*http.Request){
				"no credentials":  nil,
				"wrong password":  {basicAuth(user, "wrong")},
				"unknown user":    {basicAuth("admin", password)},
				"the bcrypt hash": {basicAuth(user, string(hash))},
			} {
				code, _, err := get(ctx, trusted, base+path, auth...)
				if err != nil || code != http.StatusUnauthorized {
					t.Errorf("GET %s with %s: %d %v, want 401", path, name, code, err)
				}
			}
			code, body, err := get(ctx, trusted, base+path, basicAuth(user, password))
			if err != nil || code != http.StatusOK {
				t.Errorf("GET %s with the right credentials: %d %v, want 200", path, code, err)
			}
			if strings.HasPrefix(path, "/runbooks/KubeJob") && !strings.Contains(body, "BackoffLimitExceeded") {
				t.Errorf("GET %s: not the runbook:\n%.300s", path, body)
			}
		}
		// The scrape parses.
		_, body, _ := get(ctx, trusted, base+"/metrics", basicAuth(user, password))
		if m, err := harness.ParseMetrics(strings.NewReader(body)); err != nil || !m.Has("kubejob_exporter_build_info", nil) {
			t.Errorf("authenticated scrape: %v", err)
		}

		// A client that does not trust the server's certificate refuses it.
		for name, roots := range map[string]*x509.CertPool{"system roots": nil, "another CA": otherCA.pool()} {
			_, _, err := get(ctx, httpsClient(roots), base+"/metrics", basicAuth(user, password))
			var unknown x509.UnknownAuthorityError
			if !errors.As(err, &unknown) {
				t.Errorf("scrape trusting %s: err %v, want an unknown-authority certificate error", name, err)
			}
		}
		// Plain HTTP is not served.
		code, _, err := get(ctx, plainHTTP, "http://"+p.Addr()+"/metrics")
		if err == nil && code == http.StatusOK {
			t.Errorf("plain HTTP scrape served with TLS on")
		}
		if strings.Contains(p.Logs(), password) {
			t.Errorf("the exporter logged the password")
		}
		// The health-only listener answers the kubelet's probes without
		// credentials, and serves nothing else.
		for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 404, "/runbooks/KubeJobOOMKilled": 404, "/": 404} {
			if code, _, err := get(ctx, plainHTTP, "http://"+healthAddr+path); err != nil || code != want {
				t.Errorf("health listener GET %s: %d %v, want %d", path, code, err, want)
			}
		}
	})

	t.Run("mutual TLS", func(t *testing.T) {
		t.Parallel()
		cfg := writeFile(t, dir, "web-mtls.yml", []byte(fmt.Sprintf(
			"tls_server_config:\n  cert_file: %s\n  key_file: %s\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: %s\n",
			certFile, keyFile, clientCAFile)))
		p := startProc(t, cluster.Kubeconfig(), "--web.config.file="+cfg)
		good := httpsClient(serverCA.pool(), goodClient)
		waitServing(t, p, good)
		base := "https://" + p.Addr()
		for _, path := range protectedPaths {
			if code, _, err := get(ctx, good, base+path); err != nil || code != http.StatusOK {
				t.Errorf("GET %s with a client certificate of the client CA: %d %v, want 200", path, code, err)
			}
			for name, c := range map[string]*http.Client{
				"no client certificate":               httpsClient(serverCA.pool()),
				"a client certificate of another CA":  httpsClient(serverCA.pool(), badClient),
				"a server certificate as client cert": httpsClient(serverCA.pool(), mustPair(t, srvCert, srvKey)),
			} {
				code, _, err := get(ctx, c, base+path)
				if err == nil {
					t.Errorf("GET %s with %s: served (%d), want the TLS handshake refused", path, name, code)
				}
			}
		}
	})

	// Slow-loris: a client that never finishes its request headers is
	// disconnected (ReadHeaderTimeout), it does not hold the connection.
	t.Run("slow client disconnected", func(t *testing.T) {
		t.Parallel()
		p := startProc(t, cluster.Kubeconfig())
		conn, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		if _, err := io.WriteString(conn, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(time.Minute))
		_, err = io.ReadAll(conn) // returns when the server closes
		if elapsed := time.Since(start); err != nil || elapsed > 30*time.Second {
			t.Errorf("half-sent request held the connection %s (err %v); want it closed after the header timeout", elapsed.Round(time.Second), err)
		} else {
			t.Logf("half-sent request closed by the server after %s", elapsed.Round(100*time.Millisecond))
		}
	})
}

func mustPair(t *testing.T, certPEM, keyPEM []byte) tls.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// freeLoopbackAddr returns a loopback address with a port free right now.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
