//go:build linux && (amd64 || arm64)

package clone

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// waitid is waitid(2) without rusage, retried on EINTR.
func waitid(idtype, id int, info *siginfo, options int) error {
	for {
		_, _, e := unix.Syscall6(unix.SYS_WAITID, uintptr(idtype), uintptr(id), uintptr(unsafe.Pointer(info)), uintptr(options), 0, 0)
		if e != unix.EINTR {
			if e != 0 {
				return e
			}
			return nil
		}
	}
}
