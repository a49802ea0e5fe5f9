package main

import "io/fs"

// runbookFiles returns the runbooks embedded in the binary.
func runbookFiles() fs.FS { return nil }
