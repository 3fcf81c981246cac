package clone

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Mode selects how the child's address space is made.
type Mode int

const (
	// ModeAuto is vfork-style unless the parent must act between clone and
	// exec (Spec.Hold or a user namespace with maps), then fork-style.
	ModeAuto Mode = iota
	// ModeVfork shares the parent's memory (CLONE_VM|CLONE_VFORK) and suspends
	// the cloning thread until the child execs or dies.
	ModeVfork
	// ModeFork gives the child a copy-on-write copy of the parent's memory.
	ModeFork
)

func (m Mode) String() string {
	switch m {
	case ModeAuto:
		return "auto"
	case ModeVfork:
		return "vfork"
	case ModeFork:
		return "fork"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode parses "auto", "vfork" or "fork".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "auto":
		return ModeAuto, nil
	case "vfork":
		return ModeVfork, nil
	case "fork":
		return ModeFork, nil
	}
	return 0, fmt.Errorf("unknown clone style %q; use vfork, fork or auto", s)
}

// Syscall selects the system call that creates the child.
type Syscall int

const (
	// SyscallAuto uses clone3(2) and falls back to clone(2) for the rest of
	// the process when the kernel (or a seccomp filter) answers ENOSYS.
	SyscallAuto Syscall = iota
	// SyscallClone3 uses clone3(2) only.
	SyscallClone3
	// SyscallClone uses clone(2) only; it cannot create a time namespace.
	SyscallClone
)

func (s Syscall) String() string {
	switch s {
	case SyscallAuto:
		return "auto"
	case SyscallClone3:
		return "clone3"
	case SyscallClone:
		return "clone"
	}
	return fmt.Sprintf("Syscall(%d)", int(s))
}

// Propagation is the mount propagation applied recursively to / in a new
// mount namespace before anything else is mounted (mount_namespaces(7)).
type Propagation int

const (
	// PropagationPrivate (the default, as unshare(1) does) stops mounts
	// propagating in either direction.
	PropagationPrivate Propagation = iota
	// PropagationSlave receives the host's mount events but sends none.
	PropagationSlave
	// PropagationShared propagates both ways: mounts inside reach the host.
	PropagationShared
	// PropagationUnchanged leaves the propagation copied from the parent.
	PropagationUnchanged
)

// ParsePropagation parses private, slave, shared or unchanged.
func ParsePropagation(s string) (Propagation, error) {
	switch s {
	case "private":
		return PropagationPrivate, nil
	case "slave":
		return PropagationSlave, nil
	case "shared":
		return PropagationShared, nil
	case "unchanged":
		return PropagationUnchanged, nil
	}
	return 0, fmt.Errorf("unknown propagation %q; use private, slave, shared or unchanged", s)
}

func (p Propagation) String() string {
	if p < PropagationPrivate || p > PropagationUnchanged {
		return fmt.Sprintf("Propagation(%d)", int(p))
	}
	return [...]string{"private", "slave", "shared", "unchanged"}[p]
}

// IDMap is one line of /proc/PID/uid_map or gid_map (user_namespaces(7)):
// Count ids starting at Inside map to ids starting at Outside.
type IDMap struct {
	Inside, Outside, Count uint32
}

// Spec describes the process to start, grouped by concern: the program,
// its fds, its namespaces, its filesystem, its cgroup, its privilege, its
// lifetime, and how it is cloned. The zero value of every field but Path
// asks for nothing.
type Spec struct {
	// The program.

	// Path is the program to execute; it is passed to execve(2) as it is,
	// without a PATH search (see LookPath).
	Path string
	// ExecFD, if 3 or more, is an open fd of the program (O_PATH will do):
	// the child runs it with execveat(2) and AT_EMPTY_PATH instead of
	// execve(Path), so the program need not be reachable by a path in the
	// child's mount namespace; Path is then only what errors name. 0
	// means execve(Path). It must not be 0, 1 or 2, which the child's
	// stdio replaces before the exec.
	ExecFD int
	// ShimFD, if not 0, is an fd of 3 or more of the exec shim
	// (OpenExecShim): the child execs the shim, which execs Path, so that
	// from that execve on nothing of the caller (its binary as
	// /proc/PID/exe, its memory) is in the process: a "#!/proc/self/exe"
	// program then finds the shim, read-only, which refuses to run
	// (CVE-2019-5736; execshim.go). rawns-oci sets it; a failing execve
	// of Path is reported as without it. Not with ExecFD or Init.
	ShimFD int
	// Args is argv, Args[0] included. Empty means []string{Path}.
	Args []string
	// Env is the exact environment of the program, KEY=VALUE each.
	Env []string
	// Dir, if set, is the working directory of the program.
	Dir string
	// Init makes the cloned child a minimal init for the new PID
	// namespace instead of the program: PID 1 starts the program as its
	// own child, relays the signals it gets to it, reaps every zombie,
	// and exits with the program's status (128+N for signal N). It runs
	// in raw system calls in the child (init_unsafe.go says how), with no
	// second program image; it needs NewPID. With ModeAuto, PID 1 runs on
	// the caller's own memory, on a stack of its own, where the program
	// can never ptrace it and no time namespace or cgroup of its own is
	// asked for; otherwise, and always with ModeFork, it is a fork-style
	// copy of the caller.
	Init bool

	// The program's fds (fdsteps.go). Every fd but these is
	// close-on-exec in the program, whatever the caller left open.

	// Stdio are the parent's fds that become 0, 1 and 2 in the child. Nil
	// means 0, 1 and 2 as they are.
	Stdio []int
	// ExtraFDs are parent fds that become fds 3, 4, ... of the program,
	// in order, with close-on-exec cleared: runc's --preserve-fds, systemd's
	// LISTEN_FDS, os/exec's ExtraFiles. An fd may be given twice, or be
	// one of Stdio.
	ExtraFDs []int
	// ConsoleSocket, if not 0, is an fd of 3 or more of a Unix socket
	// (the child's end of a socketpair; SOCK_SEQPACKET keeps the message
	// whole): after the mount phase, the child opens a new pty at
	// /dev/ptmx of the root it then has, sends the master over the socket
	// (SCM_RIGHTS), and makes the slave its fds 0, 1 and 2. It is OCI's
	// process.terminal with runc's --console-socket: with a devpts
	// instance of the command's own on /dev/pts (rawns run's --dev /dev),
	// the terminal is one of that instance, numbered and listed there and
	// not on the host's /dev/pts. It needs Privilege.Setsid and Setctty,
	// which make the slave the controlling terminal, and a nil Stdio. The
	// caller receives the master (package tty) after Start and closes its
	// copy of this fd; Linux 4.13+ (TIOCGPTPEER; console_unsafe.go has
	// each step and its reason). An int32: the kernel's int.
	ConsoleSocket int32
	// ConsoleSize, if not zero, is the window size the child gives the
	// console of ConsoleSocket before the command starts (OCI's
	// process.consoleSize), so that the command sees it from its first
	// instruction: the caller can set it on the master only once it has
	// received it, after the exec.
	ConsoleSize Winsize
	// ConsoleMount, with ConsoleSocket and a Root in a new mount
	// namespace, binds the console's slave over /dev/console of the root,
	// as the runtime-spec asks of process.terminal (and runc does). The
	// child opens /dev/console without following any symlink
	// (openat2(2) RESOLVE_NO_SYMLINKS, O_PATH|O_NOFOLLOW), makes an empty
	// file there if nothing is, and mounts onto that fd only if it is a
	// regular file or a character device: a root whose dev/console is a
	// symlink (to a host file bound in, or to a procfs file) is refused,
	// never mounted or written through (CVE-2025-52565).
	ConsoleMount bool

	// Namespaces.

	// Namespaces is the set of namespaces to create.
	Namespaces Namespaces
	// Join lists existing namespaces to enter (join.go): the user
	// namespace first, then ipc, uts, net, cgroup, time, and mnt last,
	// by the child right after Hold; a PID namespace by the cloning
	// thread around the clone, so that the child is born in it. A kind
	// is either joined or created; a user namespace created by the clone
	// cannot be combined with joins.
	Join []Join
	// Hostname, if set, is given to the UTS namespace, new (NewUTS) or
	// joined (Join): the joined one's hostname changes for all in it.
	Hostname string
	// UIDMap and GIDMap are written for a new user namespace while the
	// child waits; setgroups(2) is denied first, as the kernel requires for
	// an unprivileged gid_map.
	UIDMap, GIDMap []IDMap
	// MonotonicOffset and BoottimeOffset, if either is non-zero, shift
	// CLOCK_MONOTONIC and CLOCK_BOOTTIME in the new time namespace
	// (time_namespaces(7)); they need NewTime.
	MonotonicOffset, BoottimeOffset time.Duration
	// Propagation applies to / in a new mount namespace.
	Propagation Propagation
	// MountProc mounts a fresh proc on /proc; it needs NewMount.
	MountProc bool
	// Sysctls are set, in order, for the namespaces the child is in
	// (procfs.go): only parameters of a namespace the spec creates or
	// joins (net.*: the network namespace; kernel.msg*, kernel.sem,
	// kernel.shm*, fs.mqueue.*: IPC; kernel.hostname, kernel.domainname:
	// UTS), since any other would change the host's. Through a proc the
	// child mounts for itself, detached, so that no mount over /proc/sys
	// can redirect them (CVE-2025-52881); Linux 5.6+.
	Sysctls []Sysctl
	// OOMScoreAdj, if not nil, is written to the child's own
	// oom_score_adj the same way (-1000 to 1000; lowering it below the
	// caller's needs CAP_SYS_RESOURCE). The command inherits it, and PID 1
	// of Init too.
	OOMScoreAdj *int

	// A filesystem of its own (mount.go; the child's mount phase). All
	// need NewMount.

	// Root, if set, is a host directory that becomes the command's /:
	// bound onto itself (or covered by an overlay), the Mounts made
	// inside it, then pivot_root(2) and the old root detached. It need
	// not be a mount point. Path and Dir are then paths inside it.
	Root string
	// Overlay puts a writable overlayfs over Root, its upper and work
	// directories on a tmpfs made for the run: the command may write
	// anywhere, Root stays as it was. OverlayDir, if set, keeps the
	// upper layer on disk instead, in OverlayDir/upper (with
	// OverlayDir/work), which must exist.
	Overlay    bool
	OverlayDir string
	// Mounts are made in order, each Target resolved inside the root.
	Mounts []Mount
	// ReadOnlyRoot makes / read-only once every mount is made.
	ReadOnlyRoot bool
	// RootPropagation, if not 0, is set on / after pivot_root: MS_SHARED,
	// MS_SLAVE, MS_PRIVATE or MS_UNBINDABLE, with MS_REC for the whole
	// tree (mount_setattr(2)): OCI's rootfsPropagation. Propagation still
	// applies to the whole namespace before any mount.
	RootPropagation uintptr
	// HostMountNS makes Root and Mounts in the caller's own mount
	// namespace, for a spec that creates and joins none: OCI's config
	// without a mount namespace, which runc and crun run. The root's tree
	// is attached on Root and made private at once (mount(2)
	// MS_REC|MS_PRIVATE), so that nothing made below it propagates to the
	// caller's mounts or their peers; every Mount goes below it (they
	// resolve inside the root); and the child enters it with chroot(2), as
	// runc does there, since pivot_root(2) would move the root of every
	// process of the namespace. The attach itself reaches the peers of the
	// mount that holds Root, as any mount there does. What is left
	// mounted on Root is the caller's to remove: umount2(Root,
	// MNT_DETACH) removes it all (package container does at delete). The
	// container's mount table is the caller's: chroot(2) is no isolation
	// from a process that may call it again (CAP_SYS_CHROOT).
	HostMountNS bool
	// ChrootFD, if not 0, is an O_PATH fd of a directory the child enters
	// with fchdir(2) and chroot(2), Dir then resolved inside it as inside
	// a Root: an exec into a container without a mount namespace of its
	// own (HostMountNS), whose root no setns(2) enters; the fd is
	// /proc/PID/root of its process. Not with Root or a mount namespace.
	ChrootFD int

	// A cgroup of its own.

	// UseCgroupFD makes clone3(2) create the child directly in the cgroup v2
	// directory CgroupFD (an O_PATH or O_DIRECTORY fd), with
	// CLONE_INTO_CGROUP (Linux 5.7+): the child is never outside it, not
	// even for an instant, and the clone may stay vfork-style. clone(2) has
	// no such flag, so where clone3 is missing Start returns
	// ErrNoCloneIntoCgroup and the caller must place the child otherwise
	// (package cgroup does, with Hold). The names are syscall.SysProcAttr's;
	// the fd is an int32, the kernel's int.
	UseCgroupFD bool
	CgroupFD    int32

	// Privilege, if not nil, narrows the child right before execve:
	// rlimits, umask, session and terminal, credentials, capabilities,
	// no_new_privs, seccomp (privilege.go). A pointer, so that a run
	// without it allocates nothing for it.
	Privilege *Privilege

	// Its lifetime.

	// Hold, if set, is called in the parent after the clone, while the
	// child waits before anything of its own: its new namespaces exist,
	// the uid and gid maps are written, nothing has run (the network's
	// hand-off: veth, addresses and routes made from outside). The child
	// goes on only if Hold returns nil; otherwise it is killed and
	// reaped, and Start returns Hold's error. It forces fork-style.
	Hold func(h Held) error
	// GateFD, if not 0, is an fd of 3 or more that the child reads one
	// byte from when every setup step but seccomp is made (after
	// no_new_privs, as runc installs the filter last then): OCI's
	// create/start. First it writes a marker on the error pipe and
	// closes the pipe, so that Start returns as soon as the child waits
	// there (or a *ChildError if a step before failed). One byte read:
	// the child goes on to seccomp, Init and execve. EOF or an error: it
	// exits ExitSetupFailed and nothing runs. Past the gate nothing can
	// be reported through the pipe, whose reader may be gone, so a
	// failure is an exit status: ExitNotFound for execve's ENOENT,
	// ENOTDIR or ELOOP, ExitCannotInvoke for its other errors,
	// ExitSetupFailed for any other step (runc's numbers, which engines
	// map). It forces a fork-style clone (and a fork-style PID 1 with
	// Init): a vfork-style parent would sleep until the exec; GateShared
	// makes it a CLONE_VM one on a stack of its own, where it can. The fd
	// is close-on-exec for the program. A FIFO that the caller opened
	// O_RDWR suits: the child, holding a writer itself, never reads EOF
	// while it waits, and a writer that opens it O_WRONLY|O_NONBLOCK
	// later gets ENXIO once nobody waits any more.
	GateFD int
	// GateShared lets a gated child (GateFD) wait on this process's
	// memory instead of a copy of it, where it is safe and the kernel has
	// clone3 (gate_unsafe.go says when): no page table copied, no page
	// copied on write. The caller promises that nothing of the container
	// can reach the child (and so this process's memory) before this
	// process exits or reaps the child: OCI's create, which holds the
	// container's lock until it exits. The Process keeps the child's
	// prepared data until Wait; after Release, for this process's life.
	// The memory the Spec points into and the child reads as it is
	// (Privilege.Seccomp) must not change meanwhile either.
	GateShared bool
	// NoParentDeathSignal leaves PR_SET_PDEATHSIG unset: the child
	// outlives the thread that cloned it, as an OCI container outlives
	// the short-lived `create` that made it (an engine's subreaper reaps
	// it). The zero value makes the child die (SIGKILL) with that thread.
	NoParentDeathSignal bool

	// How it is cloned: the clone style and system call.
	Mode    Mode
	Syscall Syscall
}

// Winsize is a terminal's size in characters (struct winsize of
// ioctl_tty(2), without the unused pixel fields).
type Winsize struct {
	Rows, Cols uint16
}

// MaxHostname is the kernel's limit on a hostname (__NEW_UTS_LEN).
const MaxHostname = 64

// Validate checks the spec. It changes nothing on the system; with Root or
// Mounts it looks at the host (stat) to learn that Root and each bind
// source exist. Its errors name the field at fault.
func (s *Spec) Validate() error {
	if s.Path == "" {
		return errors.New("no program to execute: Path is empty")
	}
	if err := noNUL("program path", s.Path); err != nil {
		return err
	}
	for i, a := range s.Args {
		if strings.IndexByte(a, 0) >= 0 { // formatted only when it fails
			return noNUL("argument "+strconv.Itoa(i), a)
		}
	}
	for _, e := range s.Env {
		if err := noNUL("environment entry", e); err != nil {
			return err
		}
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return fmt.Errorf("environment entry %q is not KEY=VALUE", e)
		}
	}
	if err := noNUL("working directory", s.Dir); err != nil {
		return err
	}
	if s.Namespaces&^AllNamespaces != 0 {
		return fmt.Errorf("unknown namespace flags %#x", uint64(s.Namespaces&^AllNamespaces))
	}
	// Unknown enum values would be taken silently for another: an unknown
	// Propagation leaves / as it is, so mounts could reach the host.
	if s.Mode < ModeAuto || s.Mode > ModeFork {
		return fmt.Errorf("unknown Mode %d; use ModeAuto, ModeVfork or ModeFork", int(s.Mode))
	}
	if s.Syscall < SyscallAuto || s.Syscall > SyscallClone {
		return fmt.Errorf("unknown Syscall %d; use SyscallAuto, SyscallClone3 or SyscallClone", int(s.Syscall))
	}
	if s.Propagation < PropagationPrivate || s.Propagation > PropagationUnchanged {
		return fmt.Errorf("unknown Propagation %d; use PropagationPrivate, PropagationSlave, PropagationShared or PropagationUnchanged", int(s.Propagation))
	}
	if s.Hostname != "" {
		// A joined UTS namespace takes the hostname too, for everything in
		// it, as runc and crun set it there (OCI's hostname with a
		// linux.namespaces uts path).
		if (s.Namespaces|s.joined())&NewUTS == 0 {
			return &SpecError{Field: "Hostname", Needs: NewUTS, Reason: ", or the host's hostname would change"}
		}
		if err := ValidateHostname(s.Hostname); err != nil {
			return err
		}
	}
	if s.MountProc && s.Namespaces&NewMount == 0 {
		return &SpecError{Field: "MountProc", Needs: NewMount, Reason: ", or the host's /proc would be covered"}
	}
	if s.UIDMap != nil && s.Namespaces&NewUser == 0 {
		return &SpecError{Field: "UIDMap", Needs: NewUser}
	}
	if s.GIDMap != nil && s.Namespaces&NewUser == 0 {
		return &SpecError{Field: "GIDMap", Needs: NewUser}
	}
	if s.ShimFD != 0 {
		switch {
		case s.ShimFD < 3:
			return fmt.Errorf("ShimFD %d: give an fd of 3 or more (OpenExecShim), or 0 to exec Path directly", s.ShimFD)
		case s.ExecFD != 0:
			return errors.New("ShimFD and ExecFD: the shim execs Path; give one of them")
		case s.Init:
			return errors.New("ShimFD with Init: the shim serves a process that execs the program itself; leave Init off")
		}
	}
	if s.ExecFD < 0 || s.ExecFD == 1 || s.ExecFD == 2 {
		return fmt.Errorf("ExecFD %d: give an fd of 3 or more, or 0 to exec Path", s.ExecFD)
	}
	if s.Stdio != nil && len(s.Stdio) != 3 {
		return fmt.Errorf("Stdio has %d fds; give exactly 3 (stdin, stdout, stderr) or nil", len(s.Stdio))
	}
	for i, fd := range s.Stdio {
		if fd < 0 {
			return fmt.Errorf("Stdio[%d] is %d; give an open fd", i, fd)
		}
	}
	if err := s.validateExtraFDs(); err != nil {
		return err
	}
	if err := s.validateJoin(); err != nil {
		return err
	}
	if err := s.validateProcfs(); err != nil {
		return err
	}
	if s.ConsoleSocket != 0 {
		if err := s.validateConsole(); err != nil {
			return err
		}
	}
	if s.Init && s.Namespaces&NewPID == 0 {
		return &SpecError{Field: "Init", Needs: NewPID}
	}
	if s.Init && s.Mode == ModeVfork {
		return errors.New("Init keeps the cloned child alive as PID 1, which a vfork-style clone would hold the parent for; use fork or auto")
	}
	if s.Mode == ModeVfork && s.Namespaces&NewTime != 0 && !execEntersTimeNamespace() {
		return errors.New("a vfork-style child stays in its parent's time namespace, and before Linux 6.2 execve does not move it into the new one; use fork or auto")
	}
	if s.GateFD != 0 {
		if s.GateFD < 3 {
			return fmt.Errorf("GateFD %d: give an fd of 3 or more, or 0 for no gate", s.GateFD)
		}
		if _, err := unix.FcntlInt(uintptr(s.GateFD), unix.F_GETFD, 0); err != nil {
			return fmt.Errorf("GateFD %d: %v; give an open fd (a FIFO opened O_RDWR)", s.GateFD, err)
		}
		if s.Mode == ModeVfork {
			return errors.New("a start gate (GateFD) keeps the child waiting before exec, which a vfork-style clone would hold the parent for; use fork or auto")
		}
	}
	if s.Mode == ModeVfork && s.needsParentStep() {
		return errors.New("vfork-style clone suspends the parent until exec, but the parent must act before exec here (user namespace maps or Hold); use fork or auto")
	}
	if s.MonotonicOffset != 0 && s.Namespaces&NewTime == 0 {
		return &SpecError{Field: "MonotonicOffset", Needs: NewTime}
	}
	if s.BoottimeOffset != 0 && s.Namespaces&NewTime == 0 {
		return &SpecError{Field: "BoottimeOffset", Needs: NewTime}
	}
	if s.UseCgroupFD {
		if s.CgroupFD < 0 {
			return fmt.Errorf("CgroupFD is %d; give an open fd of a cgroup v2 directory", s.CgroupFD)
		}
		if s.Syscall == SyscallClone {
			return errors.New("CLONE_INTO_CGROUP exists only in clone3; clone(2) cannot place the child in a cgroup")
		}
	}
	if s.Syscall == SyscallClone && s.Namespaces&NewTime != 0 && !s.hasTimeOffsets() {
		return errors.New("a time namespace can only be created by clone3; clone(2) silently ignores CLONE_NEWTIME")
	}
	if err := s.validateMounts(); err != nil {
		return err
	}
	if s.ConsoleMount && (s.ConsoleSocket == 0 || s.Root == "" || s.Namespaces&NewMount == 0) {
		return errors.New("ConsoleMount binds the console of ConsoleSocket over /dev/console of Root in a new mount namespace; give all three (ConsoleSocket, Root, NewMount)")
	}
	if s.ConsoleSize != (Winsize{}) && s.ConsoleSocket == 0 {
		return errors.New("ConsoleSize is the size of the console of ConsoleSocket; give ConsoleSocket too")
	}
	if s.Privilege != nil {
		if err := s.Privilege.validate(s); err != nil {
			return err
		}
	}
	return nil
}

// MaxExtraFDs bounds Spec.ExtraFDs: the program gets fds 3 to 1026 at most.
const MaxExtraFDs = 1024

// validateExtraFDs checks that each of ExtraFDs is open now and is none of
// the fds the child itself uses up before the program runs.
func (s *Spec) validateExtraFDs() error {
	if len(s.ExtraFDs) > MaxExtraFDs {
		return fmt.Errorf("ExtraFDs has %d fds; at most %d", len(s.ExtraFDs), MaxExtraFDs)
	}
	for i, fd := range s.ExtraFDs {
		if fd < 0 {
			return fmt.Errorf("ExtraFDs[%d] is %d; give an open fd", i, fd)
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			return fmt.Errorf("ExtraFDs[%d] (fd %d): %v; give an open fd", i, fd, err)
		}
		if s.ConsoleSocket != 0 && fd == int(s.ConsoleSocket) {
			return fmt.Errorf("ExtraFDs[%d] is ConsoleSocket, which the child closes once it has sent the console", i)
		}
		if s.GateFD != 0 && fd == s.GateFD {
			return fmt.Errorf("ExtraFDs[%d] is GateFD; the program must not hold its own start gate", i)
		}
	}
	return nil
}

// validateConsole checks ConsoleSocket: an fd above stdio, a socket, and
// a child that can make the console its controlling terminal.
func (s *Spec) validateConsole() error {
	if s.ConsoleSocket < 3 {
		return fmt.Errorf("ConsoleSocket %d: give a socket fd of 3 or more, or 0 for no console", s.ConsoleSocket)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(s.ConsoleSocket), &st); err != nil {
		return fmt.Errorf("ConsoleSocket %d: %v; give an open socket", s.ConsoleSocket, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return fmt.Errorf("ConsoleSocket %d is not a socket; give the child's end of a socketpair(AF_UNIX)", s.ConsoleSocket)
	}
	if s.Stdio != nil {
		return errors.New("ConsoleSocket makes the console's slave fds 0, 1 and 2; leave Stdio nil")
	}
	if p := s.Privilege; p == nil || !p.Setsid || !p.Setctty {
		return errors.New("ConsoleSocket needs Privilege.Setsid and Setctty: the console must become the command's controlling terminal, which only the leader of a new session may acquire")
	}
	return nil
}

// ValidateHostname checks a hostname the way sethostname(2) would.
func ValidateHostname(h string) error {
	switch {
	case h == "":
		return errors.New("empty hostname; give 1 to 64 bytes")
	case len(h) > MaxHostname:
		return fmt.Errorf("hostname %q is %d bytes; the kernel allows at most %d", h, len(h), MaxHostname)
	}
	return noNUL("hostname", h)
}

func noNUL(what, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%s %q contains a NUL byte, which execve(2) cannot pass", what, s)
	}
	return nil
}

// hasTimeOffsets reports whether the child sets clock offsets, in which
// case it makes the time namespace itself with unshare(2), not clone.
func (s *Spec) hasTimeOffsets() bool {
	return s.MonotonicOffset != 0 || s.BoottimeOffset != 0
}

// execEntersTimeNamespace reports whether execve(2) moves a process into
// the time namespace it is to be in (its time_for_children), which Linux
// 6.2 added ("fs/exec: switch timens when a task gets a new mm"). A child
// that shares its parent's memory stays in the parent's time namespace at
// the clone (copy_namespaces: the clocks reach a process through the
// vDSO's data page, one per mm), so before 6.2 a vfork-style child's
// command never got there: it ran in the host's time namespace, and only
// its own children in the new one. There the child is cloned fork-style,
// and, when it makes the namespace itself for the offsets, enters it with
// setns(2) before execve.
func execEntersTimeNamespace() bool {
	return kernelAtLeast(6, 2)
}

// needsParentStep reports whether the parent must act between clone and
// exec, which a vfork-style clone cannot allow.
func (s *Spec) needsParentStep() bool {
	return s.Hold != nil || s.UIDMap != nil || s.GIDMap != nil
}

// needsFork reports whether the child must have memory of its own: the
// parent acts before exec, or the child waits at a gate, which it may
// leave after the parent has gone.
func (s *Spec) needsFork() bool {
	return s.needsParentStep() || s.GateFD != 0 || s.joined()&NewTime != 0
}
