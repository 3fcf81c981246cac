package clone

import (
	"errors"
	"fmt"
	"syscall"
)

// Stage names the step of the child, between clone and exec, that failed.
// Stages are numbered in the order the child makes them (childMain); the
// numbers are not a stable interface: test a stage by its name, or a
// group of them by Phase.
type Stage uint32

const (
	StageNone Stage = iota

	// PhaseSetup.
	StageHold      // waiting for the parent's step (maps, Spec.Hold)
	StageUserRoot  // becoming uid and gid 0 of a new user namespace
	StageSignals   // emptying the signal mask
	StagePdeathsig // PR_SET_PDEATHSIG
	StageHide      // Spec.Init: PID 1 hides rawns's command line and environment (initHideNow)

	// PhaseNamespaces.
	StageJoin        // setns(2) into a namespace of Spec.Join
	StagePropagation // the propagation of / in a new mount namespace
	StageMountProc   // Spec.MountProc
	StageLoopback    // bringing lo up in a new network namespace
	StageHostname    // sethostname(2)
	StageTimeOffsets // the time namespace for the clock offsets

	// PhaseProcfs: table steps, through a proc of the child's own.
	StageSysctl      // a sysctl of Spec.Sysctls
	StageOOMScoreAdj // Spec.OOMScoreAdj

	// PhaseMount: steps of the table, each with its index
	// (ChildError.Step) and the mount it serves.
	StageMount           // the root, a bind's source, or a Mount
	StagePivot           // pivot_root(2) and the detach of the old root
	StageRootPropagation // Spec.RootPropagation, on / after pivot_root
	StageReadOnlyRoot    // making / read-only after the mounts
	StageChdir           // the working directory (resolved inside a Root)

	// PhaseConsole: Spec.ConsoleSocket (console_unsafe.go), between the
	// mount phase and the fds; each step its own stage, so that a
	// failure says which (rawns run reports them under --tty).
	StageConsoleOpen   // opening /dev/ptmx in the command's root
	StageConsoleUnlock // unlocking the new pty (TIOCSPTLCK)
	StageConsoleSize   // giving it Spec.ConsoleSize (TIOCSWINSZ)
	StageConsolePeer   // opening its slave through the master (TIOCGPTPEER, Linux 4.13+)
	StageConsoleSend   // sending the master over ConsoleSocket
	StageConsoleMount  // binding the slave over /dev/console (Spec.ConsoleMount)

	// PhaseFDs.
	StageFDs      // Stdio and ExtraFDs onto their numbers (table steps)
	StageCloseFDs // every other fd close-on-exec

	// PhasePrivilege (Privilege), in its order; with no_new_privs the
	// filter comes after the gate (StageSeccomp), without it before the
	// capability steps (StageSeccompEarly).
	StageRlimit
	StageUmask
	StageSetsid
	StageCtty
	StageSeccompEarly // the filter without no_new_privs: while CAP_SYS_ADMIN is there
	StageBounding
	StageKeepCaps
	StageSetgroups
	StageSetresgid
	StageSetresuid
	StageCapset
	StageAmbient
	StageNoNewPrivs

	// PhaseGate: Spec.GateFD, reading it failed or gave EOF. A gated child
	// reports it only by its exit status.
	StageGate

	// PhasePrivilege again: the filter, last.
	StageSeccomp

	// PhaseInit: the reaper of Spec.Init, starting the command as its
	// child, or setting up the signal relay to it.
	StageInit

	// PhaseExec.
	StageExec

	numStages
)

var stageNames = [...]string{
	StageNone:            "none",
	StageHold:            "wait for the parent",
	StageUserRoot:        "become root of the new user namespace (setresgid, setresuid 0)",
	StageSignals:         "reset the signal mask",
	StagePdeathsig:       "prctl(PR_SET_PDEATHSIG)",
	StageHide:            "hide rawns's command line and environment from the command (prctl PR_SET_MM_MAP)",
	StageJoin:            "setns",
	StagePropagation:     "set the propagation of /",
	StageMountProc:       "mount /proc",
	StageLoopback:        "bring up lo",
	StageHostname:        "sethostname",
	StageTimeOffsets:     "set time namespace offsets",
	StageSysctl:          "sysctl",
	StageOOMScoreAdj:     "oom_score_adj",
	StageMount:           "mount",
	StagePivot:           "pivot_root",
	StageRootPropagation: "set the propagation of the root",
	StageReadOnlyRoot:    "make / read-only",
	StageChdir:           "chdir",
	StageConsoleOpen:     "console: open /dev/ptmx",
	StageConsoleUnlock:   "console: unlock the pty (ioctl TIOCSPTLCK)",
	StageConsoleSize:     "console: set the window size (ioctl TIOCSWINSZ)",
	StageConsolePeer:     "console: open the pty's slave (ioctl TIOCGPTPEER, Linux 4.13+)",
	StageConsoleSend:     "console: send the pty's master over the console socket (sendmsg SCM_RIGHTS)",
	StageConsoleMount:    "console: bind the pty's slave over /dev/console (it must be a file or a character device of the root, never a symlink)",
	StageFDs:             "set up the fds",
	StageCloseFDs:        "mark fds close-on-exec",
	StageRlimit:          "prlimit",
	StageUmask:           "umask",
	StageSetsid:          "setsid",
	StageCtty:            "ioctl(TIOCSCTTY)",
	StageSeccompEarly:    "seccomp(SECCOMP_SET_MODE_FILTER) before the capability steps (no_new_privs off)",
	StageBounding:        "prctl(PR_CAPBSET_DROP)",
	StageKeepCaps:        "prctl(PR_SET_KEEPCAPS)",
	StageSetgroups:       "setgroups",
	StageSetresgid:       "setresgid",
	StageSetresuid:       "setresuid",
	StageCapset:          "capset",
	StageAmbient:         "prctl(PR_CAP_AMBIENT_RAISE)",
	StageNoNewPrivs:      "prctl(PR_SET_NO_NEW_PRIVS)",
	StageGate:            "wait at the start gate",
	StageSeccomp:         "seccomp(SECCOMP_SET_MODE_FILTER)",
	StageInit:            "start the command under the init",
	StageExec:            "execve",
}

func (s Stage) String() string {
	if s < numStages {
		return stageNames[s]
	}
	return fmt.Sprintf("stage %d", uint32(s))
}

// Phase is a group of the child's stages, in its order: what callers test
// ("a failure of the privilege phase"), where numeric ranges of stages
// would break whenever a stage is added.
type Phase uint8

const (
	PhaseNone       Phase = iota // no stage: the child died without a report (ChildError.Signal)
	PhaseSetup                   // StageHold, StageUserRoot, StageSignals, StagePdeathsig, StageHide
	PhaseNamespaces              // StageJoin .. StageTimeOffsets
	PhaseProcfs                  // StageSysctl, StageOOMScoreAdj
	PhaseMount                   // StageMount .. StageChdir
	PhaseConsole                 // StageConsoleOpen .. StageConsoleSend
	PhaseFDs                     // StageFDs, StageCloseFDs
	PhasePrivilege               // StageRlimit .. StageNoNewPrivs (StageSeccompEarly among them), StageSeccomp
	PhaseGate                    // StageGate
	PhaseInit                    // StageInit
	PhaseExec                    // StageExec
)

// Phase is the phase s belongs to.
func (s Stage) Phase() Phase {
	switch {
	case s == StageNone || s >= numStages:
		return PhaseNone
	case s <= StageHide:
		return PhaseSetup
	case s <= StageTimeOffsets:
		return PhaseNamespaces
	case s <= StageOOMScoreAdj:
		return PhaseProcfs
	case s <= StageChdir:
		return PhaseMount
	case s <= StageConsoleSend:
		return PhaseConsole
	case s <= StageCloseFDs:
		return PhaseFDs
	case s <= StageNoNewPrivs || s == StageSeccomp:
		return PhasePrivilege
	case s == StageGate:
		return PhaseGate
	case s == StageInit:
		return PhaseInit
	}
	return PhaseExec
}

// ChildError is a failure of the child before its program started; the
// child has been reaped. Either the child sent it over the error pipe
// (Stage and Errno), or it died before it got to execve without a word:
// killed (Signal; a seccomp filter that kills, the OOM killer) or, which
// rawns's child never does, exited (ExitCode).
type ChildError struct {
	Stage Stage
	Errno syscall.Errno
	// Subject is what the stage worked on: the program path for StageExec,
	// the directory for StageChdir, the hostname for StageHostname.
	Subject string
	// Signal is the signal that killed the child before execve; Stage is
	// StageNone then.
	Signal syscall.Signal
	// ExitCode is the child's exit code when it exited before execve
	// without a report.
	ExitCode int

	// A step of the table (the mount phase, the fds, ...): Step is its
	// index in the child's table, -1 for a stage that is no table step;
	// Syscall the system call it made. List and Index name the entry of
	// a Spec list the step served ("Mounts", "Stdio", "ExtraFDs") and its
	// index there; List is "" and Index -1 for a step of no entry (the
	// root's own steps: bind or overlay, pivot_root, read-only, chdir).
	// Subject describes the entry then.
	Step    int
	Syscall string
	List    string
	Index   int
}

func (e *ChildError) Error() string {
	switch {
	case e.Stage == StageNone && e.Signal != 0:
		return fmt.Sprintf("child: killed by signal %d (%v) before execve; nothing ran", int(e.Signal), e.Signal)
	case e.Stage == StageNone:
		return fmt.Sprintf("child: exited with code %d before execve, without a report; nothing ran", e.ExitCode)
	case e.Syscall != "":
		return fmt.Sprintf("child: %s (step %d): %s: %v", e.Subject, e.Step, e.Syscall, e.Errno)
	case e.Subject != "":
		return fmt.Sprintf("child: %s %s: %v", e.Stage, e.Subject, e.Errno)
	}
	return fmt.Sprintf("child: %s: %v", e.Stage, e.Errno)
}

// Unwrap returns the errno of a reported failure, nil for a child that died
// without a report.
func (e *ChildError) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}

// CloneError is a failure of clone(2) or clone3(2) itself: nothing started.
type CloneError struct {
	Syscall    string // "clone" or "clone3"
	Namespaces Namespaces
	Errno      syscall.Errno
}

func (e *CloneError) Error() string {
	msg := fmt.Sprintf("%s with namespaces %s: %v", e.Syscall, e.Namespaces, e.Errno)
	switch e.Errno {
	case syscall.EPERM:
		if e.Namespaces&^NewUser != 0 {
			msg += " (creating these namespaces needs root or CAP_SYS_ADMIN; run as root, or add a user namespace)"
		} else {
			msg += " (user namespaces may be disabled: see /proc/sys/user/max_user_namespaces and kernel.unprivileged_userns_clone)"
		}
	case syscall.EAGAIN:
		msg += " (the process limit was reached: see RLIMIT_NPROC, /proc/sys/kernel/threads-max and the pids.max of the cgroup)"
	case syscall.ENOSPC:
		msg += " (a namespace limit was reached: see /proc/sys/user/max_*_namespaces)"
	case syscall.EINVAL:
		if e.Namespaces&NewTime != 0 {
			msg += " (this kernel may lack time namespaces, CONFIG_TIME_NS)"
		}
	}
	return msg
}

func (e *CloneError) Unwrap() error { return e.Errno }

// SpecError is Validate's error for a field that needs a namespace kind the
// spec does not create: a command line can then name its own flag and say
// which kind to add, without repeating Validate's rules.
type SpecError struct {
	Field  string     // the Spec field at fault: "Hostname", "UIDMap", ...
	Needs  Namespaces // the kind it needs
	Reason string     // why, as a clause that follows "needs a new X namespace", or ""
}

func (e *SpecError) Error() string {
	return e.Field + " needs a new " + e.Needs.Title() + " namespace" + e.Reason
}

// ErrNoClone3 is returned when a time namespace is asked for but the kernel
// has no clone3(2): clone(2) would ignore CLONE_NEWTIME silently.
var ErrNoClone3 = errors.New("a time namespace needs clone3(2), which this kernel or its seccomp filter refuses (ENOSYS)")

// ErrNoCloneIntoCgroup is returned when Spec.UseCgroupFD is set but the
// kernel has no clone3(2), so CLONE_INTO_CGROUP cannot be passed; nothing
// was started.
var ErrNoCloneIntoCgroup = errors.New("CLONE_INTO_CGROUP needs clone3(2), which this kernel or its seccomp filter refuses (ENOSYS)")

// ErrProcessDone is returned by Signal after the process has been reaped.
var ErrProcessDone = errors.New("process already finished")

// The exit statuses a child of this package may end with before its
// program runs, and the shell's rule for a death by signal: the numbers of
// docker, runc and rawns run (internal/exitcode holds the CLI's policy;
// TestExitCodesMatchTheCLI holds them equal).
const (
	// ExitSetupFailed: a step before execve failed, or a gated child
	// (Spec.GateFD) read EOF at its gate: nothing of the program ran.
	ExitSetupFailed = 125
	// ExitCannotInvoke: execve failed for another reason than a missing
	// file (EACCES, ENOEXEC, E2BIG, ...).
	ExitCannotInvoke = 126
	// ExitNotFound: execve failed with ENOENT, ENOTDIR or ELOOP.
	ExitNotFound = 127
	// ExitSignalBase: a program killed by signal N is reported as
	// ExitSignalBase+N (ExitStatus.ExitCode).
	ExitSignalBase = 128
)
