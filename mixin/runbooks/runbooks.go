// Package runbooks embeds the runbook of every alert of the mixin, one
// Markdown file per alert named <AlertName>.md, so that the exporter serves
// the runbooks of its own version at /runbooks/<AlertName>.
//
// Commands in the runbooks use the literal placeholders <namespace>,
// <job-name> and <cronjob-name>, which the exporter fills in from the
// query parameters namespace, job_name and cronjob of the runbook_url.
//
// The package has no dependencies: it is imported by the exporter binary.
package runbooks

import "embed"

// FS holds the runbooks, <AlertName>.md at its root.
//
//go:embed *.md
var FS embed.FS
