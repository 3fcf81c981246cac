//go:build linux && (amd64 || arm64)

package torture_test

import (
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// setDispositions sets every catchable signal from 1 to 31 to SIG_DFL, then
// those in ignore to SIG_IGN, with raw rt_sigaction(2) calls behind the Go
// runtime's back: only for a helper that execs right after.
func setDispositions(ignore []syscall.Signal) error {
	type sigaction struct {
		handler  uintptr
		flags    uint64
		restorer uintptr
		mask     uint64
	}
	const sigDFL, sigIGN = 0, 1
	set := func(sig syscall.Signal, h uintptr) error {
		act := sigaction{handler: h}
		_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
		if e != 0 {
			return fmt.Errorf("rt_sigaction(%d): %w", sig, e)
		}
		return nil
	}
	for sig := syscall.Signal(1); sig <= 31; sig++ {
		if sig == syscall.SIGKILL || sig == syscall.SIGSTOP {
			continue
		}
		if err := set(sig, sigDFL); err != nil {
			return err
		}
	}
	for _, sig := range ignore {
		if err := set(sig, sigIGN); err != nil {
			return err
		}
	}
	return nil
}
