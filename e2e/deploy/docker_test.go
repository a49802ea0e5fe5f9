package deploy

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// digestRef is an image reference pinned by digest (a tag beside it is
// allowed and ignored by the builder).
var digestRef = regexp.MustCompile(`^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+)?@sha256:[0-9a-f]{64}$`)

// Every base image of the Dockerfile is pinned by digest, so the build
// does not change when a tag moves; a FROM naming an earlier stage is not
// an image. No image comes from a build argument (which could swap it).
func TestDockerfileBasesPinned(t *testing.T) {
	f, err := os.Open(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stages := map[string]bool{}
	var images int
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || !strings.EqualFold(fields[0], "FROM") {
			continue
		}
		args := fields[1:]
		for len(args) > 0 && strings.HasPrefix(args[0], "--") {
			args = args[1:] // --platform=...
		}
		if len(args) == 0 {
			t.Fatalf("Dockerfile:%d: FROM without an image", n)
		}
		ref := args[0]
		if !stages[strings.ToLower(ref)] {
			images++
			if strings.Contains(ref, "$") {
				t.Errorf("Dockerfile:%d: FROM %s: the image comes from a build argument", n, ref)
			} else if !digestRef.MatchString(ref) {
				t.Errorf("Dockerfile:%d: FROM %s: not pinned by digest (@sha256:<64 hex>); see the Dockerfile's comment for crane digest", n, ref)
			}
		}
		// Later FROMs may name this stage.
		if len(args) >= 3 && strings.EqualFold(args[1], "AS") {
			stages[strings.ToLower(args[2])] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if images == 0 {
		t.Fatal("no FROM image in the Dockerfile")
	}
}
