// Package kube is the exporter's Kubernetes client: the few calls it makes
// (Client, on a REST client that knows only the API groups it reads), built
// from the exporter's flags, and a check, before anything else starts,
// that the API server answers.
package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

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
	// initial paging of a large cluster for no benefit.
	cfg.QPS, cfg.Burst = 20, 40
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return Clients{}, fmt.Errorf("building client for %s: %w", cfg.Host, err)
	}
	client, err := NewClient(cfg, httpClient)
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
			return nil, fmt.Errorf("not running in a cluster and no kubeconfig found: pass --kubeconfig or set KUBECONFIG")
		}
		return nil, fmt.Errorf("kubeconfig %q: %w", kubeconfig, err)
	}
	return cfg, nil
}

// CheckReachable asks the API server for its version, retrying until
// timeout, so a wrong address or certificate fails start-up with one clear
// error instead of an exporter that serves nothing. It returns the version
// the server reports.
func CheckReachable(ctx context.Context, client Client, timeout time.Duration) (version.Info, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		raw, err := client.Version(ctx)
		if last = err; err == nil {
			var info version.Info
			if err := json.Unmarshal(raw, &info); err != nil {
				return version.Info{}, fmt.Errorf("reading the API server's /version: %w", err)
			}
			return info, nil
		}
		select {
		case <-ctx.Done():
			return version.Info{}, fmt.Errorf("no answer within %s: %w", timeout, last)
		case <-time.After(time.Second):
		}
	}
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
