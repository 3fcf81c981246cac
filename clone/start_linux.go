//go:build linux && (amd64 || arm64)

package clone

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Start validates spec, clones, and returns once the child has exec'd the
// program: a nil error means the program is running (or has already run).
// A failure before exec is a *ChildError, a failure of the clone itself a
// *CloneError; in both cases nothing is left running and nothing needs to be
// waited for.
//
// A child killed by a signal before exec (a seccomp filter's
// SECCOMP_RET_KILL, the OOM killer) closes the error pipe without the exec
// marker it writes right before execve: that is a *ChildError with the
// Signal, never a started Process (torture/TestErrorPipeClosedEarlyInProcess).
//
// Start clones on a thread that lives as long as the process, which
// PR_SET_PDEATHSIG needs (prctl(2): it fires when the thread that cloned
// exits). When the caller runs on the main thread, which the Go runtime
// never ends (PinThread), that is the caller's own: Start clones there, as
// fast as StartHere. Elsewhere it hands the spec to the spawner goroutine,
// which keeps a thread locked for the life of the process: any other
// thread may end, when a goroutine that locked it exits.
func Start(spec *Spec) (*Process, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	// Locked, so that the thread checked is the thread that clones.
	runtime.LockOSThread()
	if unix.Gettid() == unix.Getpid() {
		p, err := start(spec)
		runtime.UnlockOSThread()
		return p, err
	}
	runtime.UnlockOSThread()
	req := spawnRequest{spec: spec, done: make(chan struct{})}
	spawnerOnce.Do(startSpawner)
	spawnc <- &req
	<-req.done
	return req.proc, req.err
}

// StartHere is Start without the hand-off to the spawner goroutine: it
// clones from the calling goroutine's own OS thread, which saves waking
// another thread and being woken back (two context switches, measurable on a
// virtual machine).
//
// Precondition: the calling goroutine runs on an OS thread that lives for as
// long as the child should, because PR_SET_PDEATHSIG kills the child when
// the thread that cloned it exits (prctl(2)). Either it has locked itself to
// its thread (runtime.LockOSThread) and keeps it, or it runs on the main
// thread, which the Go runtime never ends; PinThread, called right before,
// arranges one or the other. Concurrent StartHere calls from different
// threads are safe.
func StartHere(spec *Spec) (*Process, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	return start(spec)
}

// PinThread prepares the calling goroutine for a StartHere that follows at
// once. On the process's main thread (gettid(2) == getpid(2)) it does
// nothing: the Go runtime never ends the main thread, because a
// thread-group leader that exits leaves its process a zombie that cannot
// be waited for (runtime/proc.go, mexit), so the thread outlives any child
// cloned from it, wherever the goroutine runs afterwards. Elsewhere it locks
// the goroutine to its thread (runtime.LockOSThread) for good; the thread
// then lives as long as the goroutine, which must outlive the child.
//
// Why not always LockOSThread: its first call makes the runtime start a
// template thread, and for a program that lives a few milliseconds that
// thread cost 0.04-0.10x of a whole spawn from C (docs/benchmarks.md).
// main.main starts on the main thread, and a goroutine that does not block
// in the scheduler stays on its thread, so a command-line tool is there
// when it clones.
func PinThread() {
	if unix.Gettid() != unix.Getpid() {
		runtime.LockOSThread()
	}
}

// The spawner: one goroutine, started on first use, locked to its OS thread
// for the life of the process. Every clone happens on that thread, so the
// thread the kernel watches for PR_SET_PDEATHSIG lives exactly as long as
// the process does (prctl(2): the signal fires when the parent *thread*
// exits).
var (
	spawnerOnce sync.Once
	spawnc      chan *spawnRequest
)

type spawnRequest struct {
	spec *Spec
	proc *Process
	err  error
	done chan struct{}
}

func startSpawner() {
	spawnc = make(chan *spawnRequest)
	go func() {
		runtime.LockOSThread()
		// Never unlocked, never returns: see above.
		for req := range spawnc {
			req.proc, req.err = start(req.spec)
			close(req.done)
		}
	}()
}

// clone3Missing remembers, once per process, that clone3 answered ENOSYS.
var clone3Missing atomic.Bool

func start(spec *Spec) (*Process, error) {
	useClone3 := spec.Syscall == SyscallClone3 || (spec.Syscall == SyscallAuto && !clone3Missing.Load())
	if !useClone3 && spec.Namespaces&NewTime != 0 && !spec.hasTimeOffsets() {
		return nil, ErrNoClone3
	}
	if !useClone3 && spec.UseCgroupFD {
		return nil, ErrNoCloneIntoCgroup
	}
	p, err := prepare(spec, useClone3)
	if err != nil {
		return nil, err
	}
	proc, err := cloneWithPipes(spec, p)
	var ce *CloneError
	if spec.Syscall == SyscallAuto && useClone3 && errors.As(err, &ce) && ce.Errno == unix.ENOSYS {
		// No clone3 here (a kernel before 5.3, or a seccomp filter that
		// says ENOSYS, as container runtimes' default profiles do): use
		// clone(2) from now on.
		clone3Missing.Store(true)
		if spec.Namespaces&NewTime != 0 && !spec.hasTimeOffsets() {
			return nil, ErrNoClone3
		}
		if spec.UseCgroupFD {
			return nil, ErrNoCloneIntoCgroup
		}
		if p, err = prepare(spec, false); err != nil {
			return nil, err
		}
		proc, err = cloneWithPipes(spec, p)
	}
	return proc, err
}

// prepared holds the child's data and the Go memory its pointers point
// into, which stays reachable (and so unmoved and unfreed) through p until
// the clone has returned.
type prepared struct {
	d      childData
	strs   []byte        // every NUL-terminated string the child reads
	ptrs   []*byte       // argv, NULL, envp, NULL: pointers into strs
	offset []byte        // the time namespace offsets, when asked for
	priv   *privPrepared // d.priv and what it points into; nil without Privilege
	init   *initData     // d.init; nil without Init
	// initStack is PID 1's own stack, when it shares rawns's memory
	// (init_unsafe.go), or a gated child's (gateShared); the Process
	// takes it over, to unmap it once the child is reaped.
	initStack *initStack
	// gateShared: a gated child on this memory (Spec.GateShared), which
	// reads p until its execve: the Process keeps p (gate_unsafe.go).
	gateShared bool
	// d.console, nil without a ConsoleSocket.
	console *consoleData
	// The exec shim's argv[1]: the error pipe's number, NUL-terminated
	// (empty past a gate).
	shimPipe [12]byte
	// d.execProc: "/proc/self/fd/N" of the exec fd, NUL-terminated.
	execProc [32]byte
	// What PID 1 of Init wipes of its copy of the environment, and the
	// /dev/zero it reads the zeros from (init_unsafe.go, initHide); -1
	// without.
	wipe   []unix.Iovec
	zeroFD int

	// The step table (steps_unsafe.go): the steps d.steps points to, the
	// strings, open_how and mount_attr structures their arguments point
	// into, and, for the parent alone, what each step does; the slots
	// d.slot points to, nil when no step keeps a result.
	table stepBuilder
	slots []uintptr
}

// prepare builds every byte the child will read.
//
// All strings go into one buffer and all pointers into one array: two
// allocations, whatever the number of arguments and variables. In a
// process that lives a few milliseconds each new allocation size costs
// the Go allocator a fresh span, and a fresh span costs page faults
// (about 12 µs each on the VMs rawns is measured on); one string per
// allocation made `rawns run`'s first spawn take ~10 faults more.
func prepare(spec *Spec, useClone3 bool) (*prepared, error) {
	p := &prepared{zeroFD: -1}
	d := &p.d
	args := spec.Args
	if len(args) == 0 {
		args = []string{spec.Path}
	}
	n := len(spec.Path) + 1 + len(spec.Dir) + 1 + len(spec.Hostname)
	for _, a := range args {
		n += len(a) + 1
	}
	for _, e := range spec.Env {
		n += len(e) + 1
	}
	p.strs = make([]byte, 0, n)
	// With the exec shim, argv is the shim's: its marker, the error
	// pipe's number (finishTable writes it), Path, then Args.
	shim := 0
	if spec.ShimFD != 0 {
		shim = 3
	}
	p.ptrs = make([]*byte, shim+len(args)+1+len(spec.Env)+1)
	// cstr appends s and its NUL to p.strs, which never reallocates (its
	// capacity is exact), and returns a pointer to the copy.
	cstr := func(s string) (*byte, error) {
		if strings.IndexByte(s, 0) >= 0 {
			return nil, unix.EINVAL // Validate names the culprit
		}
		off := len(p.strs)
		p.strs = append(append(p.strs, s...), 0)
		return &p.strs[off], nil
	}
	var err error
	if d.path, err = cstr(spec.Path); err != nil {
		return nil, err
	}
	for i, a := range args {
		if p.ptrs[shim+i], err = cstr(a); err != nil {
			return nil, err
		}
	}
	if shim != 0 {
		p.ptrs[0], p.ptrs[1], p.ptrs[2] = &shimMarker[0], &p.shimPipe[0], d.path
	}
	envp := p.ptrs[shim+len(args)+1:]
	for i, e := range spec.Env {
		if envp[i], err = cstr(e); err != nil {
			return nil, err
		}
	}
	d.argv, d.envp = &p.ptrs[0], &envp[0]
	if spec.Dir != "" && spec.Root == "" && spec.joined()&NewMount == 0 && spec.ChrootFD == 0 { // else a step resolves Dir inside the root
		if d.dir, err = cstr(spec.Dir); err != nil {
			return nil, err
		}
	}
	if spec.Hostname != "" {
		// sethostname(2) takes a length, not a NUL.
		off := len(p.strs)
		p.strs = append(p.strs, spec.Hostname...)
		d.hostname, d.hostnameLen = &p.strs[off], uintptr(len(spec.Hostname))
	}

	flags := uint64(spec.Namespaces)
	if spec.hasTimeOffsets() {
		// The child unshares the time namespace itself (childData.timeOffsets).
		flags &^= uint64(NewTime)
		ms, mns := secNsec(spec.MonotonicOffset)
		bs, bns := secNsec(spec.BoottimeOffset)
		p.offset = fmt.Appendf(nil, "monotonic %d %d\nboottime %d %d\n", ms, mns, bs, bns)
		d.timeOffsets, d.timeOffsetsLen = &p.offset[0], uintptr(len(p.offset))
	}
	vfork := spec.Mode == ModeVfork || (spec.Mode == ModeAuto && !spec.needsFork() && !spec.Init &&
		(spec.Namespaces&NewTime == 0 || execEntersTimeNamespace()))
	// A fork-style child that makes the time namespace for the offsets
	// enters it itself, rather than leave it to execve, which does so only
	// from Linux 6.2, and only for the process that execs: a PID 1 of Init
	// is then in it too.
	d.timeSetns = d.timeOffsets != nil && !vfork
	if vfork {
		flags |= unix.CLONE_VM | unix.CLONE_VFORK
	}
	flags |= unix.CLONE_PIDFD
	d.pidfd = -1
	d.useClone3 = useClone3
	if useClone3 {
		d.clearSighand = true
		d.args = cloneArgs{
			flags:      flags | unix.CLONE_CLEAR_SIGHAND,
			pidfd:      d.pidfdAddr(),
			exitSignal: uint64(unix.SIGCHLD),
		}
		if spec.UseCgroupFD {
			// The child is born in the cgroup (clone3(2), Linux 5.7+).
			d.args.flags |= unix.CLONE_INTO_CGROUP
			d.args.cgroup = uint64(spec.CgroupFD)
		}
	} else {
		d.cloneFlags = uintptr(flags) | uintptr(unix.SIGCHLD)
	}

	// In a new mount namespace; in a joined one only when the spec mounts
	// there, as runc does for a config that joins one and has a root.
	if spec.Namespaces&NewMount != 0 || spec.joined()&NewMount != 0 && spec.hasMountPhase() {
		switch spec.Propagation {
		case PropagationPrivate:
			d.propagation = unix.MS_REC | unix.MS_PRIVATE
		case PropagationSlave:
			d.propagation = unix.MS_REC | unix.MS_SLAVE
		case PropagationShared:
			d.propagation = unix.MS_REC | unix.MS_SHARED
		}
	}
	d.mountProc = spec.MountProc
	d.userRoot = spec.Namespaces&NewUser != 0 && mapsZero(spec.UIDMap) && mapsZero(spec.GIDMap)
	if err := p.buildTable(spec); err != nil {
		return nil, err
	}
	d.loopback = spec.Namespaces&NewNet != 0
	copy(d.x.ifr.name[:], "lo")

	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil {
		d.nofile = uintptr(min(lim.Cur, 1<<20))
	}
	if spec.Init {
		var err error
		if p.init, p.initStack, err = prepareInit(spec, p); err != nil {
			return nil, err
		}
		d.init = p.init
		d.zeroFD = uintptr(p.zeroFD)
		if len(p.wipe) > 0 {
			d.wipe, d.nwipe = wipeTable(p.wipe), uintptr(len(p.wipe))
		}
	}
	d.holdFD = -1
	d.pidJoinFD, d.pidRestoreFD = -1, -1
	if i := spec.joinsPID(); i >= 0 {
		d.pidJoinFD = spec.Join[i].FD
	}
	d.gateFD = -1
	if spec.GateFD != 0 {
		d.gateFD = spec.GateFD
	}
	d.gateMk[0] = gateMarker
	d.pdeathsig = !spec.NoParentDeathSignal
	d.execFD = -1
	if spec.ExecFD >= 3 {
		d.execFD = spec.ExecFD
	}
	if spec.ShimFD >= 3 {
		// The child execveat(2)s the shim as it would ExecFD, with the
		// shim's argv; the error pipe goes to it, but past a gate.
		d.execFD = spec.ShimFD
		d.shimPipe = spec.GateFD == 0
	}
	d.marker[0] = execMarker
	if spec.Privilege != nil {
		p.priv = preparePriv(spec)
		d.priv = &p.priv.d
	}
	if spec.ConsoleSocket != 0 {
		p.console = prepareConsole(spec)
		d.console = p.console
	}
	if gateSharesMemory(spec, useClone3) {
		if err := prepareGateShared(p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// cloneWithPipes creates the error pipe (and the hold pipe), clones, and
// waits for the child to exec or fail.
func cloneWithPipes(spec *Spec, p *prepared) (*Process, error) {
	d := &p.d
	if p.zeroFD >= 0 {
		defer unix.Close(p.zeroFD) // the child has its own copy
	}
	var errPipe, holdPipe [2]int
	holdPipe = [2]int{-1, -1}

	// ForkLock keeps a concurrent os/exec (or any fd creator that respects
	// it) from having a non-close-on-exec fd open across our clone, and our
	// pipes from leaking into its child.
	acquireForkLock()
	if err := unix.Pipe2(errPipe[:], unix.O_CLOEXEC); err != nil {
		releaseForkLock()
		return nil, fmt.Errorf("pipe2: %w", err)
	}
	if spec.needsParentStep() {
		if err := unix.Pipe2(holdPipe[:], unix.O_CLOEXEC); err != nil {
			releaseForkLock()
			unix.Close(errPipe[0])
			unix.Close(errPipe[1])
			return nil, fmt.Errorf("pipe2: %w", err)
		}
		d.holdFD = holdPipe[0]
	}
	p.finishTable(spec, errPipe[1])
	if d.pidJoinFD >= 0 {
		fd, err := unix.Open("/proc/thread-self/ns/pid_for_children", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			releaseForkLock()
			closePipes(errPipe, holdPipe)
			return nil, fmt.Errorf("opening this thread's pid_for_children, to come back to after joining a PID namespace: %w", err)
		}
		d.pidRestoreFD = fd
	}

	pid, errno := cloneExec(d)
	runtime_AfterFork()
	releaseForkLock()
	if d.pidRestoreFD >= 0 {
		unix.Close(d.pidRestoreFD)
		if d.pidRestoreErrno != 0 {
			// This thread would clone into the joined namespace from now
			// on, and the runtime could no longer make a thread from it.
			panic(fmt.Sprintf("clone: cannot go back to this thread's own PID namespace after a clone into a joined one: %v", d.pidRestoreErrno))
		}
	}
	if d.pidJoinErrno != 0 {
		closePipes(errPipe, holdPipe)
		i := spec.joinsPID()
		return nil, &ChildError{Stage: StageJoin, Errno: d.pidJoinErrno, Subject: "join pid", Step: -1, List: "Join", Index: i}
	}

	unix.Close(errPipe[1])
	if holdPipe[0] >= 0 {
		unix.Close(holdPipe[0])
	}
	name := "clone"
	if d.useClone3 {
		name = "clone3"
	}
	if errno != 0 {
		unix.Close(errPipe[0])
		if holdPipe[1] >= 0 {
			unix.Close(holdPipe[1])
		}
		p.initStack.unmap()
		return nil, &CloneError{Syscall: name, Namespaces: spec.Namespaces, Errno: errno}
	}
	proc := &Process{Pid: int(pid), Syscall: name, pidfd: int(d.pidfd), initStack: p.initStack}
	if p.gateShared {
		proc.shared = p
	}

	if holdPipe[1] >= 0 {
		err := parentStep(spec, Held{Pid: proc.Pid, PidFD: proc.pidfd})
		if err == nil {
			_, err = unix.Write(holdPipe[1], []byte{1})
		}
		unix.Close(holdPipe[1])
		if err != nil {
			unix.Close(errPipe[0])
			proc.kill()
			return nil, err
		}
	}

	// Read to EOF, which comes when the child has exec'd (the pipe is
	// close-on-exec) or died. What came before tells which:
	//   1 byte   the exec marker alone: the command runs;
	//   13 bytes the marker and a (stage, errno, step) report: execve failed;
	//   12 bytes a report from a stage before execve;
	//   nothing  the child died before it got to execve.
	var buf [1 + reportSize]byte
	n, err := readFull(errPipe[0], buf[:])
	unix.Close(errPipe[0])
	// Until this EOF the child may read p: a vfork-style child until it
	// has exec'd, and a PID 1 on rawns's memory (Spec.Init) until its
	// command has, and it has closed the pipe (init_unsafe.go).
	runtime.KeepAlive(p)
	if err == nil && n == 1 && (buf[0] == execMarker || buf[0] == gateMarker && spec.GateFD != 0) {
		// Running, or (GateFD) waiting at the gate, the pipe closed.
		return proc, nil
	}
	if err == nil && n == 0 {
		// Dead already, or dying: the kernel closed its end of the pipe.
		st, werr := proc.Wait()
		if werr != nil {
			return nil, fmt.Errorf("the child died before execve: %w", werr)
		}
		return nil, &ChildError{Signal: st.Signal, ExitCode: st.Code}
	}
	proc.kill()
	if err != nil {
		return nil, fmt.Errorf("reading the child's error pipe: %w", err)
	}
	report := buf[:n]
	if n == len(buf) && buf[0] == execMarker {
		report = buf[1:]
	}
	if len(report) != reportSize {
		return nil, fmt.Errorf("%d unexpected bytes on the child's error pipe", n)
	}
	r := parseReport(report)
	if n == len(buf) && buf[0] == execMarker && r.stage == uint32(StageNone) && spec.ShimFD != 0 {
		// The exec shim's report (execshim.go): stage 0, and after the
		// marker only an execve can have failed.
		r.stage = uint32(StageExec)
	}
	ce := &ChildError{Stage: Stage(r.stage), Errno: syscall.Errno(r.errno), Step: -1, Index: -1}
	if r.step > 0 && r.step <= uint32(len(p.table.steps)) {
		p.describeStep(spec, ce, int(r.step-1))
		return nil, ce
	}
	switch ce.Stage {
	case StageExec:
		ce.Subject = spec.Path
	case StageChdir:
		ce.Subject = spec.Dir
	case StageHostname:
		ce.Subject = spec.Hostname
	default:
		if spec.Privilege != nil {
			ce.Subject = spec.Privilege.privSubject(ce.Stage)
		}
	}
	return nil, ce
}

// Our clones hold syscall.ForkLock for writing, as the syscall package
// promises every fork does, but they may overlap one another, as Go's own
// forkExec lets its forks overlap (syscall/forkpipe2.go): the first one in
// takes the write lock, the last one out releases it. Overlapping is safe
// because every fd rawns creates is close-on-exec from birth (pipe2 with
// O_CLOEXEC) and every child marks all its fds above 2 close-on-exec
// anyway; serialising would cap spawns per second at one clone at a time
// (docs/benchmarks.md, --parallel). Unlike the syscall package, this cannot
// see whether a ForkLock reader waits, so a ceaseless stream of overlapping
// clones could hold off ForkLock.RLock callers; the standard library takes
// no read lock on Linux.
var forking struct {
	sync.Mutex
	n int
}

func acquireForkLock() {
	forking.Lock()
	if forking.n == 0 {
		syscall.ForkLock.Lock()
	}
	forking.n++
	forking.Unlock()
}

func releaseForkLock() {
	forking.Lock()
	forking.n--
	if forking.n == 0 {
		syscall.ForkLock.Unlock()
	}
	forking.Unlock()
}

// parentStep does what the parent must do while a fork-style child waits:
// deny setgroups and write the id maps of a new user namespace, then Hold.
func parentStep(spec *Spec, h Held) error {
	dir := "/proc/" + strconv.Itoa(h.Pid) + "/"
	if spec.GIDMap != nil {
		if err := os.WriteFile(dir+"setgroups", []byte("deny"), 0); err != nil {
			return fmt.Errorf("denying setgroups in the new user namespace: %w", err)
		}
		if err := os.WriteFile(dir+"gid_map", formatIDMap(spec.GIDMap), 0); err != nil {
			return fmt.Errorf("writing gid_map %q: %w", formatIDMap(spec.GIDMap), err)
		}
	}
	if spec.UIDMap != nil {
		if err := os.WriteFile(dir+"uid_map", formatIDMap(spec.UIDMap), 0); err != nil {
			return fmt.Errorf("writing uid_map %q: %w", formatIDMap(spec.UIDMap), err)
		}
	}
	if spec.Hold != nil {
		return spec.Hold(h)
	}
	return nil
}

func formatIDMap(m []IDMap) []byte {
	var b strings.Builder
	for _, e := range m {
		fmt.Fprintf(&b, "%d %d %d\n", e.Inside, e.Outside, e.Count)
	}
	return []byte(b.String())
}

// secNsec splits d into seconds and a nanosecond part in [0, 1e9), the
// form /proc/PID/timens_offsets accepts.
func secNsec(d time.Duration) (int64, int64) {
	sec, nsec := int64(d/time.Second), int64(d%time.Second)
	if nsec < 0 {
		sec, nsec = sec-1, nsec+int64(time.Second)
	}
	return sec, nsec
}

// readFull reads until buf is full or EOF, retrying EINTR.
func readFull(fd int, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return n, nil
}

// closePipes closes both ends of the error and hold pipes (-1: none).
func closePipes(pipes ...[2]int) {
	for _, p := range pipes {
		for _, fd := range p {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
	}
}

// mapsZero reports whether m maps id 0 inside: the child can then become
// the new user namespace's root (childSetup). Without maps written by
// rawns (Spec.Hold writes its own, or none) the child stays as it is.
func mapsZero(m []IDMap) bool {
	for _, e := range m {
		if e.Inside == 0 && e.Count > 0 {
			return true
		}
	}
	return false
}
