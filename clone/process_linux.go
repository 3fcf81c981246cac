//go:build linux

package clone

import (
	"fmt"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Process is a started child.
type Process struct {
	// Pid is the child's pid in the parent's PID namespace.
	Pid int
	// Syscall is the system call that created it: "clone3", or "clone"
	// where clone3 is missing or was not asked for.
	Syscall string

	mu    sync.Mutex
	pidfd int // -1 when the kernel gave none
	done  bool
	// initStack is the stack of a Spec.Init PID 1 that runs on this
	// process's memory (init_unsafe.go): unmapped once it is reaped,
	// never before.
	initStack *initStack
	// shared is the prepared data of a gated child on this process's
	// memory (Spec.GateShared), which it reads until its execve: kept
	// until it is reaped (gate_unsafe.go).
	shared *prepared
}

// PidFD returns the child's pidfd (pidfd_open(2)), or -1 if the kernel gave
// none. It stays open until Wait returns or Release is called.
func (p *Process) PidFD() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pidfd
}

// ExitStatus is how a process ended: an exit code, or a signal.
type ExitStatus struct {
	Code       int            // the exit code, when Signal is 0
	Signal     syscall.Signal // the terminating signal, or 0
	CoreDumped bool
}

// ExitCode folds the status into one shell-style number: the exit code, or
// 128+N for death by signal N (as sh, docker and runc report it).
func (s ExitStatus) ExitCode() int {
	if s.Signal != 0 {
		return ExitSignalBase + int(s.Signal)
	}
	return s.Code
}

func (s ExitStatus) String() string {
	if s.Signal != 0 {
		c := ""
		if s.CoreDumped {
			c = " (core dumped)"
		}
		return fmt.Sprintf("killed by signal %d (%v)%s", int(s.Signal), s.Signal, c)
	}
	return fmt.Sprintf("exit code %d", s.Code)
}

// si_code values of SIGCHLD (linux/signal.h; x/sys/unix lacks them).
const (
	cldExited = 1
	cldKilled = 2
	cldDumped = 3
)

// siginfo is the part of siginfo_t that waitid(2) fills in for SIGCHLD, with
// the layout every 64-bit Linux architecture but mips uses: si_code at
// offset 8, si_pid at 16, si_status at 24. x/sys/unix.Siginfo hides them.
type siginfo struct {
	signo  int32
	errno  int32
	code   int32
	_      int32
	pid    int32
	uid    uint32
	status int32
	_      [100]byte
}

// Wait waits for the process to end, reaps it, and closes its pidfd.
//
// With a pidfd, one waitid(P_PIDFD) reaps: Signal goes through the pidfd,
// which never names another process, so reaping early is safe. Without
// one, Wait first waits with WNOWAIT and reaps under the lock, so that
// Signal's kill(2) can never hit a recycled pid: the zombie keeps the pid
// until then.
func (p *Process) Wait() (ExitStatus, error) {
	var info siginfo
	p.mu.Lock()
	pidfd := p.pidfd
	p.mu.Unlock()
	if pidfd >= 0 {
		if err := waitid(unix.P_PIDFD, pidfd, &info, unix.WEXITED); err != nil {
			return ExitStatus{}, fmt.Errorf("waitid %d: %w", p.Pid, err)
		}
		p.mu.Lock()
	} else {
		if err := waitid(unix.P_PID, p.Pid, &info, unix.WEXITED|unix.WNOWAIT); err != nil {
			return ExitStatus{}, fmt.Errorf("waitid %d: %w", p.Pid, err)
		}
		p.mu.Lock()
		if err := waitid(unix.P_PID, p.Pid, &info, unix.WEXITED); err != nil {
			p.mu.Unlock()
			return ExitStatus{}, fmt.Errorf("waitid %d: %w", p.Pid, err)
		}
	}
	p.done = true
	p.closePidfd()
	p.initStack.unmap() // PID 1 (or a shared gated child) is gone: nothing runs on it
	p.shared = nil
	p.mu.Unlock()
	switch info.code {
	case cldExited:
		return ExitStatus{Code: int(info.status)}, nil
	case cldKilled:
		return ExitStatus{Signal: syscall.Signal(info.status)}, nil
	case cldDumped:
		return ExitStatus{Signal: syscall.Signal(info.status), CoreDumped: true}, nil
	}
	return ExitStatus{}, fmt.Errorf("waitid %d: unexpected si_code %d", p.Pid, info.code)
}

// Signal sends sig to the process: through its pidfd when there is one
// (pidfd_send_signal(2), immune to pid reuse), else with kill(2) while the
// process is known not to be reaped.
func (p *Process) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return ErrProcessDone
	}
	if p.pidfd >= 0 {
		return unix.PidfdSendSignal(p.pidfd, sig, nil, 0)
	}
	return unix.Kill(p.Pid, sig)
}

// Release closes the pidfd without waiting. The process must then be
// reaped by other means. The stack of a Spec.Init PID 1 that shares this
// process's memory stays mapped (64 KiB), since nothing then tells when
// PID 1 is gone.
func (p *Process) Release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = true
	p.closePidfd()
	if p.shared != nil {
		keepGateShared(p.shared)
		p.shared = nil
	}
}

func (p *Process) closePidfd() {
	if p.pidfd >= 0 {
		unix.Close(p.pidfd)
		p.pidfd = -1
	}
}

// kill is for a child that failed or was refused before exec: SIGKILL it
// (it may be waiting on the hold pipe) and reap it.
func (p *Process) kill() {
	p.Signal(unix.SIGKILL)
	p.Wait()
}
