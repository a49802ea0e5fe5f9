package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/exporter"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
)

// kubeOptions say which API server to talk to, as whom: every command's.
type kubeOptions struct {
	config, context string
	// configFlag is the name --kube.config was registered under.
	configFlag string
}

// register defines --kube.config and --kube.context; asKubectl defines them
// under the names kubectl gives them, --kubeconfig and --context, for the
// kubectl plugin, whose users type kubectl's.
func (o *kubeOptions) register(s flagSet, asKubectl bool) {
	config, context := "kube.config", "kube.context"
	if asKubectl {
		config, context = "kubeconfig", "context"
	}
	o.configFlag = config
	s.Flag(config, "Path to a kubeconfig file. Without it: the in-cluster config, else $KUBECONFIG or ~/.kube/config.").StringVar(&o.config)
	s.Flag(context, "Context of the kubeconfig to use (default: its current context).").StringVar(&o.context)
}

// clients are the API clients of the kubeconfig and context chosen.
func (o *kubeOptions) clients() (kube.Clients, error) {
	c, err := kube.NewClients(o.config, o.context)
	if errors.Is(err, kube.ErrNoKubeconfig) {
		err = o.noKubeconfig()
	}
	return c, err
}

// noKubeconfig says how to give a kubeconfig, in this command's terms.
func (o *kubeOptions) noKubeconfig() error {
	return fmt.Errorf("%w: pass --%s or set KUBECONFIG", kube.ErrNoKubeconfig, o.configFlag)
}

// connectionOptions say how the exporter keeps its connection to the API
// server: serve's.
type connectionOptions struct {
	connectTimeout, permissionCheckInterval time.Duration
}

func (o *connectionOptions) register(s flagSet) {
	s.Flag("kube.connect-timeout", "How long to wait at start-up for the API server's first answer before exiting 1. 0 waits as long as it takes, serving /metrics, /healthz ok and a /readyz that says why it is not ready: a restart does not bring the API server back. Set it only where a restart helps (a CA bundle read only at start).").
		Default("0s").DurationVar(&o.connectTimeout)
	s.Flag("kube.permission-check-interval", "How often to ask RBAC (one SelfSubjectRulesReview per namespace watched; SelfSubjectAccessReviews cluster-wide, where rules reviews cannot answer, and to confirm a denial) whether the exporter may still list and watch Jobs and Pods: an open watch outlives a deleted RoleBinding. 0 disables.").
		Default("1m").DurationVar(&o.permissionCheckInterval)
}

func (o *connectionOptions) validate() error {
	if o.connectTimeout < 0 {
		return fmt.Errorf("--kube.connect-timeout must be >= 0 (0 waits as long as it takes), got %s", o.connectTimeout)
	}
	return nil
}

func (o *connectionOptions) apply(cfg *exporter.Config) {
	cfg.ConnectTimeout = o.connectTimeout
	cfg.PermissionCheckInterval = o.permissionCheckInterval
}
