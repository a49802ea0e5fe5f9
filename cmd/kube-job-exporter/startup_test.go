package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigErrorsExitAtOnce: the exporter waits for an API server that
// does not answer, but not for a configuration no retry fixes: a
// kubeconfig it cannot parse, a context it does not have, a negative
// --kube.connect-timeout exit 1 at once, with one clear line.
func TestConfigErrorsExitAtOnce(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(garbage, []byte("clusters: [this is not: a kubeconfig\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	kubeconfig := unreachableKubeconfig(t)
	for _, tt := range []struct {
		name string
		args []string
		says string
	}{
		{"unparseable kubeconfig", []string{"--kube.config", garbage}, "cannot load Kubernetes client configuration"},
		{"unknown context", []string{"--kube.config", kubeconfig, "--kube.context=elsewhere"}, "cannot load Kubernetes client configuration"},
		{"negative connect timeout", []string{"--kube.config", kubeconfig, "--kube.connect-timeout=-1s"}, "--kube.connect-timeout must be >= 0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Were it to wait for the API server (nothing listens at
			// kubeconfig's), run would not return: no timeout is set.
			var stderr bytes.Buffer
			code := run(append(tt.args, "--web.listen-address=127.0.0.1:0"), io.Discard, &stderr)
			if code != 1 || !strings.Contains(stderr.String(), tt.says) {
				t.Errorf("exit %d, stderr:\n%s\nwant 1 saying %q", code, stderr.String(), tt.says)
			}
		})
	}
}
