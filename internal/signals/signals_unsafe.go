package signals

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Ignored reports whether sig is ignored (SIG_IGN) in this process now:
// an init or a relay leaves such a signal alone, so that the command
// inherits the ignore across execve(2) (signal(7)), as nohup expects. (The
// Go runtime keeps an inherited SIG_IGN only for SIGHUP and SIGINT; it
// installs its own handler for the others at start-up.)
func Ignored(sig unix.Signal) bool {
	// The kernel's struct sigaction on amd64 and arm64: handler, flags,
	// restorer, an 8-byte mask.
	var old [4]uint64
	const sigIgn = 1
	_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), 0, uintptr(unsafe.Pointer(&old)), 8, 0, 0)
	return e == 0 && old[0] == sigIgn
}
