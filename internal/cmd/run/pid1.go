package run

import (
	"fmt"
	"io"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/procfs"
	"github.com/rawns/rawns/internal/signals"
	"github.com/rawns/rawns/internal/sigrelay"
)

// A command that is PID 1 of its PID namespace receives, from outside,
// only the signals it has a handler for: the kernel drops the rest, SIGTERM
// and a terminal's Ctrl-C included (pid_namespaces(7); SIGNAL_UNKILLABLE).
// rawns keeps the command as PID 1, which is what the namespace is for,
// but makes it stoppable, as `docker compose` does with a second Ctrl-C:
// when a terminating signal reaches rawns and the command neither catches,
// ignores nor blocks it, rawns says on stderr that it was dropped, and the
// same signal again within stopWindow ends the command with SIGKILL.
const stopWindow = 3 * time.Second

// pid1Watch learns from the signal relay which signals reached rawns
// (sigrelay.Notify) while it waits for the command.
type pid1Watch struct {
	r, w  int // the notification pipe
	last  [32]time.Time
	pid1  bool   // the command is PID 1: act on dropped signals
	winch func() // -t: on SIGWINCH, copy the window size (tty.go)
	// mu guards w against key, which -t's input copy calls from its own
	// goroutine, and keys, the key it saw for each signal (a byte each:
	// the watch is made for every run whose command is PID 1, and room
	// for 32 names would put it in a larger allocation class).
	mu   sync.Mutex
	keys [32]byte
}

// fromKey marks a byte of the notification pipe as a key the command's pty
// turns into a signal (key), not a signal that reached rawns.
const fromKey = 0x80

// watchPID1 sets up the watch before sigrelay.Target, so that signals held
// before the command existed are seen too; nil when the pipe cannot be
// made (then the command is only as stoppable as the kernel allows).
// pid1 and winch are the watch's two jobs (pid1Watch).
func watchPID1(pid1 bool, winch func()) *pid1Watch {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return nil
	}
	sigrelay.Notify(p[1])
	return &pid1Watch{r: p[0], w: p[1], pid1: pid1, winch: winch}
}

// wait waits for proc to exit, acting on each signal that reached rawns in
// the meantime, then reaps it. Precondition: proc has a pidfd, which
// poll(2) reports readable once the process has exited (pidfd_open(2)).
func (pw *pid1Watch) wait(proc *clone.Process, stderr io.Writer) (clone.ExitStatus, error) {
	fds := []unix.PollFd{{Fd: int32(proc.PidFD()), Events: unix.POLLIN}, {Fd: int32(pw.r), Events: unix.POLLIN}}
	var buf [32]byte
	for {
		_, err := unix.Poll(fds, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil || fds[0].Revents != 0 {
			break
		}
		if fds[1].Revents != 0 {
			n, _ := unix.Read(pw.r, buf[:])
			for _, b := range buf[:max(n, 0)] {
				key := ""
				if b&fromKey != 0 {
					b &^= fromKey
					pw.mu.Lock()
					key = keyName(pw.keys[b&31])
					pw.mu.Unlock()
				}
				pw.signalled(proc, syscall.Signal(b), key, stderr)
			}
		}
	}
	sigrelay.Notify(-1)
	unix.Close(pw.r)
	pw.mu.Lock()
	unix.Close(pw.w)
	pw.w = -1
	pw.mu.Unlock()
	return proc.Wait()
}

// key tells the watch that a key on rawns's terminal (3 for Ctrl-C)
// became sig for the command's foreground process group, which is the
// command's own: with -t the terminal is raw, and the command's pty, not
// rawns, turns the key into the signal, so none reaches rawns. Called
// from the input copy's goroutine (ttySession.watchKeys).
func (pw *pid1Watch) key(sig syscall.Signal, key byte) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	if pw.w < 0 || sig <= 0 || sig >= 32 {
		return
	}
	pw.keys[sig] = key
	unix.Write(pw.w, []byte{byte(sig) | fromKey})
}

// signalled acts on one signal that reached rawns, or, when key names
// one, on a key that the command's pty turned into the signal.
func (pw *pid1Watch) signalled(proc *clone.Process, sig syscall.Signal, key string, stderr io.Writer) {
	if sig == unix.SIGWINCH && pw.winch != nil {
		pw.winch()
	}
	if !pw.pid1 {
		return
	}
	if !signals.Terminates(sig) || handles(proc.Pid, sig) {
		return
	}
	now := time.Now()
	name, again, what := signame(sig), "send "+signame(sig), signame(sig)
	if key != "" {
		name, again, what = key, "press "+key, signame(sig)+" ("+key+")"
	}
	if !pw.last[sig].IsZero() && now.Sub(pw.last[sig]) <= stopWindow {
		fmt.Fprintf(stderr, "rawns run: %s again: killing the command with SIGKILL\n", name)
		proc.Signal(unix.SIGKILL)
		return
	}
	pw.last[sig] = now
	fmt.Fprintf(stderr, "rawns run: the command is PID 1 of its PID namespace and has no handler for %s, so the kernel drops it; %s again within %v to kill it (SIGKILL), or use --init\n", what, again, stopWindow)
}

// handles reports whether process pid catches, ignores or blocks sig, from
// the SigCgt, SigIgn and SigBlk masks of /proc/PID/status (proc(5)): then
// the signal is not dropped, or not yet. A process gone or unreadable
// counts as handling it: there is nothing to say.
func handles(pid int, sig syscall.Signal) bool {
	var buf [4096]byte
	b, err := procfs.ReadFile(procfs.Path(pid, "status"), buf[:])
	if err != nil {
		return true
	}
	for _, key := range [...]string{"SigCgt", "SigIgn", "SigBlk"} {
		mask, ok := procfs.StatusMask(b, key)
		if !ok || mask&(1<<(uint(sig)-1)) != 0 {
			return true
		}
	}
	return false
}

// signame is SIGINT for syscall.SIGINT.
func signame(sig syscall.Signal) string {
	switch sig {
	case unix.SIGINT:
		return "SIGINT"
	case unix.SIGTERM:
		return "SIGTERM"
	case unix.SIGHUP:
		return "SIGHUP"
	case unix.SIGQUIT:
		return "SIGQUIT"
	case unix.SIGUSR1:
		return "SIGUSR1"
	case unix.SIGUSR2:
		return "SIGUSR2"
	}
	return "signal " + strconv.Itoa(int(sig))
}
