// Package kube is the exporter's Kubernetes client: the few calls it makes
// (Client, on a REST client that knows only the API groups it reads), built
// from the exporter's flags, and the wait for the API server's first
// answer (WaitReachable; CheckReachable for commands that give up).
package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	metricsv1beta1 "k8s.io/metrics/pkg/client/clientset/versioned/typed/metrics/v1beta1"
)

// userAgent identifies the exporter in API server audit logs.
const userAgent = "kube-job-exporter"

// Clients are the API clients the exporter uses.
type Clients struct {
	Kubernetes Client
	// Metrics reads metrics.k8s.io, used only if enabled: its typed
	// client, not the metrics clientset, whose discovery client would
	// link client-go's scheme of every API group.
	Metrics metricsv1beta1.PodMetricsesGetter
	Host    string
}

// ErrNoKubeconfig says the exporter does not run in a cluster and no
// kubeconfig was given or found. Callers say how to give one (their flag's
// name).
var ErrNoKubeconfig = errors.New("not running in a cluster and no kubeconfig found")

// NewClients loads the client configuration: the kubeconfig file given,
// else the in-cluster service account, else the standard loading rules
// ($KUBECONFIG, ~/.kube/config).
func NewClients(kubeconfig, context string) (Clients, error) {
	cfg, err := restConfig(kubeconfig, context)
	if err != nil {
		return Clients{}, err
	}
	cfg.UserAgent = userAgent
	// Informers list once and then watch; the defaults (5 QPS) slow the
	// initial paging of a large cluster for no benefit. Pages and
	// permission checks have budgets of their own (DefaultBudgets), so
	// that neither a reader of pages nor many namespaces' checks slow the
	// watches, nor the other way round.
	watches := DefaultBudgets[BudgetWatches]
	cfg.QPS, cfg.Burst = watches.QPS, watches.Burst
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return Clients{}, fmt.Errorf("building client for %s: %w", cfg.Host, err)
	}
	client, err := NewBudgetedClient(cfg, httpClient, DefaultBudgets)
	if err != nil {
		return Clients{}, fmt.Errorf("building client for %s: %w", cfg.Host, err)
	}
	// Its own rate limiter (from cfg's QPS), as before: the pod metrics
	// poll does not take from the watches' budget.
	metrics, err := metricsv1beta1.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return Clients{}, fmt.Errorf("building metrics client for %s: %w", cfg.Host, err)
	}
	return Clients{Kubernetes: client, Metrics: metrics, Host: cfg.Host}, nil
}

func restConfig(kubeconfig, kubeContext string) (*rest.Config, error) {
	if kubeconfig == "" && kubeContext == "" {
		if cfg, err := rest.InClusterConfig(); err == nil {
			return cfg, nil
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
	if err != nil {
		if kubeconfig == "" && clientcmd.IsEmptyConfig(err) {
			return nil, ErrNoKubeconfig
		}
		return nil, fmt.Errorf("kubeconfig %q: %w", kubeconfig, err)
	}
	return cfg, nil
}

// ConnectBackoff is how long WaitReachable waits after each failed
// attempt: 0.5s doubling to at most 10s, each with up to a tenth more at
// random so that replicas started together do not ask in step. A GET of
// /version every 10s costs the API server nothing, and it bounds how long
// after the API server is back the exporter starts its watches (client-go's
// reflectors, which take over then, cap their own retries at 30s).
var ConnectBackoff = wait.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.1,
	Steps: math.MaxInt32, Cap: 10 * time.Second}

// attemptTimeout bounds one request for /version: an address that drops
// packets would otherwise hold an attempt for the dialer's 30s, and the
// next attempt's log and metrics with it.
const attemptTimeout = 10 * time.Second

// WaitReachable asks the API server for its version until it answers,
// waiting between attempts as backoff says, and returns the version the
// server reports. Each failed attempt goes to failed (nil: not reported):
// a refused connection, an error status, or a /version that is not one (a
// proxy's page: the next attempt may reach the API server). after makes
// the waits (time.After; tests pass their own clock). It fails only when
// ctx is done, with the last attempt's error.
func WaitReachable(ctx context.Context, client Client, backoff wait.Backoff, failed func(error), after func(time.Duration) <-chan time.Time) (version.Info, error) {
	next := backoff.DelayFunc()
	var last error
	for {
		info, err := readVersion(ctx, client)
		if err == nil {
			return info, nil
		}
		if ctx.Err() != nil {
			// ctx cut this attempt short: the server's last word, if
			// any, is the previous attempt's.
			if last == nil {
				last = err
			}
			return version.Info{}, last
		}
		last = err
		if failed != nil {
			failed(err)
		}
		select {
		case <-ctx.Done():
			return version.Info{}, last
		case <-after(next()):
		}
	}
}

// readVersion is one attempt: GET /version, decoded.
func readVersion(ctx context.Context, client Client) (version.Info, error) {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	raw, err := client.Version(ctx)
	if err != nil {
		return version.Info{}, err
	}
	var info version.Info
	if err := json.Unmarshal(raw, &info); err != nil {
		return version.Info{}, fmt.Errorf("reading the API server's /version: %w", err)
	}
	return info, nil
}

// CheckReachable is WaitReachable for at most timeout, asking every second:
// for a command (diagnose), which must answer or give up, not wait.
func CheckReachable(ctx context.Context, client Client, timeout time.Duration) (version.Info, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	info, err := WaitReachable(ctx, client, wait.Backoff{Duration: time.Second}, nil, time.After)
	if err != nil {
		return version.Info{}, fmt.Errorf("no answer within %s: %w", timeout, err)
	}
	return info, nil
}

// MinorVersion reads the Kubernetes minor version from /version: "1" and
// "28" (or "28+", as some providers write it) give 28. ok is false for
// anything else: a server that hides or invents its version.
func MinorVersion(info version.Info) (int, bool) {
	if info.Major != "1" {
		return 0, false
	}
	minor, err := strconv.Atoi(strings.TrimRight(info.Minor, "+"))
	if err != nil || minor < 0 {
		return 0, false
	}
	return minor, true
}
