// Package exitcode is the one home of rawns's exit-code policy, which
// follows docker and runc (docs/cli.md): the command's own code; 128+N when
// signal N killed it; 125 when rawns itself failed and nothing was
// started; 126 when the command exists but cannot be executed; 127 when it
// is not found; and 124 when --trace saw the kernel disagree.
package exitcode

import (
	"errors"
	"syscall"
)

const (
	TraceMismatch = 124 // --trace saw the kernel disagree with userspace
	Failed        = 125 // rawns failed; nothing was started
	CannotInvoke  = 126 // the command exists but cannot be executed
	NotFound      = 127 // the command is not found
	signalBase    = 128 // 128+N: killed by signal N
)

// Signaled is the exit code of a command killed by sig.
func Signaled(sig syscall.Signal) int { return signalBase + int(sig) }

// Exec is the exit code for an execve(2) that failed with err: 127 when
// the program or a directory on its path does not exist or loops (ENOENT,
// ENOTDIR, ELOOP), as a shell reports a missing command; 126 for any
// other reason it cannot be run (EACCES, ENOEXEC, E2BIG, ...).
func Exec(err error) int {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.ENOENT, syscall.ENOTDIR, syscall.ELOOP:
			return NotFound
		}
	}
	return CannotInvoke
}
