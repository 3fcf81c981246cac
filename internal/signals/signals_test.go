package signals

import (
	"os/signal"
	"testing"

	"golang.org/x/sys/unix"
)

func TestLists(t *testing.T) {
	if got := List(Forwarded[:]); got != "SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH" {
		t.Errorf("List(Forwarded) = %q", got)
	}
	// Every forwarded signal but SIGWINCH ends a program by default,
	// which is why rawns run makes a PID 1 that drops one stoppable.
	for _, s := range Forwarded {
		if Terminates(s) != (s != unix.SIGWINCH) {
			t.Errorf("Terminates(%v) = %v", s, Terminates(s))
		}
	}
	seen := map[unix.Signal]bool{}
	for _, s := range InitRelayed {
		switch s {
		case unix.SIGKILL, unix.SIGSTOP, unix.SIGSEGV, unix.SIGBUS, unix.SIGFPE, unix.SIGILL,
			unix.SIGTRAP, unix.SIGSYS, unix.SIGURG, unix.SIGPROF, unix.SIGCHLD:
			t.Errorf("InitRelayed holds %v", s)
		}
		if seen[s] {
			t.Errorf("InitRelayed holds %v twice", s)
		}
		seen[s] = true
	}
	// Every standard signal is either relayed by an init or kept out on purpose.
	if len(InitRelayed)+11 != 31 {
		t.Errorf("InitRelayed has %d signals; 31 standard ones less the 11 kept out is 20", len(InitRelayed))
	}
}

func TestIgnored(t *testing.T) {
	if Ignored(unix.SIGUSR2) {
		t.Fatal("SIGUSR2 ignored before the test ignored it")
	}
	signal.Ignore(unix.SIGUSR2)
	defer signal.Reset(unix.SIGUSR2)
	if !Ignored(unix.SIGUSR2) {
		t.Error("Ignored(SIGUSR2) = false after signal.Ignore")
	}
}
