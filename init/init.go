// Package nsinit is `rawns init -- PATH ARGV0 [ARG...]`: a small init as
// a Go program, like docker-init or tini, for use as PID 1 under another
// tool (unshare --pid --fork, a container engine's entrypoint), for the jobs
// the kernel gives that process and most commands never expect
// (pid_namespaces(7)):
//
//   - orphans in the namespace are reparented to PID 1, which must reap them
//     or they stay zombies until the namespace dies;
//   - PID 1 receives from outside only the signals it has a handler for (and
//     SIGKILL), so a plain command as PID 1 ignores SIGTERM and Ctrl-C;
//   - when PID 1 exits, the kernel SIGKILLs everything else in the namespace.
//
// `rawns run --init` does not exec it: its PID 1 is the cloned child itself,
// a reaper in raw system calls (clone.Spec.Init, clone/init_unsafe.go),
// which needs no program image and shows the container nothing of rawns's.
//
// The folder is init/, but a package cannot be named init in Go (init must
// be a func), hence nsinit.
package nsinit

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/exitcode"
	"github.com/rawns/rawns/internal/signals"
	"github.com/rawns/rawns/internal/sigrelay"
)

// Main runs the init. Precondition: the calling goroutine is rawns's main
// goroutine, so that clone.PinThread finds a thread that lives as long as
// the process (clone.StartHere). Its
// args are PATH ARGV0 [ARG...], the program to start and
// its argv. It returns the command's exit code (128+N if signal N killed
// it), or 125 if the command could not be started.
func Main(args []string, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) < 2 {
		fmt.Fprintln(stderr, "rawns init: usage: rawns init -- PATH ARGV0 [ARG...]")
		return exitcode.Failed
	}
	// Every signal that may be relayed gets the relay's handler, so that
	// each reaches PID 1 from outside and goes on to the command. SIGHUP
	// and SIGINT that rawns was started with ignored (nohup, background
	// jobs) stay ignored, so that the command inherits them as it would
	// without an init (as torture/TestSignalDispositions holds for rawns
	// run). Not os/signal: its
	// subscription costs a round trip with the runtime's signal thread per
	// signal, ~2 ms for all of them (internal/sigrelay).
	if _, err := sigrelay.Catch(signals.InitRelayed[:]...); err != nil {
		fmt.Fprintf(stderr, "rawns init: %v\n", err)
		return exitcode.Failed
	}

	// The caller (rawns's main) keeps the main goroutine on the main thread.
	clone.PinThread()
	proc, err := clone.StartHere(&clone.Spec{Path: args[0], Args: args[1:], Env: os.Environ()})
	if err != nil {
		fmt.Fprintf(stderr, "rawns init: %v\n", err)
		var ce *clone.ChildError
		if errors.As(err, &ce) && ce.Stage == clone.StageExec {
			return exitcode.Exec(ce.Errno)
		}
		return exitcode.Failed
	}
	main := proc.Pid
	if fd := proc.PidFD(); fd >= 0 {
		if err := sigrelay.Target(fd, proc.Pid); err != nil {
			fmt.Fprintf(stderr, "rawns init: signals will not be forwarded: %v\n", err)
		}
	}
	// The loop below is the only reaper, so it reaps main too: the
	// Process gives up its pidfd (the relay holds its own).
	proc.Release()

	// Reap every child, orphans included, until main is among them. The
	// signal handler does the forwarding, so this thread only waits.
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil { // ECHILD: cannot happen while main lives
			fmt.Fprintf(stderr, "rawns init: wait4: %v\n", err)
			return exitcode.Failed
		}
		if pid == main {
			sigrelay.Stop()
			if ws.Signaled() {
				return exitcode.Signaled(ws.Signal())
			}
			return ws.ExitStatus()
		}
	}
}
