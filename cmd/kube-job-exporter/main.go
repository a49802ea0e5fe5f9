// Command kube-job-exporter exports why Kubernetes Jobs fail, how close they
// are to giving up and when they retry next, as Prometheus metrics.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"
)

func main() {
	// Under the kubectl plugin's name (a link made by make install-plugin),
	// the binary is `kubectl job-diagnose`: see plugin.go.
	if isPlugin(os.Args[0]) {
		os.Exit(runPlugin(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// newApp is the command tree: serve (the default) and diagnose, each with
// its own flags (options.go).
func newApp() (*kingpin.Application, *serveCommand, *diagnoseCommand) {
	app := kingpin.New("kube-job-exporter", "Prometheus exporter explaining why Kubernetes Jobs fail.")
	serve := addServeCommand(app)
	diag := addDiagnoseCommand(app)
	app.Version(version.Print("kube-job-exporter"))
	app.HelpFlag.Short('h')
	app.UsageTemplate(kingpin.DefaultUsageTemplate + defaultCommandFlags)
	return app, serve, diag
}

// defaultCommandFlags ends the help without a command with the flags of
// the default command, serve: `kube-job-exporter --help` lists the flags
// `kube-job-exporter --flag…` takes.
const defaultCommandFlags = `{{if not .Context.SelectedCommand -}}
{{range .App.Commands}}{{if .Default -}}
Flags of {{.Name}}, the default command:
{{.Flags|FlagsToTwoColumns|FormatTwoColumns}}
{{end}}{{end -}}
{{end -}}
`

// run is main with its arguments and output injected, for tests; it
// returns the exit code: serve's or diagnose's, 2 on unparsable flags.
func run(args []string, stdout, stderr io.Writer) int {
	app, serve, diag := newApp()
	command, err := app.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "kube-job-exporter: %v (see --help)\n", err)
		return 2
	}
	if command == serve.cmd.FullCommand() {
		return serve.run(stderr)
	}
	return diag.run(stdout, stderr)
}
