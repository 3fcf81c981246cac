//go:build linux && (amd64 || arm64)

package torture_test

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// execveat is execveat(2) relative to the working directory: a test helper
// under a seccomp filter that denies execve by number can still exec.
func execveat(path string, argv, env []string) error {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return err
	}
	a, err := syscall.SlicePtrFromStrings(argv)
	if err != nil {
		return err
	}
	e, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return err
	}
	// ^uintptr(99) is AT_FDCWD (-100).
	_, _, errno := unix.Syscall6(unix.SYS_EXECVEAT, ^uintptr(99), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&a[0])), uintptr(unsafe.Pointer(&e[0])), 0, 0)
	return errno
}
