// Package run is `rawns run`: its command line, parsed per concern (one
// file each: namespaces.go, process.go, filesystem.go, limits.go,
// security.go, output.go; the table is in config.go), the run itself, -v,
// --trace and the reports on fds. The root package's main only dispatches
// to Main.
package run

import (
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/cli"
	"github.com/rawns/rawns/internal/exitcode"
	"github.com/rawns/rawns/internal/signals"
	"github.com/rawns/rawns/internal/sigrelay"
	"golang.org/x/sys/unix"
)

// Main is `rawns run ARGS...`: it returns the exit code rawns exits with.
// Precondition: the caller runs on the process's main goroutine, so that
// the clone comes from a thread that lives as long as the process
// (clone.PinThread).
func Main(args []string, stdout, stderr io.Writer) int {
	// Catch the signals to forward before anything else: from here on a
	// signal sent to rawns is held until the command exists, then
	// relayed to it (internal/sigrelay: seven rt_sigaction calls; the
	// os/signal subscription it replaces cost ~0.8 ms). A signal rawns
	// was started with ignored (nohup's SIGHUP, SIGINT of a background
	// job) stays ignored, and the command inherits that
	// (torture/TestSignalDispositions).
	if _, err := sigrelay.Catch(signals.Forwarded[:]...); err != nil {
		fmt.Fprintf(stderr, "rawns run: %v\n", err)
		return exitcode.Failed
	}
	cfg, err := parse(args)
	if err == errHelp {
		fmt.Fprint(stdout, usage())
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "rawns run: %v\n", err)
		return exitcode.Failed
	}
	if cfg.statusFD < 0 {
		return run(cfg, stderr)
	}
	// A 125 (126, 127) of rawns and the same code of the command read
	// alike, as in docker: --json-status-fd tells them apart with an
	// "error" line, rawns's own message, where the command's exit line
	// would be (info.go).
	last := &lastLine{w: stderr}
	code := run(cfg, last)
	if !statusDone {
		writeFD(cfg.statusFD, errorJSON(code, last.line))
	}
	return code
}

// run starts the command, forwards signals to it, waits, and returns the
// exit code rawns must exit with.
func run(cfg *config, stderr io.Writer) int {
	s := &cfg.spec
	// The command's own PATH, as execvp(3) in the child would use it.
	path, err := lookPath(cfg) // filesystem.go: inside the root with --rootfs
	if err != nil {
		return reportStartError(stderr, cfg, err)
	}
	s.Path, s.Args = path, cfg.command
	// --init: PID 1 is the cloned child itself, a reaper in raw system
	// calls that starts the command as its child (clone.Spec.Init).
	s.Init = cfg.init

	// What the run sets up it undoes on every path, once, in one place.
	var u undo
	defer u.close()

	// --network bridge|pasta: the run's files and reserved ports before
	// the clone, and first of all the bridge helper, which makes and
	// connects the command's namespace while rawns prepares the rest;
	// with pasta (or a user namespace) the namespace is connected while
	// the command is held (network.go).
	var nr *netRun
	if cfg.net != nil {
		if nr, err = startNetwork(cfg); err != nil {
			fmt.Fprintf(stderr, "rawns run: %v\n", err)
			return exitcode.Failed
		}
		defer nr.close()
		cfg.netRun = nr
	}

	// --trace loads its eBPF program before the clone, so the exec cannot
	// be missed; without it, BPF is never touched.
	var tr *runTrace
	if cfg.trace != "" {
		if tr, err = startTrace(cfg); err != nil {
			fmt.Fprintf(stderr, "rawns run: --trace: %v\n", err)
			return exitcode.Failed
		}
		u.tr = tr
	}
	var v *inspection
	if cfg.verbose || cfg.infoFD >= 0 || cfg.statusFD >= 0 {
		v = newInspection(cfg)
	}

	var term *ttySession
	if cfg.tty {
		// With --dev /dev the command's /dev/ptmx is a devpts of its
		// own, and its terminal comes from there (tty.go).
		if term, err = startTTY(s, cfg.fs != nil && cfg.fs.DevPts); err != nil {
			fmt.Fprintf(stderr, "rawns run: %v\n", err)
			return exitcode.Failed
		}
		u.term = term                  // the terminal back as it was, on every path
		stderr = term.messages(stderr) // CR LF while it is raw
	}

	// --overlay-dir: one run at a time on an upper directory (filesystem.go).
	if err := lockOverlayDir(cfg); err != nil {
		fmt.Fprintf(stderr, "rawns run: %v\n", err)
		return exitcode.Failed
	}

	// Resource limits: the run's cgroup, with its limits written, before
	// the clone (limits.go); killed and removed when run returns.
	var lim *limitedRun
	if cfg.limits != nil {
		if lim, err = newLimitedRun(cfg.limits); err != nil {
			fmt.Fprintf(stderr, "rawns run: %v\n", err)
			return exitcode.Failed
		}
		u.lim, u.stderr = lim, stderr
		if tr != nil {
			tr.cg = lim.cg // --trace checks the command's cgroups
		}
	}

	// The network the helper made, joined by the clone (network.go).
	netDone, err := nr.ready(s)
	if err != nil {
		fmt.Fprintf(stderr, "rawns run: %v\n", err)
		return exitcode.Failed
	}
	// The clone is made right here, from the main thread, without a
	// hand-off to another thread (clone.PinThread says why that is enough).
	var proc *clone.Process
	if lim != nil {
		proc, err = lim.start(s)
	} else {
		clone.PinThread()
		proc, err = clone.StartHere(s)
	}
	netDone()
	if err != nil {
		if lim != nil {
			if code, ok := lim.startError(stderr, cfg, err); ok {
				return code
			}
		}
		return reportStartError(stderr, cfg, err)
	}
	nr.started()
	if term != nil {
		if err := term.started(); err != nil {
			// Nothing to drive the command's terminal with: stop it.
			proc.Signal(unix.SIGKILL)
			proc.Wait()
			fmt.Fprintf(stderr, "rawns run: %v\n", err)
			return exitcode.Failed
		}
	}
	// Relay the signals held so far, and every later one. Without a
	// pidfd (Linux before 5.2) there is nothing safe to signal: a pid
	// may be recycled once reaped.
	var pw *pid1Watch
	if fd := proc.PidFD(); fd >= 0 {
		pid1 := s.Namespaces&clone.NewPID != 0 && !cfg.init
		if term != nil {
			pw = watchPID1(pid1, term.resize) // pid1.go; SIGWINCH for -t
			if pw != nil && pid1 {
				term.watchKeys(proc.Pid, pw.key) // Ctrl-C, Ctrl-\ typed
			}
		} else if pid1 {
			pw = watchPID1(pid1, nil) // pid1.go: make PID 1 stoppable
		}
		if err := sigrelay.Target(fd, proc.Pid); err != nil {
			fmt.Fprintf(stderr, "rawns run: signals will not be forwarded: %v\n", err)
		}
	} else {
		fmt.Fprintln(stderr, "rawns run: this kernel gives no pidfd; signals sent to rawns are not forwarded")
	}
	if v != nil {
		v.started(proc)
		if cfg.verbose {
			v.printVerbose(stderr, proc)
			if nr != nil {
				nr.printVerbose(stderr)
			}
			if lim != nil {
				lim.started(stderr)
			}
		}
		if cfg.infoFD >= 0 || cfg.statusFD >= 0 {
			info := infoJSON(v, proc)
			if cfg.infoFD >= 0 {
				writeFD(cfg.infoFD, info)
				unix.Close(cfg.infoFD)
			}
			if cfg.statusFD >= 0 {
				writeFD(cfg.statusFD, info)
			}
		}
	}
	traceOK := true
	if tr != nil {
		var verdict []byte
		traceOK, verdict = tr.report(stderr, cfg, proc) // the helper is done with
		u.tr = nil
		if cfg.statusFD >= 0 && verdict != nil {
			writeFD(cfg.statusFD, verdict)
		}
	}
	var st clone.ExitStatus
	if pw != nil {
		st, err = pw.wait(proc, stderr)
	} else {
		st, err = proc.Wait()
	}
	sigrelay.Stop()
	if err != nil {
		fmt.Fprintf(stderr, "rawns run: %v\n", err)
		return exitcode.Failed
	}
	if cfg.verbose {
		v.exited(stderr, st)
	}
	if lim != nil {
		lim.exited(stderr, cfg, st)
	}
	code := st.ExitCode()
	if !traceOK {
		code = exitcode.TraceMismatch
	}
	if cfg.statusFD >= 0 {
		writeFD(cfg.statusFD, exitJSON(st, code))
		statusDone = true
	}
	return code
}

// undo is what a run has set up and must take down however it ends: the
// --trace helper stopped, the cgroup's processes killed and the cgroup
// removed, the terminal given back as it was (in that order: the
// terminal last, so that what the others say still gets CR LF). One
// deferred call does it, once: a defer that Go compiles inline, where a
// defer per resource and a hand-written cleanup on each return did it
// before.
type undo struct {
	tr     *runTrace
	lim    *limitedRun
	term   *ttySession
	stderr io.Writer // for the cgroup's last word
}

func (u *undo) close() {
	if u.tr != nil {
		u.tr.close()
	}
	if u.lim != nil {
		u.lim.close(u.stderr)
	}
	if u.term != nil {
		u.term.close()
	}
}

// reportStartError prints why nothing runs and picks the exit code:
// 127 not found, 126 cannot invoke, 125 anything else.
func reportStartError(stderr io.Writer, cfg *config, err error) int {
	name := cli.Quote(cfg.command[0])
	if code, ok := reportMountError(stderr, cfg, err); ok {
		return code
	}
	var ce *clone.ChildError
	switch {
	case errors.Is(err, clone.ErrNotFound):
		hint := "give a path, or fix PATH (--env PATH=...)"
		if cfg.trace == "text" && (cfg.command[0] == "json" || cfg.command[0] == "text") {
			// --trace takes its format only joined by =: "--trace json"
			// made json the command.
			hint = "to choose --trace's format write --trace=" + cfg.command[0]
		}
		fmt.Fprintf(stderr, "rawns run: %v; %s\n", err, hint)
		return exitcode.NotFound
	case errors.Is(err, clone.ErrNotExecutable):
		fmt.Fprintf(stderr, "rawns run: %s: found on PATH but not executable (a directory, or no x permission)\n", name)
		return exitcode.CannotInvoke
	case errors.As(err, &ce) && ce.Stage == clone.StageExec:
		hint := ""
		switch ce.Errno {
		case syscall.ENOENT:
			hint = " (the file, or the interpreter named on its #! line, does not exist)"
		case syscall.EACCES:
			hint = " (no execute permission, a directory, or a noexec mount)"
		case syscall.ENOEXEC:
			hint = " (not a binary this kernel runs, and no #! line)"
		case syscall.E2BIG:
			hint = " (the arguments and environment exceed the kernel's limit; see getconf ARG_MAX)"
		}
		fmt.Fprintf(stderr, "rawns run: cannot execute %s: %v%s\n", cli.Quote(ce.Subject), ce.Errno, hint)
		return exitcode.Exec(ce.Errno)
	case errors.As(err, &ce) && ce.Stage == clone.StageNone && ce.Signal != 0:
		fmt.Fprintf(stderr, "rawns run: the child was killed by signal %d (%v) before it could execute %s; nothing ran (a seccomp filter that kills, or the OOM killer?)\n", int(ce.Signal), ce.Signal, name)
		return exitcode.Failed
	case errors.As(err, &ce) && ce.Stage == clone.StageTimeOffsets && ce.Errno == syscall.ERANGE:
		// Checked at parse time against the clocks as they read then;
		// the kernel checks again as they read at the write.
		fmt.Fprintf(stderr, "rawns run: --monotonic/--boottime: the kernel refused the offsets (ERANGE): a clock would go below zero or past 146 years; give a smaller offset\n")
		return exitcode.Failed
	case errors.As(err, &ce) && ce.Stage.Phase() == clone.PhaseConsole:
		fmt.Fprintf(stderr, "rawns run: --tty: %v%s\n", err, consoleHint(ce))
		return exitcode.Failed
	case errors.As(err, &ce) && ce.Stage.Phase() == clone.PhasePrivilege:
		if flag, hint := privilegeFlag(ce); flag != "" {
			fmt.Fprintf(stderr, "rawns run: %s: %v%s\n", flag, err, hint)
			return exitcode.Failed
		}
	case errors.As(err, &ce) && ce.Stage == clone.StageChdir:
		fmt.Fprintf(stderr, "rawns run: --chdir %s: %v; give an existing directory\n", cli.Quote(ce.Subject), ce.Errno)
		return exitcode.Failed
	}
	// A cgroup placement (cgroup.Cgroup.Start) that was not allowed says
	// how a delegated cgroup is given.
	fmt.Fprintf(stderr, "rawns run: %v%s\n", err, cgroupFix(err))
	return exitcode.Failed
}
