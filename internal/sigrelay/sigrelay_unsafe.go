package sigrelay

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rtSigaction is rt_sigaction(2) with the kernel's 8-byte sigset.
func rtSigaction(sig unix.Signal, act, old *sigaction) error {
	_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
	if e != 0 {
		return syscall.Errno(e)
	}
	return nil
}

// rtSigprocmask is rt_sigprocmask(2) on the calling thread with the
// kernel's 8-byte sigset; the old mask is not read.
func rtSigprocmask(how int, set *uint64) error {
	_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, uintptr(how), uintptr(unsafe.Pointer(set)), 0, 8, 0, 0)
	if e != 0 {
		return syscall.Errno(e)
	}
	return nil
}
