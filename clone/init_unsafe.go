//go:build linux && (amd64 || arm64)

package clone

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
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

	// What PID 1 shows of itself (initHide, made by initHideNow): its
	// memory map with the command line and environment pointed at
	// cmdline and nothing, and, fork-style, the range of its copy of
	// rawns's stack that holds rawns's own arguments, environment and
	// path, zeroed.
	mm                    prctlMMMap
	scrubAddr, scrubBytes uintptr
	// cmdline is what /proc/1/cmdline shows: in anonymous memory, which
	// the kernel reads it from (get_mm_cmdline reads with FOLL_ANON:
	// never a file's mapping, such as the binary's data).
	cmdline [len(strInitName)]byte

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
	base  unsafe.Pointer
	size  uintptr // the guard page and initStackSize
	named bool    // PID 1 took the shared name (sharedInitStarted)
}

func (s *initStack) unmap() {
	if s != nil && s.base != nil {
		if s.named {
			sharedInitDone()
		}
		unix.MunmapPtr(s.base, s.size)
		s.base = nil
	}
}

// mapInitStack maps PID 1's stack and initData: private anonymous memory,
// its lowest page made inaccessible, so that an overflow faults instead of
// writing into whatever lies below.
func mapInitStack() (*initStack, error) {
	return mapChildStack("PID 1 (--init)")
}

// mapChildStack maps a CLONE_VM child's stack (what names it in errors):
// PID 1's (mapInitStack), or a gated child's (Spec.GateShared).
func mapChildStack(what string) (*initStack, error) {
	page := uintptr(unix.Getpagesize())
	size := page + (initStackSize+page-1)&^(page-1)
	base, err := unix.MmapPtr(-1, 0, nil, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_STACK)
	if err != nil {
		return nil, fmt.Errorf("mapping the stack of %s: %w", what, err)
	}
	s := &initStack{base: base, size: size}
	if err := unix.Mprotect(unsafe.Slice((*byte)(base), page), unix.PROT_NONE); err != nil {
		s.unmap()
		return nil, fmt.Errorf("guarding the stack of %s: %w", what, err)
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
func prepareInit(spec *Spec, p *prepared) (*initData, *initStack, error) {
	d := &p.d
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
	if err := initHide(in, p, stack == nil); err != nil {
		stack.unmap()
		return nil, nil, err
	}
	if stack != nil {
		stack.named = true // counted by sharedInitStarted
	}
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

// prctlMMMap is struct prctl_mm_map of linux/prctl.h (PR_SET_MM_MAP):
// the memory map's bounds as /proc shows them.
type prctlMMMap struct {
	startCode, endCode, startData, endData uint64
	startBrk, brk, startStack              uint64
	argStart, argEnd, envStart, envEnd     uint64
	auxv                                   uint64 // a pointer; 0 with auxvSize 0: unchanged
	auxvSize                               uint32
	exeFD                                  uint32 // ^0: the exe link unchanged
}

// initHide prepares what PID 1 shows the container of itself. PID 1 is
// rawns's child, a copy of rawns (fork) or on rawns's memory (shared), so
// /proc/1/cmdline would be the whole host command line, and
// /proc/1/environ the caller's environment, --clearenv or not: cmdline is
// readable by anyone, and environ, on Linux 6.18 at least, by any process
// of the same uid, non-dumpable or not (measured: TestInitShowsNoHost).
// The child makes it first thing, before any namespace step
// (initHideNow), while the parent's fds are all there.
//
// PR_SET_MM_MAP (prctl(2), kernel/sys.c prctl_set_mm_map) sets the memory
// map's bounds in one call, which a checkpoint/restore tool uses and which
// needs no capability unless the exe link changes: the argument range is
// pointed at "rawns-init" in initData (anonymous memory that lives as long
// as PID 1: the kernel reads a command line only from anonymous memory,
// FOLL_ANON) and the environment range made empty. The other bounds must
// be given as they are (/proc/self/stat, and brk(2) for brk, which stat
// lacks), since the call sets them all; they are the same in a fork-style
// copy (read once, before any PID 1 changed them: procMM). On rawns's own memory (shared) this is
// rawns's map too: while PID 1 runs, the host's ps shows rawns as
// rawns-init as well, until the last such PID 1 is reaped
// (sharedInitDone).
//
// Fork-style, the strings themselves are still in the copy, which a
// command with CAP_SYS_PTRACE reads through /proc/1/mem. PID 1 maps zero
// pages over its copy of the stack from the page of the first argument
// to the top (arguments, environment, the executable's path, the auxiliary
// vector below them in that page): nothing of the Go program runs on that
// stack in the child, which runs on the goroutine's stack, a heap copy. And
// it zeroes the Go runtime's copy of the environment in the heap
// (runtime.goenvs copies each variable; the arguments it does not copy),
// with one readv(2) of /dev/zero into those strings (wipe), rather than a
// store loop the compiler may turn into a call. On rawns's own memory they
// stay, as rawns's: there the command can neither ptrace PID 1 nor read
// its memory (initSharesMemory).
//
// What stays: /proc/1/exe is rawns's binary on the host, since the kernel
// refuses to change the exe link of a process that maps it
// (replace_mm_exe_file: EBUSY) and PID 1's code is rawns's. Reaching it
// needs ptrace access to PID 1: a command without CAP_SYS_PTRACE in
// rawns's user namespace is refused (PID 1 is non-dumpable); one with it
// (the default root run, where PID 1 is a fork-style copy) can read the
// link and open the binary for reading, never for writing while PID 1 maps
// it (ETXTBSY), and nothing of the PID namespace outlives PID 1. Such a
// command also reads the rest of PID 1's memory, a copy of rawns's heap:
// what rawns derived from its flags (paths, values), not the environment.
func initHide(in *initData, p *prepared, fork bool) error {
	orig, top, err := originalMM()
	if err != nil {
		return err
	}
	brk, _, _ := unix.RawSyscall(unix.SYS_BRK, 0, 0, 0)
	in.mm = orig
	in.mm.brk = uint64(brk)
	var name uint64
	if fork {
		in.cmdline = strInitName
		name = uint64(uintptr(unsafe.Pointer(&in.cmdline[0])))
	} else {
		// One name for every PID 1 on this memory, which they all share:
		// the last one's map stays when it is reaped (sharedInitDone).
		name = sharedInitStarted()
	}
	in.mm.argStart, in.mm.argEnd = name, name+uint64(len(strInitName))
	in.mm.envStart, in.mm.envEnd = in.mm.argEnd, in.mm.argEnd
	if !fork {
		return nil
	}
	page := uintptr(unix.Getpagesize())
	in.scrubAddr = uintptr(orig.argStart) &^ (page - 1)
	in.scrubBytes = top - in.scrubAddr
	// The runtime's copies of the environment.
	for _, e := range syscall.Environ() {
		if len(e) > 0 && len(p.wipe) < maxWipe {
			p.wipe = append(p.wipe, unix.Iovec{Base: unsafe.StringData(e), Len: uint64(len(e))})
		}
	}
	if len(p.wipe) > 0 {
		if p.zeroFD, err = unix.Open("/dev/zero", unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
			return fmt.Errorf("--init: opening /dev/zero, to wipe PID 1's copy of the environment: %w", err)
		}
	}
	return nil
}

// procMM is this process's memory map as the kernel set it at exec, read
// once, before any PID 1 on this memory changed it (initHide), with the
// end of the mapping that holds the arguments (the stack's top).
var procMM struct {
	once sync.Once
	orig prctlMMMap
	top  uintptr
	err  error
}

func originalMM() (prctlMMMap, uintptr, error) {
	procMM.once.Do(func() {
		b, err := os.ReadFile("/proc/self/stat")
		if err != nil {
			procMM.err = fmt.Errorf("--init: reading /proc/self/stat for PID 1's memory map: %w", err)
			return
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		// Field n of proc(5)'s /proc/PID/stat is f[n-3]: f[0] is field 3, state.
		field := func(n int) uint64 {
			if n-3 >= len(f) {
				return 0
			}
			v, _ := strconv.ParseUint(f[n-3], 10, 64)
			return v
		}
		m := &procMM.orig
		*m = prctlMMMap{
			startCode: field(26), endCode: field(27), startStack: field(28),
			startData: field(45), endData: field(46), startBrk: field(47),
			argStart: field(48), argEnd: field(49), envStart: field(50), envEnd: field(51),
			exeFD: ^uint32(0),
		}
		if m.startCode == 0 || m.endData == 0 || m.argStart == 0 {
			procMM.err = errors.New("--init: /proc/self/stat shows no memory map (hidepid, or no ptrace access to itself?)")
			return
		}
		procMM.top, procMM.err = mappingEnd(uintptr(m.argStart))
	})
	return procMM.orig, procMM.top, procMM.err
}

// sharedInit counts the PID 1s on this process's memory, which all show
// one name, kept in anonymous memory for the life of the process; when the
// last is reaped, this process's map gets its own command line and
// environment back (sharedInitDone), so that the host's ps shows rawns
// again.
var sharedInit struct {
	sync.Mutex
	n    int
	name []byte
}

func sharedInitStarted() uint64 {
	sharedInit.Lock()
	defer sharedInit.Unlock()
	if sharedInit.name == nil {
		sharedInit.name = append([]byte(nil), strInitName[:]...)
	}
	sharedInit.n++
	return uint64(uintptr(unsafe.Pointer(&sharedInit.name[0])))
}

// sharedInitDone is called when a PID 1 on this memory is reaped, or was
// never started.
func sharedInitDone() {
	sharedInit.Lock()
	defer sharedInit.Unlock()
	if sharedInit.n--; sharedInit.n > 0 {
		return
	}
	orig, _, err := originalMM()
	if err != nil {
		return
	}
	brk, _, _ := unix.RawSyscall(unix.SYS_BRK, 0, 0, 0)
	orig.brk = uint64(brk)
	unix.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_MM, unix.PR_SET_MM_MAP, uintptr(unsafe.Pointer(&orig)), unsafe.Sizeof(orig), 0, 0)
}

// maxWipe bounds the environment variables PID 1 wipes (a masked index).
const maxWipe = 1 << 16

// wipeTable views wipe as the array initHideNow indexes, masked; it reads
// the first len(wipe) entries only (stepTable says why).
//
//go:nocheckptr
func wipeTable(wipe []unix.Iovec) *[maxWipe]unix.Iovec {
	return (*[maxWipe]unix.Iovec)(unsafe.Pointer(unsafe.SliceData(wipe)))
}

// initHideNow is PID 1's first step (initHide says why): fork-style, zero
// its copies of rawns's arguments, environment and path; then point its
// memory map's command line and environment at "rawns-init" and nothing.
//
//go:nosplit
//go:norace
//go:nocheckptr
func initHideNow(d *childData) syscall.Errno {
	var (
		in    *initData
		i     uintptr // the first iovec of a readv
		n     uintptr // iovecs in this readv: IOV_MAX at most
		errno syscall.Errno
	)
	in = d.init
	d.x.report.stage = uint32(StageHide)
	for i = 0; i < d.nwipe; i += n {
		n = min(d.nwipe-i, iovMax)
		_, _, errno = rawSyscall(unix.SYS_READV, d.zeroFD, uintptr(unsafe.Pointer(&d.wipe[i&(maxWipe-1)])), n)
		if errno != 0 {
			return errno
		}
	}
	if in.scrubBytes != 0 {
		_, _, errno = rawSyscall6(unix.SYS_MMAP, in.scrubAddr, in.scrubBytes, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED, ^uintptr(0), 0)
		if errno != 0 {
			return errno
		}
	}
	_, _, errno = rawSyscall6(unix.SYS_PRCTL, unix.PR_SET_MM, unix.PR_SET_MM_MAP, uintptr(unsafe.Pointer(&in.mm)), unsafe.Sizeof(in.mm), 0, 0)
	return errno
}

// iovMax is IOV_MAX (limits.h): the most iovecs one readv(2) takes.
const iovMax = 1024

// mappingEnd is the end of the mapping that holds addr (/proc/self/maps).
func mappingEnd(addr uintptr) (uintptr, error) {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0, fmt.Errorf("--init: reading /proc/self/maps: %w", err)
	}
	for line := range strings.Lines(string(b)) {
		r, _, _ := strings.Cut(line, " ")
		lo, hi, ok := strings.Cut(r, "-")
		if !ok {
			continue
		}
		l, err1 := strconv.ParseUint(lo, 16, 64)
		h, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 == nil && err2 == nil && uint64(addr) >= l && uint64(addr) < h {
			return uintptr(h), nil
		}
	}
	return 0, fmt.Errorf("--init: no mapping of rawns's arguments at %#x in /proc/self/maps", addr)
}
