package testutil

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// seccompSetFilterTSYNC installs prog on every thread of the process
// (seccomp(2), SECCOMP_FILTER_FLAG_TSYNC): a Go test cannot know which
// thread its next system call runs on.
func seccompSetFilterTSYNC(prog *unix.SockFprog) syscall.Errno {
	_, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(prog)))
	return e
}
