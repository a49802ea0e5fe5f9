package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"
	"k8s.io/client-go/tools/clientcmd"
)

// PluginName is the name under which the binary is the kubectl plugin
// `kubectl job-diagnose`: kubectl looks up `kubectl job-diagnose` as an
// executable kubectl-job_diagnose on $PATH (a dash inside a command word
// becomes an underscore) and execs it with the remaining arguments, the
// plugin's path as argv[0]. `make install-plugin` installs a link of that
// name to the binary.
//
// One hyphenated word, as kubectl's plugins are usually named (view-secret,
// node-shell), rather than `kubectl jobs diagnose`: that reads as a
// command group `kubectl jobs` that does not exist (`kubectl jobs` alone
// would be an unknown command), and a binary named kubectl-jobs would
// catch every `kubectl jobs …`, a generic word krew's naming guide asks
// plugins not to claim.
const PluginName = "kubectl-job_diagnose"

// pluginCommand is what a kubectl user types, for messages and --help.
const pluginCommand = "kubectl job-diagnose"

// isPlugin tells whether argv0 runs the binary as the kubectl plugin.
func isPlugin(argv0 string) bool {
	// kubectl.exe finds kubectl-job_diagnose.exe on Windows.
	return strings.TrimSuffix(filepath.Base(argv0), ".exe") == PluginName
}

// newPluginApp is the kubectl plugin's command line: diagnose's flags,
// the connection's named as kubectl names them (--kubeconfig, --context),
// with the namespace left empty when -n is not given: resolveNamespace
// reads it from the kubeconfig, as kubectl does.
func newPluginApp(stdout, stderr io.Writer) (*kingpin.Application, *diagnoseCommand) {
	app := kingpin.New(pluginCommand, diagnoseHelp+" Without -n, the namespace of the kubeconfig's context, as for kubectl.")
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	app.HelpFlag.Short('h')
	app.Version(version.Print(pluginCommand))
	c := &diagnoseCommand{prog: pluginCommand}
	c.register(app, true)
	return app, c
}

// parsePluginArgs maps the arguments kubectl passes (everything after
// `kubectl job-diagnose`) onto diagnose.
func parsePluginArgs(args []string, stdout, stderr io.Writer) (*diagnoseCommand, error) {
	app, c := newPluginApp(stdout, stderr)
	if _, err := app.Parse(args); err != nil {
		return nil, err
	}
	return c, nil
}

// resolveNamespace fills in the namespace when -n was not given: the one
// of the kubeconfig context in use (--context, else the current one), else
// "default", or in a pod without a kubeconfig the pod's own, exactly as
// kubectl chooses it (client-go's clientcmd, which kubectl uses too).
func (c *diagnoseCommand) resolveNamespace() error {
	if c.namespace != "" {
		return nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = c.kube.config
	ns, _, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: c.kube.context}).Namespace()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return c.kube.noKubeconfig()
		}
		return fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
	}
	c.namespace = ns
	return nil
}

// runPlugin is run for the kubectl plugin; same exit statuses as
// diagnose, and 1 for a usage error (2 would read as "the Job is failing").
func runPlugin(args []string, stdout, stderr io.Writer) int {
	c, err := parsePluginArgs(args, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v (see --help)\n", pluginCommand, err)
		return 1
	}
	if err := c.resolveNamespace(); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", pluginCommand, err)
		return 1
	}
	return c.run(stdout, stderr)
}
