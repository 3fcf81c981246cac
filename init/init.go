// Package nsinit is the PID 1 that `rawns run --init` puts in a new PID
// namespace, for the jobs the kernel gives that process and most commands
// never expect (pid_namespaces(7)):
//
//   - orphans in the namespace are reparented to PID 1, which must reap them
//     or they stay zombies until the namespace dies;
//   - PID 1 receives from outside only the signals it has a handler for (and
//     SIGKILL), so a plain command as PID 1 ignores SIGTERM and Ctrl-C;
//   - when PID 1 exits, the kernel SIGKILLs everything else in the namespace.
//
// The folder is init/, but a package cannot be named init in Go (init must
// be a func), hence nsinit. It is reached by exec'ing the rawns binary as
// `rawns init -- PATH ARGV...`: like docker-init or tini, a separate program
// image, because between clone and exec the child may run no Go code.
package nsinit

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
)

// Main runs the init. Precondition: the calling goroutine is locked to an
// OS thread that lives as long as the process (clone.StartHere). Its
// args are PATH ARGV0 [ARG...], the program to start and
// its argv. It returns the command's exit code (128+N if signal N killed
// it), or 125 if the command could not be started.
func Main(args []string, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) < 2 {
		fmt.Fprintln(stderr, "rawns init: usage: rawns init -- PATH ARGV0 [ARG...]")
		return 125
	}
	// Every signal, so that each has a handler and therefore reaches PID 1
	// from outside; SIGCHLD drives the reaping below. SIGHUP and SIGINT
	// that rawns was started with ignored (nohup, background jobs) stay
	// ignored, so that the command inherits them as it would without
	// --init (torture/TestSignalDispositions).
	var ignored []os.Signal
	for _, sig := range []os.Signal{syscall.SIGHUP, syscall.SIGINT} {
		if signal.Ignored(sig) {
			ignored = append(ignored, sig)
		}
	}
	sigc := make(chan os.Signal, 64)
	signal.Notify(sigc)
	if len(ignored) > 0 {
		signal.Ignore(ignored...)
	}

	// The caller (rawns's main) keeps the main goroutine on the main thread.
	proc, err := clone.StartHere(&clone.Spec{Path: args[0], Args: args[1:], Env: os.Environ()})
	if err != nil {
		fmt.Fprintf(stderr, "rawns init: %v\n", err)
		if ce, ok := err.(*clone.ChildError); ok && ce.Stage == clone.StageExec {
			if ce.Errno == syscall.ENOENT || ce.Errno == syscall.ENOTDIR {
				return 127
			}
			return 126
		}
		return 125
	}
	main := proc.Pid
	// This loop is the only reaper, so main's pid cannot be reused before we
	// see it exit: kill(2) by pid is safe and the pidfd is not needed.
	proc.Release()

	for {
		if code, exited := reap(main); exited {
			return code
		}
		sig := (<-sigc).(syscall.Signal)
		switch sig {
		case syscall.SIGCHLD:
		case syscall.SIGURG:
			// The Go runtime's own preemption signal, not meant for anyone.
		default:
			unix.Kill(main, sig)
		}
	}
}

// reap collects every child that has exited, without blocking, and reports
// main's exit code once main is among them.
func reap(main int) (code int, exited bool) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return code, exited
		}
		if pid == main {
			exited = true
			code = ws.ExitStatus()
			if ws.Signaled() {
				code = 128 + int(ws.Signal())
			}
		}
	}
}
