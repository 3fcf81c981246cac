//go:build linux && (amd64 || arm64)

package sigrelay

import (
	"os"
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sendAsKernel sends sig to this thread as the kernel would (si_code
// SI_KERNEL, as for the terminal's Ctrl-C): rt_tgsigqueueinfo(2) allows any
// si_code when a thread signals itself (the kernel compares the target
// with the caller's thread id, hence the locked thread).
func sendAsKernel(t *testing.T, sig unix.Signal) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var info [128]byte // siginfo_t: si_signo, si_errno, si_code, ...
	*(*int32)(unsafe.Pointer(&info[0])) = int32(sig)
	*(*int32)(unsafe.Pointer(&info[8])) = 0x80 // SI_KERNEL
	_, _, e := unix.RawSyscall6(unix.SYS_RT_TGSIGQUEUEINFO, uintptr(os.Getpid()), uintptr(unix.Gettid()), uintptr(sig), uintptr(unsafe.Pointer(&info[0])), 0, 0)
	if e != 0 {
		t.Fatalf("rt_tgsigqueueinfo: %v", e)
	}
}
