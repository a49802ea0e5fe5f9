package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
	"github.com/kube-job-exporter/kube-job-exporter/job"
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

// pluginArgs are the plugin's flags and argument: the ones a kubectl user
// expects (-n/--namespace, --context, --kubeconfig) and diagnose's own.
type pluginArgs struct {
	kubeconfig, context  string
	diag                 *diagnoseCommand
	backoff              backoffFlags
	startTimeout, missed *time.Duration
}

// parsePluginArgs maps the arguments kubectl passes (everything after
// `kubectl job-diagnose`) onto diagnose. The namespace is left empty when
// not given: resolveNamespace reads it from the kubeconfig.
func parsePluginArgs(args []string, stdout, stderr io.Writer) (*pluginArgs, error) {
	app := kingpin.New(pluginCommand, diagnoseHelp+" Without -n, the namespace of the kubeconfig's context, as for kubectl.")
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	app.HelpFlag.Short('h')
	app.Version(version.Print(pluginCommand))
	p := &pluginArgs{}
	app.Flag("kubeconfig", "Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config), as for kubectl.").StringVar(&p.kubeconfig)
	app.Flag("context", "The kubeconfig context to use (default: its current context), as for kubectl.").StringVar(&p.context)
	ns := app.Flag("namespace", "Namespace of the Job (default: the context's namespace, else default).").Short('n').String()
	p.diag = addDiagnoseFlags(app, ns)
	p.diag.prog = pluginCommand
	p.startTimeout = app.Flag("pods.start-timeout", "How long a pod may stay Pending in a normal start before it counts as stuck.").Default(job.DefaultStartTimeout.String()).Duration()
	p.missed = app.Flag("cronjob.missed-grace", "How late a CronJob's run may start before it is called missed.").Default(diagnose.DefaultMissedGrace.String()).Duration()
	p.backoff.add(app)
	if _, err := app.Parse(args); err != nil {
		return nil, err
	}
	return p, nil
}

// resolveNamespace fills in the namespace when -n was not given: the one
// of the kubeconfig context in use (--context, else the current one), else
// "default", or in a pod without a kubeconfig the pod's own, exactly as
// kubectl chooses it (client-go's clientcmd, which kubectl uses too).
func (p *pluginArgs) resolveNamespace() error {
	if *p.diag.namespace != "" {
		return nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = p.kubeconfig
	ns, _, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: p.context}).Namespace()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return fmt.Errorf("no kubeconfig found: pass --kubeconfig or set KUBECONFIG")
		}
		return fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
	}
	*p.diag.namespace = ns
	return nil
}

// runPlugin is run for the kubectl plugin; same exit statuses as
// diagnose, and 1 for a usage error (2 would read as "the Job is failing").
func runPlugin(args []string, stdout, stderr io.Writer) int {
	p, err := parsePluginArgs(args, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v (see --help)\n", pluginCommand, err)
		return 1
	}
	if err := p.resolveNamespace(); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", pluginCommand, err)
		return 1
	}
	return p.diag.run(p.kubeconfig, p.context, &p.backoff, *p.startTimeout, *p.missed, stdout, stderr)
}
