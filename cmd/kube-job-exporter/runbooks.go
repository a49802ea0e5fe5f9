package main

import (
	"io/fs"

	"github.com/kube-job-exporter/kube-job-exporter/mixin/runbooks"
)

// runbookFiles returns the runbooks embedded in the binary, so /runbooks
// always matches the alerts of this version.
func runbookFiles() fs.FS { return runbooks.FS }
