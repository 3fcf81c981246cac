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
// the failing step of the mount phase (meaningless in other stages).
type childReport struct {
	stage uint32
	errno uint32
	step  uint32
}

// reportSize is the size of a childReport on the pipe.
const reportSize = 12

// step is one prepared system call of the mount phase (mountsteps_unsafe.go
// builds them): trap(a[0], ..., a[5]) with every pointer argument already
// pointing into memory the parent prepared. Bit i of slots says that a[i]
// is not a value but the number of a slot, whose value the child passes
// instead: a slot holds an fd an earlier step returned (save), so that
// open_tree's fd can reach move_mount without the parent knowing its
// number. okErrno is an errno that counts as success (EEXIST for a mount
// point that is there already); ignore makes every error count as success
// (close). ifFailed runs the step only if the one before failed with its
// okErrno: a lookup of a mount point that the step before created, and
// whose fd it left, unless it was there already.
type step struct {
	trap     uintptr
	a        [6]uintptr
	slots    uint8
	save     uint8 // slot for the result; slotNone drops it
	stage    uint8 // the Stage reported if the step fails
	okErrno  uint8
	ignore   bool
	ifFailed bool
}

// maxSteps bounds the step table: a uint8 index into a [256] array needs no
// bounds check in the child, and nsteps (a uint8) stops at 255.
const maxSteps = 256

// numSlots is the number of fd slots of the mount phase: a few for the
// steps, one per bind (MaxMounts). Slot numbers are masked with
// numSlots-1, which the compiler proves in range.
const numSlots = 128

// ifreq is struct ifreq of linux/if.h as SIOCGIFFLAGS and SIOCSIFFLAGS use
// it: the interface name, then the flags as a short (netdevice(7)).
type ifreq struct {
	name  [unix.IFNAMSIZ]byte
	flags uint16
	_     [22]byte
}

// childData is everything the child reads between clone and exec. The
// parent fills it in before the clone; the child reads it and may write only
// its scalar scratch fields (fd, pipe, nextfd, ifr, report), never a
// pointer, so that no write barrier can run in the child. In a vfork-style
// clone those writes land in the parent's memory: the parent reads none of
// them after the clone but report's bytes, which come through the pipe.
type childData struct {
	// Clone arguments.
	useClone3    bool
	clearSighand bool    // CLONE_CLEAR_SIGHAND was set: handlers are SIG_DFL already
	onStack      bool    // a CLONE_VM child on args.stack (cloneOnStack): Spec.Init, shared
	mainPC       uintptr // with onStack: childMainPC()
	cloneFlags   uintptr // flags for clone(2), exit signal in the low byte
	args         cloneArgs
	pidfd        int32

	// What to exec.
	path *byte
	argv **byte
	envp **byte
	dir  *byte // nil: stay where the parent is
	// execFD, if not -1, is the program's fd: execveat(execFD, "",
	// AT_EMPTY_PATH) instead of execve(path).
	execFD int

	hostname    *byte // nil: leave the hostname alone
	hostnameLen uintptr

	timeOffsets    *byte // nil: no offsets; else the text for timens_offsets
	timeOffsetsLen uintptr
	timeSetns      bool // then setns into the namespace, not wait for execve

	holdFD      int // read end of the hold pipe, or -1
	gateFD      int // Spec.GateFD, or -1
	pdeathsig   bool
	gated       bool // scratch: past the gate, the error pipe closed
	pipe        int  // write end of the error pipe; scratch: moved by stdio
	errPipe     int  // its number before stdio moved it
	fd          [3]int
	nextfd      int // first fd number above every fd in use
	nofile      uintptr
	propagation uintptr // MS_PRIVATE, MS_SLAVE or MS_SHARED with MS_REC; 0 to leave /
	mountProc   bool
	loopback    bool

	// The mount phase: steps[0:nsteps], built by the parent. steps points
	// to an array of nsteps entries; the child reads no further. slot is
	// the child's scratch (fds of the steps), never read by the parent;
	// both are allocated only for a spec with a mount phase.
	steps  *[maxSteps]step
	nsteps uint8
	slot   *[numSlots]uintptr

	ifr    ifreq
	report childReport

	// The privilege phase (privilege.go), nil without one; read only.
	priv *privData
	// The reaper of Spec.Init (init_unsafe.go), nil without it.
	init *initData
	// The console of Spec.ConsoleSocket (console_unsafe.go), nil without
	// one; the child writes only its cmsg's fd.
	console *consoleData

	mask   uint64 // the empty signal set
	hold   [1]byte
	marker [1]byte // execMarker
	gateMk [1]byte // gateMarker
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

// Constant strings the child passes to mount(2), NUL-terminated.
var (
	strNone  = [...]byte{'n', 'o', 'n', 'e', 0}
	strSlash = [...]byte{'/', 0}
	strProc  = [...]byte{'p', 'r', 'o', 'c', 0}
	strEmpty = [...]byte{0}
	// The name PID 1 of Spec.Init shows in ps (PR_SET_NAME, 15 bytes at most).
	strInitName = [...]byte{'r', 'a', 'w', 'n', 's', '-', 'i', 'n', 'i', 't', 0}
	strPProc    = [...]byte{'/', 'p', 'r', 'o', 'c', 0}
	// Relative to /proc/self, which the child opens through the mount
	// namespace it is in.
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
// TestChildPathCallsOnlyRawSyscalls disassembles both and fails on any
// other call.
//
//go:noinline
//go:norace
//go:nocheckptr
func cloneExec(d *childData) (pid uintptr, err1 syscall.Errno) {
	runtime_BeforeFork()
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
		// The parent. Return at once: in a vfork-style clone the child
		// has used the stack below this frame; only the return PC (kept
		// in a register by rawVfork) and its results, written after we
		// resumed, are ours.
		return
	}
	// Go's signal handlers go first: the runtime resets the ones it
	// installed to SIG_DFL (with clone3, CLONE_CLEAR_SIGHAND did it in the
	// kernel). Here rather than in childMain, whose own frame is large:
	// the runtime's chain of nosplit calls fits only beside a small one.
	if !d.clearSighand {
		runtime_AfterForkInChild()
	}
	childMain(d)
	return // not reached: childMain execs or exits
}

// childMain is the child: from clone returning 0 to execve(2) or
// exit_group(2), raw system calls on memory prepared by the parent, and
// nothing else. It never returns.
//
// It is nosplit, so it has no stack check: it runs on the parent's stack
// below cloneExec's frame (a vfork-style child), on a copy of it (a
// fork-style one), or on a stack of its own that is no goroutine's
// (cloneOnStack, Spec.Init), where a check against the goroutine's bounds
// would be meaningless. The locals are all declared first, so that none
// can be moved to the heap.
//
//go:nosplit
//go:noinline
//go:norace
//go:nocheckptr
func childMain(d *childData) {
	var (
		i    int
		r1   uintptr
		k    uint8
		j    uint
		st   *step
		a    [6]uintptr
		c    uintptr
		pid  uintptr
		ptm  uintptr       // the console's master
		pe   syscall.Errno // the mount phase: the errno of the step before, 0 if none
		err1 syscall.Errno
		in   *initData // Spec.Init: what PID 1 reads once the command runs
	)

	// The child. From here on: raw system calls on memory prepared by the
	// parent, and nothing else.

	// Wait for the parent's step (uid/gid maps, Hold). One byte means go
	// on; EOF means the parent gave up, and it will reap us.
	if d.holdFD >= 0 {
		r1, _, err1 = rawSyscall(unix.SYS_READ, uintptr(d.holdFD), uintptr(unsafe.Pointer(&d.hold[0])), 1)
		if err1 != 0 || r1 != 1 {
			d.report.stage = uint32(StageHold)
			if err1 == 0 {
				err1 = syscall.EPIPE
			}
			goto childerror
		}
	}

	// The signal handlers are SIG_DFL (cloneExec, or clone3's
	// CLONE_CLEAR_SIGHAND). Unblock everything: the mask survives execve
	// (signal(7)), and BeforeFork blocked all signals.
	_, _, err1 = rawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&d.mask)), 0, unsafe.Sizeof(d.mask), 0, 0)
	if err1 != 0 {
		d.report.stage = uint32(StageSignals)
		goto childerror
	}

	// Die with the parent's cloning thread, unless the caller wants the
	// child to outlive it (Spec.NoParentDeathSignal). In a new PID
	// namespace the child is its init, which ignores every signal it has
	// no handler for, except SIGKILL from an ancestor namespace
	// (pid_namespaces(7)).
	if d.pdeathsig {
		_, _, err1 = rawSyscall(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0)
		if err1 != 0 {
			d.report.stage = uint32(StagePdeathsig)
			goto childerror
		}
	}

	// A new mount namespace starts with copies of the parent's mounts and
	// their propagation: change / recursively before mounting anything,
	// or mounts made here would appear on the host (mount_namespaces(7)).
	if d.propagation != 0 {
		_, _, err1 = rawSyscall6(unix.SYS_MOUNT, uintptr(unsafe.Pointer(&strNone[0])), uintptr(unsafe.Pointer(&strSlash[0])), 0, d.propagation, 0, 0)
		if err1 != 0 {
			d.report.stage = uint32(StagePropagation)
			goto childerror
		}
	}
	if d.mountProc {
		_, _, err1 = rawSyscall6(unix.SYS_MOUNT, uintptr(unsafe.Pointer(&strProc[0])), uintptr(unsafe.Pointer(&strPProc[0])), uintptr(unsafe.Pointer(&strProc[0])), unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, 0, 0)
		if err1 != 0 {
			d.report.stage = uint32(StageMountProc)
			goto childerror
		}
	}

	// A new network namespace has only lo, and it is down (network_namespaces(7)).
	if d.loopback {
		r1, _, err1 = rawSyscall(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err1 != 0 {
			d.report.stage = uint32(StageLoopback)
			goto childerror
		}
		_, _, err1 = rawSyscall(unix.SYS_IOCTL, r1, unix.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&d.ifr)))
		if err1 == 0 {
			d.ifr.flags |= unix.IFF_UP
			_, _, err1 = rawSyscall(unix.SYS_IOCTL, r1, unix.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&d.ifr)))
		}
		rawSyscall(unix.SYS_CLOSE, r1, 0, 0)
		if err1 != 0 {
			d.report.stage = uint32(StageLoopback)
			goto childerror
		}
	}

	if d.hostname != nil {
		_, _, err1 = rawSyscall(unix.SYS_SETHOSTNAME, uintptr(unsafe.Pointer(d.hostname)), d.hostnameLen, 0)
		if err1 != 0 {
			d.report.stage = uint32(StageHostname)
			goto childerror
		}
	}

	// Time namespace offsets can only be written before any process is in
	// the namespace (time_namespaces(7)), and clone3's CLONE_NEWTIME puts
	// a fork-style child in at once. So: unshare(CLONE_NEWTIME), which
	// creates the namespace for the children to come (Linux 5.6+), write
	// the offsets, and go in: by execve in a vfork-style child (Linux 6.2+,
	// execEntersTimeNamespace), by setns(2) in a fork-style one.
	if d.timeOffsets != nil {
		d.report.stage = uint32(StageTimeOffsets)
		_, _, err1 = rawSyscall(unix.SYS_UNSHARE, unix.CLONE_NEWTIME, 0, 0)
		if err1 != 0 {
			goto childerror
		}
		r1, _, err1 = rawSyscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(&strTimensOffsets[0])), unix.O_WRONLY|unix.O_CLOEXEC, 0, 0, 0)
		if err1 != 0 {
			goto childerror
		}
		_, _, err1 = rawSyscall(unix.SYS_WRITE, r1, uintptr(unsafe.Pointer(d.timeOffsets)), d.timeOffsetsLen)
		rawSyscall(unix.SYS_CLOSE, r1, 0, 0)
		if err1 != 0 {
			goto childerror
		}
		// A fork-style child goes in now (setns(2) into a time namespace
		// needs a process alone on its memory, which it is; before Linux
		// 6.2 execve would not take it there).
		if d.timeSetns {
			r1, _, err1 = rawSyscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(&strTimeForChildren[0])), unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0)
			if err1 != 0 {
				goto childerror
			}
			_, _, err1 = rawSyscall(unix.SYS_SETNS, r1, unix.CLONE_NEWTIME, 0)
			rawSyscall(unix.SYS_CLOSE, r1, 0, 0)
			if err1 != 0 {
				goto childerror
			}
		}
	}

	// The mount phase: the root (bound onto itself, or an overlay), the
	// Mounts in their order, pivot_root into the root and the old root
	// detached, / made read-only, the working directory resolved inside
	// the root. It comes after every step that reads the host's /proc
	// (the time offsets above), because after pivot_root there may be no
	// /proc; and before stdio, whose dup3(2)s replace any of the fds it
	// leaves open (all O_CLOEXEC, closed by execve) that lands on a slot
	// stdio needs, and whose close_range(2) comes after it. Each
	// entry is one system call on prepared memory (mountsteps_unsafe.go
	// says why each is made as it is); a failing one reports its own
	// stage and its index, which the parent turns into the mount at fault.
	for k = 0; k < d.nsteps; k++ {
		st = &d.steps[k]
		if st.ifFailed && pe == 0 {
			continue
		}
		for j = 0; j < uint(len(a)); j++ {
			a[j] = st.a[j]
			if st.slots&(1<<j) != 0 {
				a[j] = d.slot[a[j]&(numSlots-1)]
			}
		}
		r1, _, err1 = rawSyscall6(st.trap, a[0], a[1], a[2], a[3], a[4], a[5])
		if err1 != 0 && !st.ignore && uintptr(err1) != uintptr(st.okErrno) {
			d.report.stage = uint32(st.stage)
			d.report.step = uint32(k)
			goto childerror
		}
		pe = err1
		d.slot[st.save&(numSlots-1)] = r1
	}
	err1 = 0

	// The console (Spec.ConsoleSocket; console_unsafe.go has the why of
	// each step). After the mount phase, so that /dev/ptmx is the root's,
	// a devpts instance of the command's own; before stdio, which then
	// puts the slave on 0, 1 and 2 as it puts any Stdio fd there (moving
	// what sits on a slot it needs above nextfd, which the slave's number
	// raises). Every fd here is close-on-exec; the master and the socket
	// are closed at once, so that neither reaches the command nor stays in
	// PID 1 of Spec.Init, which never execs.
	if d.console != nil {
		d.report.stage = uint32(StageConsoleOpen)
		ptm, _, err1 = rawSyscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(&strDevPtmx[0])), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0, 0, 0)
		if err1 != 0 {
			goto childerror
		}
		d.report.stage = uint32(StageConsoleUnlock)
		_, _, err1 = rawSyscall(unix.SYS_IOCTL, ptm, unix.TIOCSPTLCK, uintptr(unsafe.Pointer(&d.console.unlock)))
		if err1 == 0 && d.console.setSize {
			d.report.stage = uint32(StageConsoleSize)
			_, _, err1 = rawSyscall(unix.SYS_IOCTL, ptm, unix.TIOCSWINSZ, uintptr(unsafe.Pointer(&d.console.size)))
		}
		if err1 == 0 {
			d.report.stage = uint32(StageConsolePeer)
			r1, _, err1 = rawSyscall(unix.SYS_IOCTL, ptm, unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
		}
		if err1 == 0 {
			d.report.stage = uint32(StageConsoleSend)
			d.console.cmsg.fd = int32(ptm)
			_, _, err1 = rawSyscall(unix.SYS_SENDMSG, d.console.sock, uintptr(unsafe.Pointer(&d.console.msg)), unix.MSG_NOSIGNAL)
		}
		rawSyscall(unix.SYS_CLOSE, ptm, 0, 0)
		rawSyscall(unix.SYS_CLOSE, d.console.sock, 0, 0)
		if err1 != 0 {
			goto childerror
		}
		// The slave is stdio; the stdio step below must not dup3 onto it.
		d.fd[0], d.fd[1], d.fd[2] = int(r1), int(r1), int(r1)
		if int(r1) >= d.nextfd {
			d.nextfd = int(r1) + 1
		}
	}

	// Stdio. First move the error pipe and any fd that a lower slot would
	// overwrite above every fd in use, then dup each onto its slot; dup3
	// clears close-on-exec on the copy.
	d.report.stage = uint32(StageStdio)
	if d.pipe < d.nextfd {
		_, _, err1 = rawSyscall(unix.SYS_DUP3, uintptr(d.pipe), uintptr(d.nextfd), unix.O_CLOEXEC)
		if err1 != 0 {
			goto childerror
		}
		d.pipe = d.nextfd
		d.nextfd++
	}
	for i = 0; i < len(d.fd); i++ {
		if d.fd[i] < i {
			if d.nextfd == d.pipe {
				d.nextfd++
			}
			_, _, err1 = rawSyscall(unix.SYS_DUP3, uintptr(d.fd[i]), uintptr(d.nextfd), unix.O_CLOEXEC)
			if err1 != 0 {
				goto childerror
			}
			d.fd[i] = d.nextfd
			d.nextfd++
		}
	}
	for i = 0; i < len(d.fd); i++ {
		if d.fd[i] == i {
			// Same slot: just clear close-on-exec.
			_, _, err1 = rawSyscall(unix.SYS_FCNTL, uintptr(i), unix.F_SETFD, 0)
		} else {
			_, _, err1 = rawSyscall(unix.SYS_DUP3, uintptr(d.fd[i]), uintptr(i), 0)
		}
		if err1 != 0 {
			goto childerror
		}
	}

	// Every other fd the process inherited, close-on-exec, so that only 0,
	// 1 and 2 reach the program; the error pipe stays open until execve.
	// close_range(2) needs Linux 5.11; before that, one fcntl per fd.
	_, _, err1 = rawSyscall(unix.SYS_CLOSE_RANGE, 3, ^uintptr(0), unix.CLOSE_RANGE_CLOEXEC)
	if err1 == unix.ENOSYS || err1 == unix.EINVAL {
		for r1 = 3; r1 < d.nofile; r1++ {
			rawSyscall(unix.SYS_FCNTL, r1, unix.F_SETFD, unix.FD_CLOEXEC)
		}
		err1 = 0
	}
	if err1 != 0 {
		d.report.stage = uint32(StageCloseFDs)
		goto childerror
	}

	if d.dir != nil {
		_, _, err1 = rawSyscall(unix.SYS_CHDIR, uintptr(unsafe.Pointer(d.dir)), 0, 0)
		if err1 != 0 {
			d.report.stage = uint32(StageChdir)
			goto childerror
		}
	}

	// The privilege phase, in the order of Privilege's doc comment; each
	// step its own Stage. Everything above may have needed privilege;
	// nothing below does, but write(2) and execve(2).
	if d.priv == nil {
		goto gate
	}

	// 1. Resource limits, while CAP_SYS_RESOURCE (which raising a hard
	// limit needs) may still be there.
	for c = 0; c < uintptr(d.priv.nrlimit); c++ {
		_, _, err1 = rawSyscall6(unix.SYS_PRLIMIT64, 0, d.priv.rlimits[c&(maxRlimits-1)].resource, uintptr(unsafe.Pointer(&d.priv.rlimits[c&(maxRlimits-1)].lim)), 0, 0, 0)
		if err1 != 0 {
			d.report.stage = uint32(StageRlimit)
			goto childerror
		}
	}
	// 2. umask(2) cannot fail.
	if d.priv.setUmask {
		rawSyscall(unix.SYS_UMASK, d.priv.umask, 0, 0)
	}
	// 3. A new session, then the controlling terminal: TIOCSCTTY works
	// only for a session leader that has none (ioctl_tty(2)); a session
	// of its own cuts the command off the caller's terminal, so TIOCSTI
	// cannot reach it (CVE-2017-5226).
	if d.priv.setsid {
		_, _, err1 = rawSyscall(unix.SYS_SETSID, 0, 0, 0)
		if err1 != 0 {
			d.report.stage = uint32(StageSetsid)
			goto childerror
		}
	}
	if d.priv.setctty {
		_, _, err1 = rawSyscall(unix.SYS_IOCTL, d.priv.ctty, unix.TIOCSCTTY, 0)
		if err1 != 0 {
			d.report.stage = uint32(StageCtty)
			goto childerror
		}
	}
	// 4. The bounding set, while CAP_SETPCAP is in the effective set:
	// drop each capability that is not kept. PR_CAPBSET_DROP answers
	// EINVAL past the kernel's last capability, which ends the loop; on
	// EPERM (no CAP_SETPCAP) a capability already gone is fine, which
	// PR_CAPBSET_READ tells. One call per capability, not two.
	if d.priv.dropBounding {
		for c = 0; c < 64; c++ {
			if d.priv.bounding&(1<<c) != 0 {
				continue
			}
			_, _, err1 = rawSyscall(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, c, 0)
			if err1 == unix.EINVAL {
				break
			}
			if err1 == unix.EPERM {
				// (the kernel checks CAP_SETPCAP before the number)
				r1, _, err1 = rawSyscall(unix.SYS_PRCTL, unix.PR_CAPBSET_READ, c, 0)
				if err1 == unix.EINVAL {
					break
				}
				if err1 == 0 && r1 == 1 {
					err1 = unix.EPERM
				}
			}
			if err1 != 0 {
				d.report.stage = uint32(StageBounding)
				goto childerror
			}
		}
	}
	// 5. The identity: keep the permitted set across a uid change from 0
	// (otherwise it is cleared, capabilities(7)), then groups and gid
	// while CAP_SETGID is still effective, then the uid.
	if d.priv.setCred {
		if d.priv.keepCaps {
			_, _, err1 = rawSyscall(unix.SYS_PRCTL, unix.PR_SET_KEEPCAPS, 1, 0)
			if err1 != 0 {
				d.report.stage = uint32(StageKeepCaps)
				goto childerror
			}
		}
		if d.priv.setGroups {
			_, _, err1 = rawSyscall(unix.SYS_SETGROUPS, d.priv.ngroups, uintptr(unsafe.Pointer(d.priv.groups)), 0)
			if err1 != 0 {
				d.report.stage = uint32(StageSetgroups)
				goto childerror
			}
		}
		_, _, err1 = rawSyscall(unix.SYS_SETRESGID, d.priv.gid, d.priv.gid, d.priv.gid)
		if err1 != 0 {
			d.report.stage = uint32(StageSetresgid)
			goto childerror
		}
		_, _, err1 = rawSyscall(unix.SYS_SETRESUID, d.priv.uid, d.priv.uid, d.priv.uid)
		if err1 != 0 {
			d.report.stage = uint32(StageSetresuid)
			goto childerror
		}
	}
	// 6. and 7. The capability sets, after the uid change, which cleared
	// the effective set; then ambient, which needs each capability in
	// both the permitted and the inheritable set.
	if d.priv.setCaps {
		_, _, err1 = rawSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&d.priv.capHdr)), uintptr(unsafe.Pointer(&d.priv.capData[0])), 0)
		if err1 != 0 {
			d.report.stage = uint32(StageCapset)
			goto childerror
		}
		// What the caller had in ambient goes (capset kept only what is
		// still permitted and inheritable); before Linux 4.3 there is no
		// ambient set, and nothing to clear.
		_, _, err1 = rawSyscall6(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0, 0)
		if err1 != 0 && (err1 != unix.EINVAL || d.priv.ambient != 0) {
			d.report.stage = uint32(StageAmbient)
			goto childerror
		}
		for c = 0; c < 64; c++ {
			if d.priv.ambient&(1<<c) == 0 {
				continue
			}
			_, _, err1 = rawSyscall6(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, c, 0, 0, 0)
			if err1 != 0 {
				d.report.stage = uint32(StageAmbient)
				goto childerror
			}
		}
	}
	// 8. From here execve grants nothing: no set-user-ID, no file
	// capabilities (prctl(2)).
	if d.priv.noNewPrivs {
		_, _, err1 = rawSyscall6(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0)
		if err1 != 0 {
			d.report.stage = uint32(StageNoNewPrivs)
			goto childerror
		}
	}

gate:
	// The start gate (Spec.GateFD): every setup step is made but
	// seccomp. Say so (the marker), close the error pipe, whose reader
	// may be gone by the time the gate opens (a write then would be
	// SIGPIPE, or EPIPE for nobody), and wait for one byte. EOF or an
	// error: leave, running nothing. From here a failure is an exit
	// status (childerror).
	if d.gateFD >= 0 {
		rawSyscall(unix.SYS_WRITE, uintptr(d.pipe), uintptr(unsafe.Pointer(&d.gateMk[0])), 1)
		rawSyscall(unix.SYS_CLOSE, uintptr(d.pipe), 0, 0)
		if d.errPipe != d.pipe {
			rawSyscall(unix.SYS_CLOSE, uintptr(d.errPipe), 0, 0)
		}
		d.gated = true
		for {
			r1, _, err1 = rawSyscall(unix.SYS_READ, uintptr(d.gateFD), uintptr(unsafe.Pointer(&d.hold[0])), 1)
			if err1 != unix.EINTR {
				break
			}
		}
		if err1 != 0 || r1 != 1 {
			d.report.stage = uint32(StageGate)
			goto childerror
		}
	}

	// 9. The seccomp filter, last: it need not allow anything above. The
	// compiler (security/seccomp) checks that it allows write(2),
	// execve(2) and exit_group(2), which the child still needs.
	if d.priv != nil && d.priv.seccomp {
		_, _, err1 = rawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&d.priv.prog)))
		if err1 != 0 {
			d.report.stage = uint32(StageSeccomp)
			goto childerror
		}
	}

	// Spec.Init: this process stays, as PID 1 of its namespace, and the
	// program runs as its child (init_unsafe.go has the why of each
	// step). The child is cloned vfork-style: it borrows this process's
	// memory and stack, and this process sleeps until it has exec'd; it
	// inherits everything set up above, and goes on to the exec below.
	// From the command's clone on, PID 1 reads only in and its own
	// locals: once the command runs, the parent may let d go.
	if d.init != nil {
		in = d.init
		d.report.stage = uint32(StageInit)
		// /proc/1/exe would be rawns's binary on the host: keep it, and
		// the rest of this process's /proc, from the container's users,
		// before any of them exists (proc(5): a non-dumpable process's
		// files belong to root, and ptrace access needs CAP_SYS_PTRACE
		// in the user namespace of its memory). The command's execve
		// makes it dumpable again.
		rawSyscall(unix.SYS_PRCTL, unix.PR_SET_DUMPABLE, 0, 0)
		// And ps shows it as what it is, not as a second rawns.
		rawSyscall(unix.SYS_PRCTL, unix.PR_SET_NAME, uintptr(unsafe.Pointer(&strInitName[0])), 0)
		// The signals it relays, blocked (so that they wait for it, even
		// as an init with no handler) and read from a signalfd.
		_, _, err1 = rawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_BLOCK, uintptr(unsafe.Pointer(&in.sigset)), 0, unsafe.Sizeof(in.sigset), 0, 0)
		if err1 != 0 {
			goto childerror
		}
		in.sfd, _, err1 = rawSyscall6(unix.SYS_SIGNALFD4, ^uintptr(0), uintptr(unsafe.Pointer(&in.sigset)), unsafe.Sizeof(in.sigset), unix.SFD_CLOEXEC, 0, 0)
		if err1 != 0 {
			goto childerror
		}
		pid, err1 = rawVfork(unix.SYS_CLONE, initCommandClone, 0, 0)
		if err1 != 0 {
			goto childerror
		}
		if pid == 0 {
			// The command: the signals PID 1 blocked are its to take.
			_, _, err1 = rawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&d.mask)), 0, unsafe.Sizeof(d.mask), 0, 0)
			if err1 != 0 {
				d.report.stage = uint32(StageSignals)
				goto childerror
			}
			goto execve
		}
		// PID 1. The program has exec'd (its marker is in the pipe) or
		// died (its report is).
		in.child = pid
		// Every fd but stdio and the signalfd goes: rawns's own (which
		// the parent's pipes to --trace's helper, or a caller's, must
		// not outlive), and the error pipe, whose EOF now tells the
		// parent that the command runs.
		rawSyscall(unix.SYS_CLOSE_RANGE, 3, in.sfd-1, 0)
		_, _, err1 = rawSyscall(unix.SYS_CLOSE_RANGE, in.sfd+1, ^uintptr(0), 0)
		if err1 == unix.ENOSYS || err1 == unix.EINVAL {
			for r1 = 3; r1 < d.nofile; r1++ {
				if r1 != in.sfd {
					rawSyscall(unix.SYS_CLOSE, r1, 0, 0)
				}
			}
		}
		// From here: in, and nothing of d.
		for {
			r1, _, err1 = rawSyscall(unix.SYS_READ, in.sfd, uintptr(unsafe.Pointer(&in.info)), unsafe.Sizeof(in.info))
			if err1 == unix.EINTR {
				continue
			}
			if err1 != 0 || r1 != unsafe.Sizeof(in.info) {
				// Nothing to read signals from: reap, blocking.
				for {
					r1, _, err1 = rawSyscall6(unix.SYS_WAIT4, ^uintptr(0), uintptr(unsafe.Pointer(&in.wstatus)), 0, 0, 0, 0)
					if err1 != unix.EINTR && (err1 != 0 || r1 == in.child) {
						goto reaped
					}
				}
			}
			if in.info.signo == uint32(unix.SIGCHLD) {
				// Every zombie, orphans of the namespace included; the
				// signal may stand for several.
				for {
					r1, _, err1 = rawSyscall6(unix.SYS_WAIT4, ^uintptr(0), uintptr(unsafe.Pointer(&in.wstatus)), unix.WNOHANG, 0, 0, 0)
					if err1 == unix.EINTR {
						continue
					}
					if err1 != 0 || r1 == 0 {
						break
					}
					if r1 == in.child {
						goto reaped
					}
				}
				continue
			}
			if in.info.code == siKernel {
				// The terminal's: the command has its own copy if it is
				// in this process group.
				r1, _, err1 = rawSyscall(unix.SYS_GETPGID, in.child, 0, 0)
				c, _, _ = rawSyscall(unix.SYS_GETPGID, 0, 0, 0)
				if err1 == 0 && r1 == c {
					continue
				}
			}
			rawSyscall(unix.SYS_KILL, in.child, uintptr(in.info.signo), 0)
		}
	reaped:
		// Go with the command's status. The kernel kills what is left
		// in the namespace when PID 1 exits.
		r1 = ExitSetupFailed // wait4 failed: nothing to report the command's status by
		if err1 == 0 {
			if in.wstatus&0x7f == 0 {
				r1 = uintptr(in.wstatus>>8) & 0xff // exited
			} else {
				r1 = 128 + uintptr(in.wstatus&0x7f) // killed
			}
		}
		for {
			rawSyscall(unix.SYS_EXIT_GROUP, r1, 0, 0)
		}
	}

execve:
	// One byte into the pipe's buffer: no blocking, and signals that
	// could interrupt it have their default action now. (Past the gate
	// the pipe is closed.)
	if !d.gated {
		rawSyscall(unix.SYS_WRITE, uintptr(d.pipe), uintptr(unsafe.Pointer(&d.marker[0])), 1)
	}
	if d.execFD >= 0 {
		_, _, err1 = rawSyscall6(unix.SYS_EXECVEAT, uintptr(d.execFD), uintptr(unsafe.Pointer(&strEmpty[0])), uintptr(unsafe.Pointer(d.argv)), uintptr(unsafe.Pointer(d.envp)), unix.AT_EMPTY_PATH, 0)
	} else {
		_, _, err1 = rawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(d.path)), uintptr(unsafe.Pointer(d.argv)), uintptr(unsafe.Pointer(d.envp)))
	}
	d.report.stage = uint32(StageExec)

childerror:
	if d.gated {
		// Past the gate nobody reads the pipe: the exit status is the
		// report, with runc's numbers (Spec.GateFD).
		r1 = ExitSetupFailed
		if d.report.stage == uint32(StageExec) {
			r1 = ExitCannotInvoke
			if err1 == unix.ENOENT || err1 == unix.ENOTDIR || err1 == unix.ELOOP {
				r1 = ExitNotFound
			}
		}
		for {
			rawSyscall(unix.SYS_EXIT_GROUP, r1, 0, 0)
		}
	}
	d.report.errno = uint32(err1)
	rawSyscall(unix.SYS_WRITE, uintptr(d.pipe), uintptr(unsafe.Pointer(&d.report)), unsafe.Sizeof(d.report))
	for {
		rawSyscall(unix.SYS_EXIT_GROUP, ExitSetupFailed, 0, 0)
	}
}
