// Package signals is the one home of which signals rawns passes on to the
// programs it starts, and of the signal facts those lists rest on
// (signal(7)). rawns run's relay (internal/sigrelay), its PID-1 watch and
// --help, the in-child init of clone.Spec.Init and `rawns init` all read
// them here. A leaf: no work at start-up, fixed arrays in static data.
package signals

import (
	"strings"

	"golang.org/x/sys/unix"
)

// Forwarded are the signals a supervisor that stays in the foreground
// (rawns run) relays to its command: those a user, a terminal or an engine
// sends to stop, reload or resize a program. The others keep their
// default action in the supervisor, as they do in unshare(1).
var Forwarded = [...]unix.Signal{
	unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH,
}

// InitRelayed are the signals an init passes on to the command: every
// standard signal but those the kernel keeps (SIGKILL, SIGSTOP), those the
// Go runtime needs in a process that relays with handlers of its own
// (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP and SIGSYS for panics, SIGURG
// for preemption, SIGPROF) and SIGCHLD, which is about the init's own
// children. Real-time signals are not relayed.
var InitRelayed = [...]unix.Signal{
	unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGABRT, unix.SIGUSR1,
	unix.SIGUSR2, unix.SIGPIPE, unix.SIGALRM, unix.SIGTERM, unix.SIGSTKFLT,
	unix.SIGCONT, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU, unix.SIGXCPU,
	unix.SIGXFSZ, unix.SIGVTALRM, unix.SIGWINCH, unix.SIGIO, unix.SIGPWR,
}

// Terminates reports whether the default action of sig ends the process
// ("Term" or "Core" in signal(7)); SIGCHLD, SIGCONT, SIGURG and SIGWINCH
// are ignored by default, SIGSTOP, SIGTSTP, SIGTTIN and SIGTTOU stop.
func Terminates(sig unix.Signal) bool {
	switch sig {
	case unix.SIGCHLD, unix.SIGCONT, unix.SIGURG, unix.SIGWINCH,
		unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
		return false
	}
	return sig >= 1 && sig <= 64
}

// List names sigs as prose does: "SIGINT, SIGTERM and SIGWINCH".
func List(sigs []unix.Signal) string {
	var b strings.Builder
	for i, s := range sigs {
		switch {
		case i == 0:
		case i == len(sigs)-1:
			b.WriteString(" and ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(unix.SignalName(s))
	}
	return b.String()
}
