//go:build linux && (amd64 || arm64)

// Package sigrelay relays the signals sent to this process to a child, the
// way a C supervisor does it: with its own signal handler, installed by
// rt_sigaction(2), that calls pidfd_send_signal(2). It exists because
// os/signal is too slow for a process that lives a few milliseconds.
//
// Why not os/signal. signal.Notify makes the runtime start a thread that owns
// the signal mask (ensureSigM), and every signal subscribed costs a round
// trip with that thread: two cross-thread wake-ups, about 75 µs each on the
// machines rawns is measured on, ~0.8 ms for seven signals, which is more
// than the whole spawn of a command. The subscription must be complete
// before the command starts, or a signal sent in between is lost (the Go
// runtime drops a SIGUSR1 nobody asked for), so it cannot be hidden behind
// the clone either. Here, catching seven signals is seven rt_sigaction
// calls, no thread and no goroutine.
//
// How. The handler (handler_*.s) runs on the alternate signal stack that the
// Go runtime gives every thread, touches only registers and two words, state
// and targetPID, and never enters Go: it needs no g, no stack check and no
// lock, so it may run on any thread at any moment, the runtime's own
// included.
//
//	state bits 0-31:  signals held before there is a target (bit N = signal N)
//	state bits 32-63: 0: hold; 0xffffffff: drop; else the target's pidfd + 1
//
// Before Target, a caught signal sets its bit with a compare-and-swap;
// Target swaps the pidfd in and relays what was held, so every signal is
// relayed exactly once whichever side of the swap it lands on. Standard
// signals do not queue (signal(7)): two SIGUSR1 held are relayed as one,
// as the kernel would have delivered them.
//
// One exception: a signal the kernel sent (si_code SI_KERNEL: the
// terminal's Ctrl-C, Ctrl-\, window change or hang-up, which go to the whole
// foreground process group) is not relayed when the target is in this
// process's group, because the target got its own copy. Relaying it made
// one Ctrl-C arrive twice, which programs that take a second Ctrl-C as
// "force quit" act on. A kernel signal that arrives before there is a
// target is held like any other: the command did not exist to get it (one
// that lands between the clone and Target reaches the command twice).
//
// The runtime keeps its own handler for every signal not caught here
// (SIGURG for preemption, SIGSEGV for panics, SIGPROF, ...). A process may
// have one relay; its handlers stay until Restore.
package sigrelay

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// The handler's word; see the package comment. Read by handler_*.s.
var state uint64

// targetPID is the target's pid, which the handler compares process groups
// with (getpgid(2)) for a signal the kernel sent. Written by Target before
// it publishes the pidfd in state, so a handler that sees the pidfd sees
// the pid.
var targetPID int32

// notifyFD is the write end of the pipe that Notify gave, or -1: the
// handler writes there the number of every signal that reaches it while
// there is a target, relayed or not. Read by handler_*.s.
var notifyFD int32 = -1

// sigBytes[N] is N: the byte the handler writes for signal N, so that it
// needs no memory of its own. Static data, laid out by the linker.
var sigBytes = [32]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31}

const (
	targetShift = 32
	targetDrop  = 0xffffffff
)

// Implemented in handler_*.s; the kernel calls them, Go never does.
func handler()
func restorer()

// Their entry addresses, taken in assembly so that they are the ABI0
// symbols themselves and not Go wrappers.
func handlerPC() uintptr
func restorerPC() uintptr

// sigaction is the kernel's struct sigaction for rt_sigaction(2) on amd64
// and arm64 (not glibc's, whose mask is 128 bytes).
type sigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// Flags of sigaction (asm-generic/signal-defs.h; SA_RESTORER from the
// arch's signal.h, the same value on amd64 and arm64).
const (
	saSiginfo  = 0x4
	saOnstack  = 0x08000000
	saRestart  = 0x10000000
	saRestorer = 0x04000000
	sigIgn     = 1
)

// What Catch installed, for Restore. A fixed array, not a slice: in a
// process that lives a few milliseconds, every new allocation size costs a
// fresh heap span and its page faults.
var (
	mu      sync.Mutex
	caught  [31]caughtSignal
	ncaught int
	pidfd   = -1 // the relay's own copy of the target's pidfd
)

type caughtSignal struct {
	sig unix.Signal
	old sigaction
}

// ErrBusy is returned by Catch when the relay already holds signals.
var ErrBusy = errors.New("sigrelay: signals are already caught; Restore first")

// Set is a set of standard signals: bit N is signal N.
type Set uint32

// Has reports whether sig is in the set.
func (s Set) Has(sig unix.Signal) bool { return sig > 0 && sig < 32 && s&(1<<sig) != 0 }

// Signals lists the set in signal-number order.
func (s Set) Signals() []unix.Signal {
	var sigs []unix.Signal
	for sig := unix.Signal(1); sig < 32; sig++ {
		if s.Has(sig) {
			sigs = append(sigs, sig)
		}
	}
	return sigs
}

// Catch installs the relay's handler for each of sigs, which must be
// standard signals other than those the runtime needs (SIGKILL, SIGSTOP and
// SIGURG cannot be caught, the synchronous SIGSEGV, SIGBUS, SIGFPE, SIGILL,
// SIGTRAP and SIGSYS must stay the runtime's, and SIGCHLD and SIGPROF make
// no sense to relay). Signals caught before Target are held.
//
// A signal that was ignored when the process started (nohup's SIGHUP, the
// SIGINT of a background job) is left ignored, so that the child inherits
// the ignore across execve (signal(7)), and is not in the returned set.
// Catch also unblocks the caught signals on the calling thread, in case the
// process was started with them blocked, so that they arrive at all.
func Catch(sigs ...unix.Signal) (Set, error) {
	mu.Lock()
	defer mu.Unlock()
	if ncaught > 0 {
		return 0, ErrBusy
	}
	for _, sig := range sigs {
		if err := catchable(sig); err != nil {
			return 0, err
		}
	}
	atomic.StoreUint64(&state, 0)
	act := sigaction{
		handler:  handlerPC(),
		flags:    saSiginfo | saOnstack | saRestart | saRestorer,
		restorer: restorerPC(),
		mask:     ^uint64(0), // no nesting: every signal blocked while it runs
	}
	var done Set
	var unblock uint64
	for _, sig := range sigs {
		if done.Has(sig) {
			continue
		}
		var old sigaction
		if err := rtSigaction(sig, nil, &old); err != nil {
			restoreLocked()
			return 0, fmt.Errorf("sigrelay: rt_sigaction %v: %w", sig, err)
		}
		// The Go runtime keeps SIG_IGN only for SIGHUP and SIGINT; for
		// the others it installed its handler at start-up and reports
		// them as not ignored (os/signal.Ignored agrees).
		if old.handler == sigIgn {
			continue
		}
		if err := rtSigaction(sig, &act, nil); err != nil {
			restoreLocked()
			return 0, fmt.Errorf("sigrelay: rt_sigaction %v: %w", sig, err)
		}
		caught[ncaught] = caughtSignal{sig, old}
		ncaught++
		done |= 1 << sig
		unblock |= 1 << (sig - 1) // sigset_t: bit N-1 is signal N
	}
	if unblock != 0 {
		if e := rtSigprocmask(unix.SIG_UNBLOCK, &unblock); e != nil {
			restoreLocked()
			return 0, fmt.Errorf("sigrelay: rt_sigprocmask: %w", e)
		}
	}
	return done, nil
}

func catchable(sig unix.Signal) error {
	switch sig {
	case unix.SIGKILL, unix.SIGSTOP, unix.SIGURG, unix.SIGSEGV, unix.SIGBUS, unix.SIGFPE,
		unix.SIGILL, unix.SIGTRAP, unix.SIGSYS, unix.SIGCHLD, unix.SIGPROF:
		return fmt.Errorf("sigrelay: %v (%d) belongs to the runtime or the kernel; it cannot be relayed", sig, int(sig))
	}
	if sig < 1 || sig > 31 {
		return fmt.Errorf("sigrelay: signal %d: only standard signals 1-31 can be relayed", int(sig))
	}
	return nil
}

// Target starts relaying to the process behind fd, a pidfd (pidfd_open(2),
// clone's CLONE_PIDFD), whose pid is pid: the signals held so far go to it
// at once, in signal-number order, and every later one from the handler.
// The relay keeps its own duplicate of the pidfd until Stop, so the caller
// may close or reap its own. A pidfd never names another process, so a signal caught
// after the target exited fails with ESRCH instead of hitting a recycled
// pid.
func Target(fd, pid int) error {
	mu.Lock()
	defer mu.Unlock()
	if ncaught == 0 {
		return errors.New("sigrelay: Target before Catch")
	}
	if pidfd >= 0 {
		return errors.New("sigrelay: already relaying; Stop first")
	}
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return fmt.Errorf("sigrelay: duplicating pidfd %d: %w", fd, err)
	}
	pidfd = dup
	atomic.StoreInt32(&targetPID, int32(pid))
	held := atomic.SwapUint64(&state, uint64(dup+1)<<targetShift)
	nfd := int(atomic.LoadInt32(&notifyFD))
	for sig := 1; sig < 32; sig++ {
		if held&(1<<sig) != 0 {
			// ESRCH: it has exited already; the signal is moot.
			unix.PidfdSendSignal(dup, unix.Signal(sig), nil, 0)
			if nfd >= 0 {
				unix.Write(nfd, sigBytes[sig:sig+1])
			}
		}
	}
	return nil
}

// Notify makes the relay report every signal that reaches it while there
// is a target (relayed or not, a terminal's Ctrl-C included) as one byte,
// the signal's number, written to fd: the write end of a pipe opened with
// O_NONBLOCK, so that a full pipe drops the report instead of blocking
// the handler. The signals that Target relays from before it are reported
// too. Call it before Target; -1 stops the reports. The caller keeps fd
// open until Stop.
func Notify(fd int) {
	atomic.StoreInt32(&notifyFD, int32(fd))
}

// Held reports the signals caught and held while there is no target.
func Held() Set {
	s := atomic.LoadUint64(&state)
	if s>>targetShift != 0 {
		return 0
	}
	return Set(s)
}

// Stop ends relaying: signals caught from now on are dropped, and the
// relay's pidfd is closed. The handlers stay installed, so that a late
// SIGINT does not reach the runtime's default action (which would kill this
// process) while it is finishing up. A handler already past its load of
// the state may still send to the old pidfd number, which then fails with
// EBADF; the process should open no pidfd of its own after Stop.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	stopLocked()
}

// stopLocked makes the handler drop signals and closes the relay's pidfd.
func stopLocked() {
	atomic.StoreUint64(&state, targetDrop<<targetShift)
	atomic.StoreInt32(&notifyFD, -1)
	if pidfd >= 0 {
		unix.Close(pidfd)
		pidfd = -1
	}
}

// Restore stops relaying and gives every caught signal back the action it
// had before Catch (the runtime's handler, usually). Held signals are
// dropped.
func Restore() error {
	mu.Lock()
	defer mu.Unlock()
	stopLocked()
	return restoreLocked()
}

func restoreLocked() error {
	var first error
	for i := range ncaught {
		c := &caught[i]
		if err := rtSigaction(c.sig, &c.old, nil); err != nil && first == nil {
			first = fmt.Errorf("sigrelay: restoring %v: %w", c.sig, err)
		}
	}
	ncaught = 0
	return first
}
