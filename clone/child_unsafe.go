//go:build linux && (amd64 || arm64)

package clone

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The runtime's fork hooks. The runtime exports them to package syscall and
// promises to keep them for others (go.dev/issue/67401; the comment above
// syscall_runtime_BeforeFork in runtime/proc.go).
//
// BeforeFork blocks every signal on this thread, stops preemption and spoils
// the goroutine's stack guard so that any stack growth in the child throws
// "stack growth after fork". AfterFork undoes that in the parent.
// AfterForkInChild resets the signal handlers Go installed to SIG_DFL and
// restores the saved signal mask; it is nosplit and only reads shared memory,
// so a vfork child may call it.

//go:linkname runtime_BeforeFork syscall.runtime_BeforeFork
func runtime_BeforeFork()

//go:linkname runtime_AfterFork syscall.runtime_AfterFork
func runtime_AfterFork()

//go:linkname runtime_AfterForkInChild syscall.runtime_AfterForkInChild
func runtime_AfterForkInChild()

// rawVfork makes a system call that may return twice on one stack: in the
// parent, and in a CLONE_VM child. It keeps its return address in a
// register across the call, because the child overwrites the shared stack
// below the caller's frame before the parent resumes (trampoline_*.s).
//
//go:noescape
func rawVfork(trap, a1, a2, a3 uintptr) (r1 uintptr, err syscall.Errno)

// cloneOnStack makes a clone whose CLONE_VM child runs on a stack of its
// own, at the same time as the parent, and calls fn(d) there, fn being the
// entry of childMain that childMainPC returns (trampoline_*.s). It returns
// only in the parent.
//
//go:noescape
func cloneOnStack(trap, a1, a2, a3, fn uintptr, d *childData) (r1 uintptr, err syscall.Errno)

// rawSyscall and rawSyscall6 are the child's system calls: one
// instruction, no Go function and no wrapper on the way (trampoline_*.s
// says why not unix.RawSyscall).
//
//go:noescape
func rawSyscall(trap, a1, a2, a3 uintptr) (r1, r2 uintptr, err syscall.Errno)

//go:noescape
func rawSyscall6(trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, r2 uintptr, err syscall.Errno)

// childMainFunc is childMain as a func value: static data, whose first
// word is the code address of childMain's own (ABIInternal) entry, not of
// the ABI0 wrapper the assembler would call, which under -race enters the
// race detector.
var childMainFunc = childMain

// childMainPC is childMain's ABIInternal entry.
func childMainPC() uintptr {
	return **(**uintptr)(unsafe.Pointer(&childMainFunc))
}

// cloneArgs is struct clone_args of linux/sched.h (clone3(2)), up to and
// including the cgroup field (CLONE_ARGS_SIZE_VER2, 88 bytes).
type cloneArgs struct {
	flags      uint64
	pidfd      uint64 // *int32 the kernel writes the pidfd into
	childTID   uint64
	parentTID  uint64
	exitSignal uint64
	stack      uint64
	stackSize  uint64
	tls        uint64
	setTID     uint64
	setTIDSize uint64
	cgroup     uint64
}

// childReport is what a failing child writes to the error pipe: 12 bytes,
// below PIPE_BUF, so the write is atomic (pipe(7)). step is the index of
// the failing step of the table plus one, 0 for a stage of no table step.
type childReport struct {
	stage uint32
	errno uint32
	step  uint32
}

// reportSize is the size of a childReport on the pipe.
const reportSize = 12

// ifreq is struct ifreq of linux/if.h as SIOCGIFFLAGS and SIOCSIFFLAGS use
// it: the interface name, then the flags as a short (netdevice(7)).
type ifreq struct {
	name  [unix.IFNAMSIZ]byte
	flags uint16
	_     [22]byte
}

// childData is everything the child reads between clone and exec, grouped
// in the order of the child's phases (childMain). The parent fills it in
// before the clone; the child writes only its scratch (x, the slots, the
// console's cmsg), never a pointer, so that no write barrier can run in
// the child. In a vfork-style clone those writes land in the parent's
// memory, which is why they are kept apart: after the clone the parent
// reads nothing of them but what comes through the pipe, and of the rest
// only pidfd, which the kernel writes at the clone.
type childData struct {
	// The clone (cloneExec, in the parent).
	useClone3    bool
	clearSighand bool    // CLONE_CLEAR_SIGHAND was set: handlers are SIG_DFL already
	onStack      bool    // a CLONE_VM child on args.stack (cloneOnStack): Spec.Init, shared
	mainPC       uintptr // with onStack: childMainPC()
	cloneFlags   uintptr // flags for clone(2), exit signal in the low byte
	args         cloneArgs
	pidfd        int32
	// A PID namespace joined (Spec.Join): the cloning thread enters it
	// right before the clone and goes back to pidRestoreFD (its own
	// pid_for_children) right after; the parent writes the errnos.
	pidJoinFD       int
	pidRestoreFD    int
	pidJoinErrno    syscall.Errno
	pidRestoreErrno syscall.Errno

	// Setup (childSetup).
	holdFD    int    // read end of the hold pipe, or -1
	userRoot  bool   // become uid and gid 0 of the new user namespace
	mask      uint64 // the empty signal set
	pdeathsig bool

	// Namespaces (childNamespaces).
	propagation    uintptr // MS_PRIVATE, MS_SLAVE or MS_SHARED with MS_REC; 0 to leave /
	mountProc      bool
	loopback       bool
	hostname       *byte // nil: leave the hostname alone
	hostnameLen    uintptr
	timeOffsets    *byte // nil: no offsets; else the text for timens_offsets
	timeOffsetsLen uintptr
	timeSetns      bool // then setns into the namespace, not wait for execve

	// The step table (steps_unsafe.go): segment i is steps[seg[i-1]:seg[i]].
	steps *[maxSteps]step
	seg   [segSlots]uint16
	slot  *[numSlots]uintptr // scratch: the steps' fds

	// A plain working directory (no Root), after the mount phase.
	dir *byte

	// The console of Spec.ConsoleSocket (console_unsafe.go), nil without
	// one; its slave goes on consoleFD, where segFDs takes it from.
	console   *consoleData
	consoleFD uintptr

	// The fds (childFDs): the error pipe before and after segFDs, the
	// first fd segFDs leaves close-on-exec, and the rlimit that bounds
	// the fcntl loop where close_range(2) is missing.
	pipe         int
	pipeAfterFDs int
	firstCloexec uintptr
	nofile       uintptr

	// The privilege phase (privilege.go), nil without one; read only.
	priv *privData

	// The gate (childGate): Spec.GateFD as segFDs left it, or -1.
	gateFD int

	// The reaper of Spec.Init (init_unsafe.go), nil without it; what its
	// PID 1 wipes first (initHideNow).
	init   *initData
	wipe   *[maxWipe]unix.Iovec
	nwipe  uintptr
	zeroFD uintptr

	// What to exec (childExec). execFD, if not -1, is the program's fd as
	// segFDs left it: execveat(execFD, "", AT_EMPTY_PATH) instead of
	// execve(path).
	path   *byte
	argv   **byte
	envp   **byte
	execFD int
	// With execFD: "/proc/self/fd/N" of it, what childExec tries when
	// execveat(2) fails with ENOENT (as it does for every fd, from the
	// initramfs root of vmtest's Linux 5.10 VM; through /proc it works).
	execProc *byte
	// Spec.ShimFD without a gate: the error pipe stays open across the
	// exec of the shim, which reports a failing execve of the program
	// (childFDs clears its close-on-exec flag).
	shimPipe bool
	marker   [1]byte // execMarker
	gateMk   [1]byte // gateMarker

	x childScratch
}

// childScratch is what the child writes of childData.
type childScratch struct {
	report childReport
	ifr    ifreq   // SIOCGIFFLAGS's answer, the name "lo" prepared
	pipe   int     // the error pipe now: pipe, then pipeAfterFDs, then -1 past the gate
	buf    [1]byte // the byte of the hold pipe or the gate
}

// parseReport reads a childReport as the child wrote it; b holds reportSize bytes.
func parseReport(b []byte) childReport {
	return *(*childReport)(unsafe.Pointer(&b[0]))
}

// pidfdAddr is where clone3 writes the pidfd (clone_args.pidfd): d.pidfd,
// which stays put because d lives in prepared until the clone returns.
func (d *childData) pidfdAddr() uint64 {
	return uint64(uintptr(unsafe.Pointer(&d.pidfd)))
}

// execMarker is the byte the child writes to the error pipe right before
// execve(2): every step before it went well. Without it, a child killed
// before exec (a seccomp KILL, the OOM killer) closes the pipe exactly as
// a successful exec does, and the parent would take the death for the
// command's (cloneWithPipes reads the pipe).
const execMarker = 0xEE

// gateMarker is the byte a gated child (Spec.GateFD) writes to the error
// pipe when it waits at the gate, before it closes the pipe.
const gateMarker = 0xA7

// atFDCWD is AT_FDCWD (-100) as a system call argument.
const atFDCWD = ^uintptr(99)

// Constant strings the child passes to the kernel, NUL-terminated.
var (
	strNone  = [...]byte{'n', 'o', 'n', 'e', 0}
	strSlash = [...]byte{'/', 0}
	strProc  = [...]byte{'p', 'r', 'o', 'c', 0}
	strEmpty = [...]byte{0}
	strPProc = [...]byte{'/', 'p', 'r', 'o', 'c', 0}
	// Through the mount namespace the child is in: the host's /proc, before
	// any pivot_root.
	strTimensOffsets   = [...]byte{'/', 'p', 'r', 'o', 'c', '/', 's', 'e', 'l', 'f', '/', 't', 'i', 'm', 'e', 'n', 's', '_', 'o', 'f', 'f', 's', 'e', 't', 's', 0}
	strTimeForChildren = [...]byte{'/', 'p', 'r', 'o', 'c', '/', 's', 'e', 'l', 'f', '/', 'n', 's', '/', 't', 'i', 'm', 'e', '_', 'f', 'o', 'r', '_', 'c', 'h', 'i', 'l', 'd', 'r', 'e', 'n', 0}
)

// cloneExec clones and, in the child, runs childMain, which prepares the
// namespaces and execs. It returns only in the parent: the child's pid, or
// the clone's errno.
//
// Preconditions: the caller runs on a locked OS thread, holds
// syscall.ForkLock, and calls runtime_AfterFork right after this returns;
// d and everything it points to stay alive until then.
//
// Everything after runtime_BeforeFork up to the return in the parent calls
// only nosplit assembly (rawVfork) and childMain.
// TestChildPathCallsOnlyRawSyscalls disassembles both, and every function
// they call, and fails on any other call.
//
//go:noinline
//go:norace
//go:nocheckptr
func cloneExec(d *childData) (pid uintptr, err1 syscall.Errno) {
	runtime_BeforeFork()
	// A PID namespace is joined by the process that clones: setns(2)
	// with CLONE_NEWPID changes only the namespace of the caller's
	// children (pid_namespaces(7)). This thread enters it here, where
	// nothing but raw system calls runs until it leaves: no goroutine is
	// scheduled (BeforeFork stopped preemption), so the runtime cannot
	// create a thread from it meanwhile, which would fail (clone(2):
	// CLONE_THREAD with a pid_for_children that is not the active one is
	// EINVAL) and crash the process. Init never joins one (Validate).
	if d.pidJoinFD >= 0 {
		_, _, d.pidJoinErrno = rawSyscall(unix.SYS_SETNS, uintptr(d.pidJoinFD), unix.CLONE_NEWPID, 0)
		if d.pidJoinErrno != 0 {
			return 0, d.pidJoinErrno
		}
	}
	if d.onStack {
		// PID 1 of Spec.Init on rawns's memory and a stack of its own
		// (init_unsafe.go); the child calls childMain itself.
		pid, err1 = cloneOnStack(unix.SYS_CLONE3, uintptr(unsafe.Pointer(&d.args)), unsafe.Sizeof(d.args), 0, d.mainPC, d)
		return
	}
	if d.useClone3 {
		pid, err1 = rawVfork(unix.SYS_CLONE3, uintptr(unsafe.Pointer(&d.args)), unsafe.Sizeof(d.args), 0)
	} else {
		// clone(flags, stack, parent_tid, child_tid, tls) on amd64 and
		// arm64; CLONE_PIDFD returns the pidfd through parent_tid.
		pid, err1 = rawVfork(unix.SYS_CLONE, d.cloneFlags, 0, uintptr(unsafe.Pointer(&d.pidfd)))
	}
	if err1 != 0 || pid != 0 {
		// The parent. In a vfork-style clone the child has used the stack
		// below this frame, and may have written this frame's slots: only
		// the return PC (kept in a register by rawVfork), its results,
		// written after we resumed, and d, the same in both, are ours.
		// Back to our own PID namespace for children, and return.
		if d.pidJoinFD >= 0 {
			_, _, d.pidRestoreErrno = rawSyscall(unix.SYS_SETNS, uintptr(d.pidRestoreFD), unix.CLONE_NEWPID, 0)
		}
		return
	}
	// Go's signal handlers go first: the runtime resets the ones it
	// installed to SIG_DFL (with clone3, CLONE_CLEAR_SIGHAND did it in the
	// kernel). Here rather than in childMain, so that the runtime's chain
	// of nosplit calls runs beside childMain's frame, not below it.
	if !d.clearSighand {
		runtime_AfterForkInChild()
	}
	childMain(d)
	return // not reached: childMain execs or exits
}

// childMain is the child: from clone returning 0 to execve(2) or
// exit_group(2), raw system calls on memory prepared by the parent, and
// nothing else. It never returns. It is the child's order, one phase a
// line; each phase is a nosplit function of its own that returns 0 or the
// errno of the step that failed, having left the stage (and a table
// step's index) in d.x.report. The order is a security property; each
// phase's comment says the kernel rule that puts it there, and
// docs/how-it-works.md has the table.
//
// It is nosplit, as every function it calls: it runs on the parent's
// stack below cloneExec's frame (a vfork-style child), on a copy of it (a
// fork-style one), or on a stack of its own that is no goroutine's
// (cloneOnStack, Spec.Init), where a stack check against the goroutine's
// bounds would be meaningless. The locals are all declared first, so that
// none can be moved to the heap.
//
//go:nosplit
//go:noinline
//go:norace
//go:nocheckptr
func childMain(d *childData) {
	var (
		errno   syscall.Errno
		command uintptr // Spec.Init: the command's pid, as PID 1 sees it
	)
	// Wait for the parent's step, empty the signal mask, die with the
	// parent's thread.
	if errno = childSetup(d); errno != 0 {
		goto failed
	}
	// Spec.Init: PID 1 shows nothing of the host, before anything can
	// look at it, while the parent's fds are all there.
	if d.init != nil {
		if errno = initHideNow(d); errno != 0 {
			goto failed
		}
	}
	// Enter the namespaces joined; then what each new namespace needs
	// first: the propagation of /, /proc, lo, the hostname, clock offsets.
	if errno = childNamespaces(d); errno != 0 {
		goto failed
	}
	// The procfs writes (procfs.go): sysctls and oom_score_adj, for the
	// namespaces just entered and made, through a proc of the child's own.
	if errno = runSteps(d, segProcfs); errno != 0 {
		goto failed
	}
	// The mount phase (mountsteps_unsafe.go): after every step that reads
	// the host's /proc (the time offsets above), which a pivot_root takes
	// away; before the fds, whose dup3(2)s and close_range(2) cover any fd
	// it leaves open.
	if errno = runSteps(d, segMount); errno != 0 {
		goto failed
	}
	if d.dir != nil {
		if errno = childChdir(d); errno != 0 {
			goto failed
		}
	}
	// The console: after the mount phase, so that /dev/ptmx is the
	// root's; before the fds, which put its slave on 0, 1 and 2.
	if d.console != nil {
		if errno = childConsole(d); errno != 0 {
			goto failed
		}
	}
	// The program's fd table: Stdio, ExtraFDs, the rest close-on-exec.
	if errno = childFDs(d); errno != 0 {
		goto failed
	}
	// Privilege, narrowed right before the exec (privilege_unsafe.go):
	// everything above may have needed it.
	if d.priv != nil {
		if errno = childPrivilege(d); errno != 0 {
			goto failed
		}
	}
	// The start gate: every step is made but a no_new_privs filter.
	if d.gateFD >= 0 {
		if errno = childGate(d); errno != 0 {
			goto failed
		}
	}
	// seccomp last with no_new_privs: the filter need not allow any step
	// above. (Without it, the filter went in before the capability steps.)
	if d.priv != nil && d.priv.seccomp {
		if errno = childSeccomp(d, StageSeccomp); errno != 0 {
			goto failed
		}
	}
	// Spec.Init: this process stays, as PID 1, and clones the command
	// vfork-style on its own memory and stack (init_unsafe.go). The
	// command runs on this frame while PID 1 sleeps in rawVfork, so it
	// must not return from childMain: it goes on to the exec below, and
	// PID 1, once resumed, reads only rawVfork's results and d.
	if d.init != nil {
		if errno = initPrepare(d); errno != 0 {
			goto failed
		}
		command, errno = rawVfork(unix.SYS_CLONE, initCommandClone, 0, 0)
		if errno != 0 {
			goto failed
		}
		if command != 0 {
			initReap(d.init, command) // PID 1: never returns
		}
		if errno = initCommand(d); errno != 0 {
			goto failed
		}
	}
	errno = childExec(d)
failed:
	childFail(d, errno)
}

// childSetup is the child's first phase.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childSetup(d *childData) syscall.Errno {
	var (
		n     uintptr
		errno syscall.Errno
	)
	// Wait for the parent's step (uid/gid maps, Hold). One byte means go
	// on; EOF means the parent gave up, and it will reap us.
	if d.holdFD >= 0 {
		n, _, errno = rawSyscall(unix.SYS_READ, uintptr(d.holdFD), uintptr(unsafe.Pointer(&d.x.buf[0])), 1)
		if errno != 0 || n != 1 {
			d.x.report.stage = uint32(StageHold)
			if errno == 0 {
				errno = syscall.EPIPE
			}
			return errno
		}
	}
	// In a new user namespace the child keeps the ids it was cloned
	// with, which the maps need not map: root cloning with 0 mapped to
	// 1000 is uid 65534 inside, and every file it creates would need an
	// owner the namespace cannot represent (mkdirat: EOVERFLOW). Become
	// the namespace's root, as runc does, now that the maps are written:
	// CAP_SETUID and CAP_SETGID are the namespace's to give, and becoming
	// its root uid keeps the capabilities (capabilities(7)). Before
	// PR_SET_PDEATHSIG, which a change of the effective ids clears.
	if d.userRoot {
		_, _, errno = rawSyscall(unix.SYS_SETRESGID, 0, 0, 0)
		if errno == 0 {
			_, _, errno = rawSyscall(unix.SYS_SETRESUID, 0, 0, 0)
		}
		if errno != 0 {
			d.x.report.stage = uint32(StageUserRoot)
			return errno
		}
	}
	// The signal handlers are SIG_DFL (cloneExec, or clone3's
	// CLONE_CLEAR_SIGHAND). Unblock everything: the mask survives execve
	// (signal(7)), and BeforeFork blocked all signals.
	_, _, errno = rawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&d.mask)), 0, unsafe.Sizeof(d.mask), 0, 0)
	if errno != 0 {
		d.x.report.stage = uint32(StageSignals)
		return errno
	}
	// Die with the parent's cloning thread, unless the caller wants the
	// child to outlive it (Spec.NoParentDeathSignal). In a new PID
	// namespace the child is its init, which ignores every signal it has
	// no handler for, except SIGKILL from an ancestor namespace
	// (pid_namespaces(7)).
	if d.pdeathsig {
		_, _, errno = rawSyscall(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0)
		if errno != 0 {
			d.x.report.stage = uint32(StagePdeathsig)
			return errno
		}
	}
	return 0
}

// childNamespaces joins the namespaces of Spec.Join and makes the first
// steps each new namespace needs.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childNamespaces(d *childData) syscall.Errno {
	var errno syscall.Errno
	// setns(2) first, so that every step below acts in the namespaces
	// the program will be in; user first, which gives the capabilities
	// the others need (the parent sorted them).
	if errno = runSteps(d, segJoin); errno != 0 {
		return errno
	}
	// A new mount namespace starts with copies of the parent's mounts and
	// their propagation: change / recursively before mounting anything,
	// or mounts made here would appear on the host (mount_namespaces(7)).
	if d.propagation != 0 {
		_, _, errno = rawSyscall6(unix.SYS_MOUNT, uintptr(unsafe.Pointer(&strNone[0])), uintptr(unsafe.Pointer(&strSlash[0])), 0, d.propagation, 0, 0)
		if errno != 0 {
			d.x.report.stage = uint32(StagePropagation)
			return errno
		}
	}
	// /proc shows the PID namespace of whoever mounted it.
	if d.mountProc {
		_, _, errno = rawSyscall6(unix.SYS_MOUNT, uintptr(unsafe.Pointer(&strProc[0])), uintptr(unsafe.Pointer(&strPProc[0])), uintptr(unsafe.Pointer(&strProc[0])), unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, 0, 0)
		if errno != 0 {
			d.x.report.stage = uint32(StageMountProc)
			return errno
		}
	}
	if d.loopback {
		if errno = childLoopback(d); errno != 0 {
			return errno
		}
	}
	if d.hostname != nil {
		_, _, errno = rawSyscall(unix.SYS_SETHOSTNAME, uintptr(unsafe.Pointer(d.hostname)), d.hostnameLen, 0)
		if errno != 0 {
			d.x.report.stage = uint32(StageHostname)
			return errno
		}
	}
	if d.timeOffsets != nil {
		return childTimeOffsets(d)
	}
	return 0
}

// childLoopback brings lo up: a new network namespace has only lo, and it
// is down (network_namespaces(7)). One AF_INET socket and two ioctls on a
// prepared struct ifreq (netdevice(7)); no netlink, no step of the parent.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childLoopback(d *childData) syscall.Errno {
	var (
		sock  uintptr
		errno syscall.Errno
	)
	d.x.report.stage = uint32(StageLoopback)
	sock, _, errno = rawSyscall(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if errno != 0 {
		return errno
	}
	_, _, errno = rawSyscall(unix.SYS_IOCTL, sock, unix.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&d.x.ifr)))
	if errno == 0 {
		d.x.ifr.flags |= unix.IFF_UP
		_, _, errno = rawSyscall(unix.SYS_IOCTL, sock, unix.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&d.x.ifr)))
	}
	rawSyscall(unix.SYS_CLOSE, sock, 0, 0)
	return errno
}

// childTimeOffsets makes the time namespace for the clock offsets. Offsets
// can only be written before any process is in the namespace
// (time_namespaces(7)), and clone3's CLONE_NEWTIME puts a fork-style
// child in at once. So: unshare(CLONE_NEWTIME), which creates the
// namespace for the children to come (Linux 5.6+), write the offsets, and
// go in: by execve in a vfork-style child (Linux 6.2+,
// execEntersTimeNamespace), by setns(2) in a fork-style one, which is
// alone on its memory as setns into a time namespace requires.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childTimeOffsets(d *childData) syscall.Errno {
	var (
		fd    uintptr
		errno syscall.Errno
	)
	d.x.report.stage = uint32(StageTimeOffsets)
	_, _, errno = rawSyscall(unix.SYS_UNSHARE, unix.CLONE_NEWTIME, 0, 0)
	if errno != 0 {
		return errno
	}
	fd, _, errno = rawSyscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(&strTimensOffsets[0])), unix.O_WRONLY|unix.O_CLOEXEC, 0, 0, 0)
	if errno != 0 {
		return errno
	}
	_, _, errno = rawSyscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(d.timeOffsets)), d.timeOffsetsLen)
	rawSyscall(unix.SYS_CLOSE, fd, 0, 0)
	if errno != 0 || !d.timeSetns {
		return errno
	}
	fd, _, errno = rawSyscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(&strTimeForChildren[0])), unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0)
	if errno != 0 {
		return errno
	}
	_, _, errno = rawSyscall(unix.SYS_SETNS, fd, unix.CLONE_NEWTIME, 0)
	rawSyscall(unix.SYS_CLOSE, fd, 0, 0)
	return errno
}

// childChdir changes to Spec.Dir without a Root (with one, segMount
// resolves Dir inside the root).
//
//go:nosplit
//go:norace
//go:nocheckptr
func childChdir(d *childData) syscall.Errno {
	_, _, errno := rawSyscall(unix.SYS_CHDIR, uintptr(unsafe.Pointer(d.dir)), 0, 0)
	if errno != 0 {
		d.x.report.stage = uint32(StageChdir)
	}
	return errno
}

// childFDs makes the program's fd table (fdsteps.go): segFDs puts Stdio
// on 0-2 and ExtraFDs above, clearing close-on-exec, and keeps the fds
// the child still needs above them; then every other fd is marked
// close-on-exec, so that only those reach the program. The error pipe
// stays open (close-on-exec) until execve.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childFDs(d *childData) syscall.Errno {
	var (
		fd    uintptr
		errno syscall.Errno
	)
	if errno = runSteps(d, segFDs); errno != 0 {
		return errno
	}
	d.x.pipe = d.pipeAfterFDs
	// close_range(2) needs Linux 5.11; before that, one fcntl per fd.
	_, _, errno = rawSyscall(unix.SYS_CLOSE_RANGE, d.firstCloexec, ^uintptr(0), unix.CLOSE_RANGE_CLOEXEC)
	if errno == unix.ENOSYS || errno == unix.EINVAL {
		for fd = d.firstCloexec; fd < d.nofile; fd++ {
			rawSyscall(unix.SYS_FCNTL, fd, unix.F_SETFD, unix.FD_CLOEXEC)
		}
		errno = 0
	}
	// The exec shim reports for the program (execshim.go): the pipe
	// stays open across the shim's execve, which marks it close-on-exec
	// again. Here, before any seccomp filter.
	if errno == 0 && d.shimPipe {
		_, _, errno = rawSyscall(unix.SYS_FCNTL, uintptr(d.x.pipe), unix.F_SETFD, 0)
	}
	if errno != 0 {
		d.x.report.stage = uint32(StageCloseFDs)
	}
	return errno
}

// childGate is the start gate (Spec.GateFD): every setup step is made but
// seccomp. Say so (the marker), close the error pipe, whose reader may be
// gone by the time the gate opens (a write then would be SIGPIPE, or EPIPE
// for nobody), and wait for one byte. EOF or an error: leave, running
// nothing. From here a failure is an exit status (childFail).
//
//go:nosplit
//go:norace
//go:nocheckptr
func childGate(d *childData) syscall.Errno {
	var (
		n     uintptr
		errno syscall.Errno
	)
	rawSyscall(unix.SYS_WRITE, uintptr(d.x.pipe), uintptr(unsafe.Pointer(&d.gateMk[0])), 1)
	// The only copy: segFDs moves the pipe only off a number that one of
	// the program's fds then takes.
	rawSyscall(unix.SYS_CLOSE, uintptr(d.x.pipe), 0, 0)
	d.x.pipe = -1
	for {
		n, _, errno = rawSyscall(unix.SYS_READ, uintptr(d.gateFD), uintptr(unsafe.Pointer(&d.x.buf[0])), 1)
		if errno != unix.EINTR {
			break
		}
	}
	if errno == 0 && n != 1 {
		errno = syscall.EPIPE // EOF
	}
	if errno != 0 {
		d.x.report.stage = uint32(StageGate)
	}
	return errno
}

// childSeccomp installs the filter, as stage st: StageSeccomp, last, with
// no_new_privs (it need not allow anything above), or StageSeccompEarly,
// before the capability steps (childPrivilege). The compiler
// (security/seccomp) checks that it allows write(2), execve(2) and
// exit_group(2), which the child still needs.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childSeccomp(d *childData, st Stage) syscall.Errno {
	_, _, errno := rawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&d.priv.prog)))
	if errno != 0 {
		d.x.report.stage = uint32(st)
	}
	return errno
}

// childExec writes the exec marker and execs; it returns only if execve
// failed.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childExec(d *childData) syscall.Errno {
	var errno syscall.Errno
	// One byte into the pipe's buffer: no blocking, and signals that
	// could interrupt it have their default action now. (Past the gate
	// the pipe is closed.)
	if d.x.pipe >= 0 {
		rawSyscall(unix.SYS_WRITE, uintptr(d.x.pipe), uintptr(unsafe.Pointer(&d.marker[0])), 1)
	}
	if d.execFD >= 0 {
		_, _, errno = rawSyscall6(unix.SYS_EXECVEAT, uintptr(d.execFD), uintptr(unsafe.Pointer(&strEmpty[0])), uintptr(unsafe.Pointer(d.argv)), uintptr(unsafe.Pointer(d.envp)), unix.AT_EMPTY_PATH, 0)
		if errno == unix.ENOENT && d.execProc != nil {
			_, _, errno = rawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(d.execProc)), uintptr(unsafe.Pointer(d.argv)), uintptr(unsafe.Pointer(d.envp)))
		}
	} else {
		_, _, errno = rawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(d.path)), uintptr(unsafe.Pointer(d.argv)), uintptr(unsafe.Pointer(d.envp)))
	}
	d.x.report.stage = uint32(StageExec)
	return errno
}

// childFail reports errno and the stage in d.x.report to the parent, and
// exits. Past the gate nobody reads the pipe: the exit status is the
// report, with runc's numbers (Spec.GateFD).
//
//go:nosplit
//go:norace
//go:nocheckptr
func childFail(d *childData, errno syscall.Errno) {
	var status uintptr
	if d.x.pipe < 0 {
		status = ExitSetupFailed
		if d.x.report.stage == uint32(StageExec) {
			status = ExitCannotInvoke
			if errno == unix.ENOENT || errno == unix.ENOTDIR || errno == unix.ELOOP {
				status = ExitNotFound
			}
		}
		for {
			rawSyscall(unix.SYS_EXIT_GROUP, status, 0, 0)
		}
	}
	d.x.report.errno = uint32(errno)
	rawSyscall(unix.SYS_WRITE, uintptr(d.x.pipe), uintptr(unsafe.Pointer(&d.x.report)), unsafe.Sizeof(d.x.report))
	for {
		rawSyscall(unix.SYS_EXIT_GROUP, ExitSetupFailed, 0, 0)
	}
}
