package cgroup

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// bpf(2) commands and types (linux/bpf.h).
const (
	bpfProgLoad            = 5  // BPF_PROG_LOAD
	bpfProgAttach          = 8  // BPF_PROG_ATTACH
	bpfProgTypeCgroupDev   = 15 // BPF_PROG_TYPE_CGROUP_DEVICE
	bpfCgroupDevice        = 6  // BPF_CGROUP_DEVICE
	bpfFAllowMulti         = 2  // BPF_F_ALLOW_MULTI
	bpfProgLoadLogLevel    = 1
	bpfProgLoadLogBufBytes = 1 << 16
)

// progLoadAttr is the BPF_PROG_LOAD part of union bpf_attr, as far as it
// is used; the kernel takes a shorter attr and zero-fills the rest.
type progLoadAttr struct {
	progType    uint32
	insnCnt     uint32
	insns       uint64
	license     uint64
	logLevel    uint32
	logSize     uint32
	logBuf      uint64
	kernVersion uint32
	progFlags   uint32
}

// progAttachAttr is the BPF_PROG_ATTACH part of union bpf_attr.
type progAttachAttr struct {
	targetFD    uint32
	attachBPFFD uint32
	attachType  uint32
	attachFlags uint32
}

// attachDeviceProgram loads prog and attaches it to the cgroup v2
// directory cgroupFD (BPF_F_ALLOW_MULTI: a parent's program, a delegating
// manager's, still runs; every program must allow). The attachment keeps
// the program for as long as the cgroup lives; the fd is closed here.
func attachDeviceProgram(cgroupFD int, prog []bpfInsn) error {
	license := []byte("Apache-2.0\x00") // no GPL-only helper is called
	load := progLoadAttr{
		progType: bpfProgTypeCgroupDev,
		insnCnt:  uint32(len(prog)),
		insns:    uint64(uintptr(unsafe.Pointer(&prog[0]))),
		license:  uint64(uintptr(unsafe.Pointer(&license[0]))),
	}
	// Without the verifier's log first: a log that does not fit its
	// buffer fails the load (ENOSPC), and the log of a good program is
	// long. Only a refused program is loaded again, to say why.
	fd, errno := progLoad(&load)
	if errno != 0 {
		if errno == unix.ENOSYS {
			return fmt.Errorf("%w: bpf(BPF_PROG_LOAD): %v", errNoDeviceProgram, errno)
		}
		logBuf := make([]byte, bpfProgLoadLogBufBytes)
		load.logLevel, load.logSize = bpfProgLoadLogLevel, uint32(len(logBuf))
		load.logBuf = uint64(uintptr(unsafe.Pointer(&logBuf[0])))
		progLoad(&load)
		log := cString(logBuf)
		if len(log) > 400 {
			log = "..." + log[len(log)-400:]
		}
		return fmt.Errorf("loading the device program: bpf(BPF_PROG_LOAD): %v (verifier: %q)", errno, log)
	}
	defer unix.Close(int(fd))
	attach := progAttachAttr{targetFD: uint32(cgroupFD), attachBPFFD: uint32(fd), attachType: bpfCgroupDevice, attachFlags: bpfFAllowMulti}
	if _, _, errno := unix.Syscall(unix.SYS_BPF, bpfProgAttach, uintptr(unsafe.Pointer(&attach)), unsafe.Sizeof(attach)); errno != 0 {
		return fmt.Errorf("attaching the device program to the cgroup: bpf(BPF_PROG_ATTACH): %w", errno)
	}
	return nil
}

// progLoadTries bounds progLoad's retries of an interrupted verification.
const progLoadTries = 100

// progLoad is bpf(BPF_PROG_LOAD), again when the verifier gave up because
// a signal was pending: its main loop (do_check in kernel/bpf/verifier.c)
// returns -EAGAIN on signal_pending(current), and a Go thread gets the
// runtime's preemption signal (SIGURG) at any time, so a good program can
// be refused with EAGAIN by chance (seen on 5.10 and 6.1 under qemu,
// where verification is slow). cilium/ebpf retries the same way. Any
// other errno, and the fd, are returned as they are.
func progLoad(load *progLoadAttr) (uintptr, unix.Errno) {
	for try := 1; ; try++ {
		fd, _, errno := unix.Syscall(unix.SYS_BPF, bpfProgLoad, uintptr(unsafe.Pointer(load)), unsafe.Sizeof(*load))
		if errno != unix.EAGAIN || try == progLoadTries {
			return fd, errno
		}
	}
}

// cString is the NUL-terminated start of b.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
