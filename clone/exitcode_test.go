package clone_test

import (
	"syscall"
	"testing"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/exitcode"
)

// TestExitCodesMatchTheCLI: clone's exit statuses are the ones rawns run
// documents (internal/exitcode), which clone cannot import.
func TestExitCodesMatchTheCLI(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"ExitSetupFailed", clone.ExitSetupFailed, exitcode.Failed},
		{"ExitCannotInvoke", clone.ExitCannotInvoke, exitcode.CannotInvoke},
		{"ExitNotFound", clone.ExitNotFound, exitcode.NotFound},
		{"ExitSignalBase+9", clone.ExitSignalBase + 9, exitcode.Signaled(syscall.SIGKILL)},
		{"ExitStatus{Signal: SIGTERM}.ExitCode()", clone.ExitStatus{Signal: syscall.SIGTERM}.ExitCode(), exitcode.Signaled(syscall.SIGTERM)},
		{"ENOENT at execve", clone.ExitNotFound, exitcode.Exec(syscall.ENOENT)},
		{"EACCES at execve", clone.ExitCannotInvoke, exitcode.Exec(syscall.EACCES)},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, internal/exitcode says %d", c.name, c.got, c.want)
		}
	}
}
