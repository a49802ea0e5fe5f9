// Command mixincopies writes the copies of the mixin's generated files that
// deploy/ and the Helm chart ship (copies.txt), or with -check changes
// nothing and fails when a copy is stale. It runs in the repository root:
// `make generate` runs it after `make mixin`, `make generate-check` with
// -check. It is in the exporter's module so that regenerating needs neither
// the e2e module nor k8s.io/kubernetes.
package main

import (
	_ "embed"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
)

//go:embed copies.txt
var copiesTxt string

func main() {
	check := flag.Bool("check", false, "change nothing; fail if a copy is stale, missing or not listed")
	flag.Parse()
	if err := run(*check); err != nil {
		fmt.Fprintln(os.Stderr, "mixincopies:", err)
		os.Exit(1)
	}
}

func run(check bool) error {
	if _, err := os.Stat("mixin/build.jsonnet"); err != nil {
		return fmt.Errorf("run it in the repository root (make generate): %w", err)
	}
	copies, err := parse(copiesTxt)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "mixincopies")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	problems, err := sync(".", copies, mixinBuild(tmp), !check)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, p)
		}
		if check {
			return fmt.Errorf("%d generated copies out of date: run `make generate` and commit the result", len(problems))
		}
		return fmt.Errorf("%d problems in internal/mixincopies/copies.txt", len(problems))
	}
	return nil
}

// mixinBuild returns a generator that builds the mixin with `make
// mixin-build` (mixin/mixin.mk, the one recipe for it) into a directory
// under tmp, once per exporterURL.
func mixinBuild(tmp string) generator {
	dirs := map[string]string{}
	return func(exporterURL string) (string, error) {
		if d, ok := dirs[exporterURL]; ok {
			return d, nil
		}
		d, err := os.MkdirTemp(tmp, "mixin")
		if err != nil {
			return "", err
		}
		cmd := exec.Command("make", "--no-print-directory", "mixin-build", "OUT="+d, "EXPORTER_URL="+exporterURL, "MIXIN_CONFIG=")
		// A make of its own: what an outer make passes down (its
		// command-line variables, its jobserver) is not for this build.
		cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
			name, _, _ := strings.Cut(kv, "=")
			return slices.Contains([]string{"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}, name)
		})
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("make mixin-build EXPORTER_URL=%s: %v\n%s", exporterURL, err, out)
		}
		dirs[exporterURL] = d
		return d, nil
	}
}
