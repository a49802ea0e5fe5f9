package harness

import (
	"os/exec"
	"syscall"
)

// setDeathSignal makes the kernel stop the child if this process dies
// without cleaning up (e.g. a test binary killed on timeout).
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
