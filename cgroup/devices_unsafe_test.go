package cgroup

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/kernel"
	"github.com/rawns/rawns/internal/testutil"
)

// TestProgLoadInterrupted: the verifier gives up with EAGAIN when a signal
// is pending for the loading thread (do_check's signal_pending check), and
// a Go thread gets SIGURG from the runtime at any time. With SIGURG sent
// to the loading thread again and again, every progLoad of a long device
// program must succeed; the single bpf(2) calls made the same way beside
// them count how often one load alone was refused (logged: what progLoad's
// retry absorbs).
func TestProgLoadInterrupted(t *testing.T) {
	testutil.RequireRoot(t)
	var rules []DeviceRule
	for i := 0; i < 40; i++ {
		rules = append(rules, DeviceRule{Allow: i%2 == 0, Type: 'c', Major: int64(i), Minor: -1, Access: "rw"})
	}
	prog := deviceProgram(rules)
	license := []byte("GPL\x00")
	load := progLoadAttr{
		progType: bpfProgTypeCgroupDev,
		insnCnt:  uint32(len(prog)),
		insns:    uint64(uintptr(unsafe.Pointer(&prog[0]))),
		license:  uint64(uintptr(unsafe.Pointer(&license[0]))),
	}

	// Before Linux 5.11 a program is charged to RLIMIT_MEMLOCK until its
	// deferred free, and hundreds of loads in a row run out of it (EPERM,
	// seen on 5.10): lift the limit for this test, as cilium/ebpf's
	// rlimit.RemoveMemlock does, and put it back after. Raising it needs
	// CAP_SYS_RESOURCE, which a root without it (this project's build
	// hosts) lacks: there (Linux 6.x) the limit plays no part.
	var memlock unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &memlock); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}); err == nil {
		defer unix.Setrlimit(unix.RLIMIT_MEMLOCK, &memlock)
	} else if !kernel.AtLeast(5, 11) {
		t.Fatalf("lifting RLIMIT_MEMLOCK for hundreds of loads before Linux 5.11: %v", err)
	}

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// The signals come at five times the longest of a few quiet loads
	// (at least 1 ms): often enough to refuse many single loads, rarely
	// enough that a retry gets through, on this host and under qemu's TCG
	// (where one verification is many times slower).
	var slowest time.Duration
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		fd, errno := progLoad(&load)
		if errno != 0 {
			t.Fatalf("bpf(BPF_PROG_LOAD) of %d instructions: %v", len(prog), errno)
		}
		unix.Close(int(fd))
		slowest = max(slowest, time.Since(t0))
	}
	every := max(time.Millisecond, 5*slowest)
	pid, tid := unix.Getpid(), unix.Gettid()
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			unix.Tgkill(pid, tid, unix.SIGURG)
			time.Sleep(every)
		}
	}()
	defer func() { stop.Store(true); <-done }()

	const n = 150
	single := 0
	for i := 0; i < n; i++ {
		fd, _, errno := unix.Syscall(unix.SYS_BPF, bpfProgLoad, uintptr(unsafe.Pointer(&load)), unsafe.Sizeof(load))
		if errno == 0 {
			unix.Close(int(fd))
		} else if errno == unix.EAGAIN {
			single++
		} else {
			t.Fatalf("bpf(BPF_PROG_LOAD) of %d instructions: %v", len(prog), errno)
		}
		fd, errno = progLoad(&load)
		if errno != 0 {
			t.Fatalf("progLoad %d of %d under SIGURG: %v (single loads refused so far: %d)", i, n, errno, single)
		}
		unix.Close(int(fd))
	}
	runtime.KeepAlive(prog)
	runtime.KeepAlive(license)
	t.Logf("%d loads of %d instructions under SIGURG every %v: %d single bpf(2) calls refused with EAGAIN, no progLoad", n, len(prog), every, single)
}
