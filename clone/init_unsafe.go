//go:build linux && (amd64 || arm64)

package clone

import (
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/signals"
)

// Spec.Init: PID 1 of the new PID namespace is the cloned child itself,
// running a reaper in raw system calls (initPrepare, then initReap, called
// from childMain after every other phase), instead of a second program
// such as tini or a re-exec of rawns.
//
// Address space. PID 1 lives as long as the command, so it cannot borrow
// rawns's memory the way the vfork-style child does: CLONE_VFORK would
// hold rawns until PID 1 execs, which it never does. Two ways remain.
//
//   - Shared (the default where it is safe, below): clone3 with CLONE_VM
//     and without CLONE_VFORK, on a stack of its own (cloneOnStack). PID 1
//     runs on rawns's memory while rawns's Go runtime runs too: no page
//     table is copied and no page is copied on write, by either side. The
//     rules that makes: its stack is an mmap of its own (initStackSize,
//     a guard page below), never a goroutine's; until the command has
//     exec'd it reads the prepared childData, which the parent keeps alive
//     until the error pipe's EOF (cloneWithPipes); after that it touches
//     only its stack and this initData, which lives at the top of that
//     mapping, holds no Go pointer, and which the parent unmaps only once
//     PID 1 is reaped (Process.Wait). It installs no signal handler, so
//     no signal frame lands on any stack, and it needs no g: childMain is
//     nosplit and calls only raw system calls. The kernel clears the
//     alternate signal stack of a CLONE_VM child (sigaltstack(2)).
//   - Fork-style: a copy-on-write copy of rawns, whose page tables the
//     kernel copies and whose every page written afterwards, by PID 1 or
//     by rawns, is copied (measured in docs/benchmarks.md). Used when
//     sharing is not safe (initSharesMemory), and where clone3 is missing
//     (the shared clone needs CLONE_CLEAR_SIGHAND, since it has no room
//     for the runtime's reset of Go's handlers).
//
// Memory accounting of the shared way: the pages PID 1 touches (its stack)
// are charged to the memory cgroup of its mm's owner, rawns, not to the
// command's (a few pages).
//
// When sharing is not safe (initSharesMemory): a process that may ptrace PID 1 may write its
// memory (/proc/PID/mem, process_vm_writev(2)), and shared, that memory is
// rawns's, which runs on the host. PID 1 makes itself non-dumpable before
// the command exists, so ptrace access to it needs CAP_SYS_PTRACE in the
// user namespace of its memory (ptrace(2), "Ptrace access mode checking"),
// which is rawns's. The command can never have that if it runs in a new
// user namespace (its capabilities are that namespace's), or if
// CAP_SYS_PTRACE is not in its bounding set (no exec can grant it then).
// Otherwise PID 1 is fork-style: the command may ptrace it, but it is a
// copy, and reaches nothing of rawns.
//
// Signals. From outside PID 1 gets only the signals it has a handler for
// or blocks (pid_namespaces(7), and signal(7): a blocked signal is never
// discarded). So before it starts the command it blocks signals.InitRelayed and
// SIGCHLD and opens a signalfd(2) for them, as tini waits in
// sigtimedwait(2): no handler, no signal frame. The command, cloned from
// it vfork-style on its stack (rawVfork), unblocks them again before its
// execve. PID 1 then reads its signalfd: SIGCHLD reaps every zombie
// (wait4 with WNOHANG, orphans reparented to it included) until the
// command's own, and exits with the command's status; any other signal it
// passes on with kill(2), which cannot hit a recycled pid, since only PID
// 1 reaps the command. A terminal's signal (si_code SI_KERNEL) that the
// command got itself, being in PID 1's process group, is not passed on, so
// that a Ctrl-C arrives once. A signal rawns was started with ignored is
// not blocked and stays ignored (CLONE_CLEAR_SIGHAND keeps SIG_IGN), as
// nohup expects. The kernel kills the rest of the namespace when PID 1
// exits.
//
// initData holds no Go pointer: in the shared case it lives in memory the
// garbage collector does not know (TestInitDataHasNoPointers).
type initData struct {
	sigset uint64 // the signals PID 1 blocks and reads from its signalfd

	nofile uintptr // the fd loop's bound where close_range(2) is missing

	// PID 1's scratch, written after the command has started.
	sfd     uintptr      // the signalfd
	child   uintptr      // the command's pid, inside the namespace
	wstatus int32        // wait4's status
	info    signalfdInfo // the signal read
}

// signalfdInfo is struct signalfd_siginfo of linux/signalfd.h (128 bytes):
// the signal, then its errno, code and sender.
type signalfdInfo struct {
	signo uint32
	errno int32
	code  int32
	pid   uint32
	_     [112]byte
}

// siKernel is SI_KERNEL, the si_code of a signal the kernel sent, as the
// terminal's line discipline sends SIGINT (siginfo.h).
const siKernel = 0x80

// initStackSize is the size of a shared PID 1's stack and initData, at the
// top of its mapping (childMain's frame and its system calls, the
// command's vfork-style child below it: a few KiB in all). Below them the
// mapping has one guard page, of whatever size pages are: 4 KiB, or 16 or
// 64 KiB on some arm64 kernels.
const initStackSize = 64 << 10

// initStack is PID 1's mapping, owned by the parent: mapped before the
// clone, unmapped once PID 1 is reaped (or at once, if the clone failed).
type initStack struct {
	base unsafe.Pointer
	size uintptr // the guard page and initStackSize
}

func (s *initStack) unmap() {
	if s != nil && s.base != nil {
		unix.MunmapPtr(s.base, s.size)
		s.base = nil
	}
}

// mapInitStack maps PID 1's stack and initData: private anonymous memory,
// its lowest page made inaccessible, so that an overflow faults instead of
// writing into whatever lies below.
func mapInitStack() (*initStack, error) {
	page := uintptr(unix.Getpagesize())
	size := page + (initStackSize+page-1)&^(page-1)
	base, err := unix.MmapPtr(-1, 0, nil, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_STACK)
	if err != nil {
		return nil, fmt.Errorf("mapping the stack of PID 1 (--init): %w", err)
	}
	s := &initStack{base: base, size: size}
	if err := unix.Mprotect(unsafe.Slice((*byte)(base), page), unix.PROT_NONE); err != nil {
		s.unmap()
		return nil, fmt.Errorf("guarding the stack of PID 1 (--init): %w", err)
	}
	return s, nil
}

// data is the initData at the top of the mapping.
func (s *initStack) data() *initData {
	return (*initData)(unsafe.Add(s.base, s.size-unsafe.Sizeof(initData{})))
}

// top is the stack's top, right below initData, 16-aligned.
func (s *initStack) top() uintptr {
	return (uintptr(unsafe.Pointer(s.data()))) &^ 15
}

// initSharesMemory reports whether PID 1 may run on rawns's memory (see
// above): the command cannot ever hold CAP_SYS_PTRACE in rawns's user
// namespace, and PID 1 needs no time namespace of its own. A time
// namespace belongs with an address space (its clocks reach the process
// through the vDSO's data page, one per mm): a CLONE_VM child stays in
// its parent's (copy_namespaces, kernel/nsproxy.c), and setns(2) into one
// needs a process alone on its memory (EUSERS otherwise), so a PID 1 on
// rawns's memory would show the host's time namespace in /proc/1/ns/time.
//
// Nor behind a start gate (GateFD), which it may pass after the parent
// has gone or moved on, while it still reads the prepared data. Nor in a
// cgroup of its own (CLONE_INTO_CGROUP, or a parent step such as
// the cgroup package's placement without clone3), or when the caller asks
// for a fork-style first clone (ModeFork; the cgroup package does, for a
// thread it moves into v1 cgroups): a memory limit's OOM killer there
// weighs PID 1 by its mm, rawns's, picks it, and kills every process
// sharing the victim's mm (oom_kill_process, mm/oom_kill.c): rawns too,
// before it can clean the cgroup up or say what happened. Measured:
// --init --cap-drop SYS_PTRACE --memory 12M with ten 1.5 MB shells chose
// rawns-init and killed rawns.
func initSharesMemory(spec *Spec) bool {
	if spec.Namespaces&NewTime != 0 || spec.hasTimeOffsets() {
		return false
	}
	if spec.Mode == ModeFork || spec.UseCgroupFD || spec.Hold != nil || spec.GateFD != 0 {
		return false
	}
	if spec.Namespaces&NewUser != 0 {
		return true
	}
	if p := spec.Privilege; p != nil && p.Caps != nil {
		return p.Caps.Bounding&(1<<unix.CAP_SYS_PTRACE) == 0
	}
	// The caller's bounding set, which the command inherits.
	r, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, unix.CAP_SYS_PTRACE, 0, 0, 0)
	return err == nil && r == 0
}

// prepareInit builds the reaper's data; in the shared case it maps PID 1's
// stack, puts initData at its top and turns the first clone into a
// CLONE_VM one on that stack.
func prepareInit(spec *Spec, d *childData) (*initData, *initStack, error) {
	var (
		in    *initData
		stack *initStack
	)
	if d.useClone3 && initSharesMemory(spec) {
		var err error
		if stack, err = mapInitStack(); err != nil {
			return nil, nil, err
		}
		in = stack.data() // zeroed, as a fresh anonymous mapping is
		d.args.flags |= unix.CLONE_VM
		d.args.stack = uint64(uintptr(stack.base))
		d.args.stackSize = uint64(stack.top() - uintptr(stack.base))
		d.onStack, d.mainPC = true, childMainPC()
	} else {
		in = &initData{}
	}
	in.nofile = d.nofile
	in.sigset = 1 << (unix.SIGCHLD - 1)
	for _, sig := range signals.InitRelayed {
		if !signals.Ignored(sig) {
			in.sigset |= 1 << (sig - 1)
		}
	}
	return in, stack, nil
}

// initCommandClone is PID 1's clone(2) of the command: vfork-style, on
// PID 1's memory and stack, SIGCHLD at its end.
const initCommandClone = unix.CLONE_VM | unix.CLONE_VFORK | uintptr(unix.SIGCHLD)

// strInitName is the name PID 1 shows in ps (PR_SET_NAME, 15 bytes at most).
var strInitName = [...]byte{'r', 'a', 'w', 'n', 's', '-', 'i', 'n', 'i', 't', 0}

// initPrepare readies PID 1 before it clones the command: it hides itself
// and blocks the signals it relays, reading them from a signalfd.
//
//go:nosplit
//go:norace
//go:nocheckptr
func initPrepare(d *childData) syscall.Errno {
	var (
		in    *initData
		errno syscall.Errno
	)
	in = d.init
	d.x.report.stage = uint32(StageInit)
	// /proc/1/exe would be rawns's binary on the host: keep it, and the
	// rest of this process's /proc, from the container's users, before
	// any of them exists (proc(5): a non-dumpable process's files belong
	// to root, and ptrace access needs CAP_SYS_PTRACE in the user
	// namespace of its memory). The command's execve makes it dumpable
	// again.
	rawSyscall(unix.SYS_PRCTL, unix.PR_SET_DUMPABLE, 0, 0)
	// And ps shows it as what it is, not as a second rawns.
	rawSyscall(unix.SYS_PRCTL, unix.PR_SET_NAME, uintptr(unsafe.Pointer(&strInitName[0])), 0)
	// The signals it relays, blocked (so that they wait for it, even as
	// an init with no handler) and read from a signalfd.
	_, _, errno = rawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_BLOCK, uintptr(unsafe.Pointer(&in.sigset)), 0, unsafe.Sizeof(in.sigset), 0, 0)
	if errno != 0 {
		return errno
	}
	in.sfd, _, errno = rawSyscall6(unix.SYS_SIGNALFD4, ^uintptr(0), uintptr(unsafe.Pointer(&in.sigset)), unsafe.Sizeof(in.sigset), unix.SFD_CLOEXEC, 0, 0)
	return errno
}

// initCommand is the command's first step, in its own process: the
// signals PID 1 blocked are its to take.
//
//go:nosplit
//go:norace
//go:nocheckptr
func initCommand(d *childData) syscall.Errno {
	_, _, errno := rawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&d.mask)), 0, unsafe.Sizeof(d.mask), 0, 0)
	if errno != 0 {
		d.x.report.stage = uint32(StageSignals)
	}
	return errno
}

// initReap is PID 1 once the command runs as its child (or has failed to:
// its report is in the pipe): it relays signals to the command, reaps
// every zombie, and exits with the command's status. From here it reads
// in and its own locals, nothing of the parent's childData, which the
// parent may let go once the command has exec'd. It never returns.
//
//go:nosplit
//go:norace
//go:nocheckptr
func initReap(in *initData, command uintptr) {
	var (
		got         uintptr // bytes read from the signalfd
		pid         uintptr // a child wait4 reaped
		fd          uintptr // the fd loop where close_range is missing
		pgCommand   uintptr // the command's process group
		pgInit      uintptr // PID 1's process group
		status      uintptr // PID 1's exit status
		errno       syscall.Errno
		reaped      bool
		commandDone bool
	)
	in.child = command
	// Every fd but stdio and the signalfd goes: rawns's own (which the
	// parent's pipes to --trace's helper, or a caller's, must not
	// outlive), and the error pipe, whose EOF now tells the parent that
	// the command runs.
	rawSyscall(unix.SYS_CLOSE_RANGE, 3, in.sfd-1, 0)
	_, _, errno = rawSyscall(unix.SYS_CLOSE_RANGE, in.sfd+1, ^uintptr(0), 0)
	if errno == unix.ENOSYS || errno == unix.EINVAL {
		for fd = 3; fd < in.nofile; fd++ {
			if fd != in.sfd {
				rawSyscall(unix.SYS_CLOSE, fd, 0, 0)
			}
		}
	}
	for !commandDone {
		got, _, errno = rawSyscall(unix.SYS_READ, in.sfd, uintptr(unsafe.Pointer(&in.info)), unsafe.Sizeof(in.info))
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 || got != unsafe.Sizeof(in.info) {
			// Nothing to read signals from: reap, blocking.
			for !commandDone {
				pid, _, errno = rawSyscall6(unix.SYS_WAIT4, ^uintptr(0), uintptr(unsafe.Pointer(&in.wstatus)), 0, 0, 0, 0)
				reaped = errno == 0 && pid == in.child
				commandDone = reaped || errno != 0 && errno != unix.EINTR
			}
			break
		}
		if in.info.signo == uint32(unix.SIGCHLD) {
			// Every zombie, orphans of the namespace included; the
			// signal may stand for several.
			for {
				pid, _, errno = rawSyscall6(unix.SYS_WAIT4, ^uintptr(0), uintptr(unsafe.Pointer(&in.wstatus)), unix.WNOHANG, 0, 0, 0)
				if errno == unix.EINTR {
					continue
				}
				if errno != 0 || pid == 0 {
					break
				}
				if pid == in.child {
					reaped, commandDone = true, true
					break
				}
			}
			continue
		}
		if in.info.code == siKernel {
			// The terminal's: the command has its own copy if it is in
			// this process group.
			pgCommand, _, errno = rawSyscall(unix.SYS_GETPGID, in.child, 0, 0)
			pgInit, _, _ = rawSyscall(unix.SYS_GETPGID, 0, 0, 0)
			if errno == 0 && pgCommand == pgInit {
				continue
			}
		}
		rawSyscall(unix.SYS_KILL, in.child, uintptr(in.info.signo), 0)
	}
	// Go with the command's status. The kernel kills what is left in the
	// namespace when PID 1 exits.
	status = ExitSetupFailed // wait4 failed: nothing to report the command's status by
	if reaped {
		if in.wstatus&0x7f == 0 {
			status = uintptr(in.wstatus>>8) & 0xff // exited
		} else {
			status = ExitSignalBase + uintptr(in.wstatus&0x7f) // killed
		}
	}
	for {
		rawSyscall(unix.SYS_EXIT_GROUP, status, 0, 0)
	}
}
