//go:build linux && (amd64 || arm64)

package clone

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/sigrelay"
)

// Spec.Init: PID 1 of the new PID namespace is the cloned child itself,
// running a reaper in raw system calls (cloneExec, after the privilege
// phase), instead of a second program such as tini or a re-exec of rawns.
//
// Address space. PID 1 lives as long as the command, so it cannot borrow
// rawns's memory the way the vfork-style child does: CLONE_VFORK would
// hold rawns until PID 1 execs, which it never does, and CLONE_VM without
// it would have PID 1 run on rawns's memory while rawns's Go runtime runs
// too (a stack of its own, its own copy of the relay's words, and code
// that may touch nothing the garbage collector moves or frees). So PID 1
// is cloned fork-style: a copy-on-write copy of rawns, whose page tables
// the kernel copies (rawns is a few MiB: measured in docs/benchmarks.md)
// and whose pages it touches are copied on write: its stack, this
// initData, the relay's words. The command is then cloned from PID 1
// vfork-style, on PID 1's memory and stack (rawVfork), as the plain run
// clones it from rawns, and PID 1 sleeps until it has exec'd.
//
// Signals. From outside PID 1 gets only the signals it has a handler for
// (pid_namespaces(7)). It installs the relay's own handler
// (internal/sigrelay, assembly that never enters Go) for InitSignals, and
// points the handler's words, in its own copy, at the command's pidfd: the
// handler then forwards each signal with pidfd_send_signal(2), and skips a
// terminal's signal that the command got itself, exactly as in rawns. It
// runs on the alternate signal stack that PID 1 inherited from rawns's
// thread (sigaltstack(2): a fork-style child keeps it). A signal rawns
// was started with ignored stays ignored: CLONE_CLEAR_SIGHAND keeps
// SIG_IGN, and no handler is installed for it.
//
// Afterwards PID 1 blocks in wait4(-1), reaping every zombie, orphans
// reparented to it included, until the command's own; then it exits with
// the command's status, and the kernel kills the rest of the namespace.
type initData struct {
	args       cloneArgs // clone3 of the command
	cloneFlags uintptr   // or clone(2)'s flags
	pidfd      int32     // the command's pidfd, written by the kernel
	wstatus    int32     // wait4's status, PID 1's scratch
	child      uintptr   // the command's pid, inside the namespace
	relay      sigrelay.ForChild
	sigs       [32]uint8 // the signals to install the handler for
	nsigs      uint8
}

// prepareInit builds the reaper's data.
func prepareInit(d *childData, useClone3 bool) *initData {
	in := &initData{pidfd: -1, relay: sigrelay.ChildRelay()}
	flags := uint64(unix.CLONE_VM | unix.CLONE_VFORK | unix.CLONE_PIDFD)
	if useClone3 {
		in.args = cloneArgs{
			flags:      flags | unix.CLONE_CLEAR_SIGHAND,
			pidfd:      uint64(uintptr(unsafe.Pointer(&in.pidfd))),
			exitSignal: uint64(unix.SIGCHLD),
		}
	}
	// clone(2) always, for the fallback: a seccomp filter of the
	// privilege phase (docker's default profile) may answer clone3 with
	// ENOSYS by then.
	in.cloneFlags = uintptr(flags) | uintptr(unix.SIGCHLD)
	for _, sig := range sigrelay.InitSignals {
		if !sigrelay.Ignored(sig) {
			in.sigs[in.nsigs] = uint8(sig)
			in.nsigs++
		}
	}
	return in
}
