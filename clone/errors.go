package clone

import (
	"errors"
	"fmt"
	"syscall"
)

// Stage names the step of the child, between clone and exec, that failed.
type Stage uint32

// The child's steps, in the order it makes them.
const (
	StageNone Stage = iota
	StageHold
	StageSignals
	StagePdeathsig
	StagePropagation
	StageMountProc
	StageLoopback
	StageHostname
	StageTimeOffsets
	StageStdio
	StageCloseFDs
	StageChdir
	StageExec
	// StageInit is the reaper of Spec.Init: starting the command as its
	// child, or setting up the signal relay to it.
	StageInit
	// StageGate is the start gate of Spec.GateFD: reading it failed or
	// gave EOF. A gated child reports it only by its exit status.
	StageGate
)

// The mount phase (issue 12): each of its steps reports its own stage, and
// the step's index, which ChildError turns into the mount at fault.
const (
	// StageMount is a step that makes the root or a Mount.
	StageMount Stage = 32 + iota
	// StagePivot is pivot_root(2) and the detach of the old root.
	StagePivot
	// StageReadOnlyRoot is making / read-only after the mounts.
	StageReadOnlyRoot
)

// The console of Spec.ConsoleSocket (console_unsafe.go), between the
// mount phase and stdio: each step its own stage, so that a failure says
// which (rawns run reports them under --tty).
const (
	// StageConsoleOpen is opening /dev/ptmx in the command's root.
	StageConsoleOpen Stage = 48 + iota
	// StageConsoleUnlock is unlocking the new pty (TIOCSPTLCK).
	StageConsoleUnlock
	// StageConsoleSize is giving it Spec.ConsoleSize (TIOCSWINSZ).
	StageConsoleSize
	// StageConsolePeer is opening its slave through the master
	// (TIOCGPTPEER, Linux 4.13+).
	StageConsolePeer
	// StageConsoleSend is sending the master over ConsoleSocket.
	StageConsoleSend
)

var stageNames = [...]string{
	StageNone:        "none",
	StageHold:        "wait for the parent",
	StageSignals:     "reset the signal mask",
	StagePdeathsig:   "prctl(PR_SET_PDEATHSIG)",
	StagePropagation: "set the propagation of /",
	StageMountProc:   "mount /proc",
	StageLoopback:    "bring up lo",
	StageHostname:    "sethostname",
	StageTimeOffsets: "set time namespace offsets",
	StageStdio:       "set up stdio",
	StageCloseFDs:    "mark fds close-on-exec",
	StageChdir:       "chdir",
	StageExec:        "execve",
	StageInit:        "start the command under the init",
	StageGate:        "wait at the start gate",

	StageMount:        "mount",
	StagePivot:        "pivot_root",
	StageReadOnlyRoot: "make / read-only",

	StageConsoleOpen:   "console: open /dev/ptmx",
	StageConsoleUnlock: "console: unlock the pty (ioctl TIOCSPTLCK)",
	StageConsoleSize:   "console: set the window size (ioctl TIOCSWINSZ)",
	StageConsolePeer:   "console: open the pty's slave (ioctl TIOCGPTPEER, Linux 4.13+)",
	StageConsoleSend:   "console: send the pty's master over the console socket (sendmsg SCM_RIGHTS)",
}

// The privilege phase's steps (Privilege), in the order the child makes
// them, between StageChdir and StageExec. They are numbered apart from the
// steps above so that new steps there do not renumber them.
const (
	StageRlimit Stage = 64 + iota
	StageUmask
	StageSetsid
	StageCtty
	StageBounding
	StageKeepCaps
	StageSetgroups
	StageSetresgid
	StageSetresuid
	StageCapset
	StageAmbient
	StageNoNewPrivs
	StageSeccomp
)

var privStageNames = [...]string{
	StageRlimit - StageRlimit:     "prlimit",
	StageUmask - StageRlimit:      "umask",
	StageSetsid - StageRlimit:     "setsid",
	StageCtty - StageRlimit:       "ioctl(TIOCSCTTY)",
	StageBounding - StageRlimit:   "prctl(PR_CAPBSET_DROP)",
	StageKeepCaps - StageRlimit:   "prctl(PR_SET_KEEPCAPS)",
	StageSetgroups - StageRlimit:  "setgroups",
	StageSetresgid - StageRlimit:  "setresgid",
	StageSetresuid - StageRlimit:  "setresuid",
	StageCapset - StageRlimit:     "capset",
	StageAmbient - StageRlimit:    "prctl(PR_CAP_AMBIENT_RAISE)",
	StageNoNewPrivs - StageRlimit: "prctl(PR_SET_NO_NEW_PRIVS)",
	StageSeccomp - StageRlimit:    "seccomp(SECCOMP_SET_MODE_FILTER)",
}

// inMountPhase reports whether a step of the mount phase's table can
// report s, so that its step index means something: a stage after the
// phase (the console, stdio, the privilege phase) leaves it at 0.
func (s Stage) inMountPhase() bool {
	return s == StageMount || s == StagePivot || s == StageReadOnlyRoot || s == StageChdir
}

func (s Stage) String() string {
	if int(s) < len(stageNames) && stageNames[s] != "" {
		return stageNames[s]
	}
	if s >= StageRlimit && int(s-StageRlimit) < len(privStageNames) {
		return privStageNames[s-StageRlimit]
	}
	return fmt.Sprintf("stage %d", uint32(s))
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

	// In the mount phase (StageMount, StagePivot, StageReadOnlyRoot, and
	// StageChdir with a Root): Step is the index of the step that failed
	// in the child's table, Syscall the system call it made, and Mount the
	// index in Spec.Mounts of the mount it belonged to, or -1 for the
	// root's own steps (bind or overlay, pivot_root, read-only, chdir).
	// Subject describes the mount then.
	Step    int
	Syscall string
	Mount   int
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
