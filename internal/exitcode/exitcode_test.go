package exitcode

import (
	"fmt"
	"syscall"
	"testing"
)

func TestExec(t *testing.T) {
	for errno, want := range map[syscall.Errno]int{
		syscall.ENOENT: NotFound, syscall.ENOTDIR: NotFound, syscall.ELOOP: NotFound,
		syscall.EACCES: CannotInvoke, syscall.ENOEXEC: CannotInvoke, syscall.E2BIG: CannotInvoke, syscall.ETXTBSY: CannotInvoke,
	} {
		if got := Exec(errno); got != want {
			t.Errorf("Exec(%v) = %d, want %d", errno, got, want)
		}
		// Wrapped, as a *clone.ChildError or fmt.Errorf("%w") carries it.
		if got := Exec(fmt.Errorf("exec: %w", errno)); got != want {
			t.Errorf("Exec(wrapped %v) = %d, want %d", errno, got, want)
		}
	}
	if Signaled(syscall.SIGKILL) != 137 || Signaled(syscall.SIGTERM) != 143 {
		t.Errorf("Signaled: %d %d", Signaled(syscall.SIGKILL), Signaled(syscall.SIGTERM))
	}
}
