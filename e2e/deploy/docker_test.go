package deploy

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The image cannot be built here (no container engine), so this checks what
// the Dockerfile relies on: the build context left by .dockerignore (from
// the tracked files of a fresh clone) builds the exporter with
// CGO_ENABLED=0, and the binary is static (no ELF interpreter), as
// distroless/static needs.
func TestDockerBuildContext(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the exporter")
	}
	t.Parallel() // a cold CGO_ENABLED=0 build takes a minute or two; overlap it with the cluster tests
	files, err := exec.Command("git", "-C", repoRoot, "ls-files").Output()
	if err != nil {
		t.Skipf("git ls-files: %v", err)
	}
	f, err := os.Open(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ignore []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			ignore = append(ignore, l)
		}
	}
	ignored := func(path string) bool {
		for _, p := range ignore {
			if base, ok := strings.CutPrefix(p, "**/"); ok {
				if m, _ := filepath.Match(base, filepath.Base(path)); m {
					return true
				}
				continue
			}
			if path == p || strings.HasPrefix(path, p+"/") {
				return true
			}
		}
		return false
	}
	ctxDir := t.TempDir()
	for _, path := range strings.Split(strings.TrimSpace(string(files)), "\n") {
		if ignored(path) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(repoRoot, path))
		if err != nil {
			continue // deleted in the working tree
		}
		dst := filepath.Join(ctxDir, path)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(ctxDir, "Dockerfile")); err != nil {
		t.Fatal("the Dockerfile is not in the build context")
	}
	out := filepath.Join(t.TempDir(), "kube-job-exporter")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/kube-job-exporter")
	cmd.Dir = ctxDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=-mod=readonly", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build in the Docker build context (.dockerignore applied): %v\n%s", err, b)
	}
	bin, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer bin.Close()
	for _, p := range bin.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the binary needs a dynamic loader: not static")
		}
	}
}
