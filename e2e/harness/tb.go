package harness

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// errFatal is what processTB panics with on Fatal/FailNow; Start recovers it.
var errFatal = errors.New("harness: fatal error reported by the control plane")

// processTB implements the ktesting.TB interface that the Kubernetes
// integration-test harness (kube-apiserver/app/testing) requires, without
// being a *testing.T. That lets the cluster live in TestMain (shared by all
// scenarios) and in a plain program (make demo). Log lines go to a writer,
// cleanups run at Stop in reverse order.
type processTB struct {
	name   string
	tmpDir string
	out    io.Writer

	mu       sync.Mutex
	failed   bool
	errs     []string
	cleanups []func()
	tmpSeq   int
}

func newProcessTB(name, tmpDir string, out io.Writer) *processTB {
	return &processTB{name: name, tmpDir: tmpDir, out: out}
}

func (t *processTB) logf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.out, format+"\n", args...)
}

func (t *processTB) Attr(key, value string) { t.logf("attr %s=%s", key, value) }
func (t *processTB) Chdir(dir string) {
	if err := os.Chdir(dir); err != nil {
		t.Fatalf("chdir %s: %v", dir, err)
	}
}
func (t *processTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}
func (t *processTB) Error(args ...any) { t.Errorf("%s", fmt.Sprint(args...)) }
func (t *processTB) Errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	t.logf("ERROR: %s", msg)
	t.mu.Lock()
	t.failed = true
	t.errs = append(t.errs, msg)
	t.mu.Unlock()
}
func (t *processTB) Fail() {
	t.mu.Lock()
	t.failed = true
	t.mu.Unlock()
}
func (t *processTB) FailNow()                          { t.Fail(); panic(errFatal) }
func (t *processTB) Failed() bool                      { t.mu.Lock(); defer t.mu.Unlock(); return t.failed }
func (t *processTB) Fatal(args ...any)                 { t.Error(args...); panic(errFatal) }
func (t *processTB) Fatalf(format string, args ...any) { t.Errorf(format, args...); panic(errFatal) }
func (t *processTB) Helper()                           {}
func (t *processTB) Log(args ...any)                   { t.logf("%s", fmt.Sprint(args...)) }
func (t *processTB) Logf(format string, args ...any)   { t.logf(format, args...) }
func (t *processTB) Name() string                      { return t.name }
func (t *processTB) Setenv(key, value string) {
	if err := os.Setenv(key, value); err != nil {
		t.Fatalf("setenv %s: %v", key, err)
	}
}
func (t *processTB) Skip(args ...any)                 { t.Log(args...) }
func (t *processTB) Skipf(format string, args ...any) { t.Logf(format, args...) }
func (t *processTB) SkipNow()                         {}
func (t *processTB) Skipped() bool                    { return false }
func (t *processTB) TempDir() string {
	t.mu.Lock()
	t.tmpSeq++
	n := t.tmpSeq
	t.mu.Unlock()
	dir := filepath.Join(t.tmpDir, fmt.Sprintf("tmp%03d", n))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("tempdir: %v", err)
	}
	return dir
}

// errors returns what was reported through Error/Errorf/Fatal.
func (t *processTB) errorsReported() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.errs...)
}

// runCleanups runs the registered cleanups, last registered first.
func (t *processTB) runCleanups() {
	for {
		t.mu.Lock()
		n := len(t.cleanups)
		if n == 0 {
			t.mu.Unlock()
			return
		}
		f := t.cleanups[n-1]
		t.cleanups = t.cleanups[:n-1]
		t.mu.Unlock()
		func() {
			defer func() {
				if r := recover(); r != nil && r != errFatal {
					t.logf("cleanup panicked: %v", r)
				}
			}()
			f()
		}()
	}
}
