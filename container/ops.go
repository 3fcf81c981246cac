package container

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/cgroup"
)

// ErrNotRunning is kill's error for a container whose process is gone;
// containerd's shim takes the words "not running" for "already stopped".
var ErrNotRunning = errors.New("container not running")

// signalInit sends sig to the container's process, through a pidfd
// opened first and checked against the start time after, so that a pid
// reused since cannot receive it: if the pid named another process when
// the pidfd was opened, its start time differs.
func (c *Container) signalInit(sig unix.Signal) error {
	fd, err := unix.PidfdOpen(c.State.Pid, 0)
	if err == unix.ENOSYS {
		// Before Linux 5.3: kill(2) right after the check, the best
		// there is.
		if !c.alive() {
			return ErrNotRunning
		}
		return unix.Kill(c.State.Pid, sig)
	}
	if err != nil {
		if err == unix.ESRCH {
			return ErrNotRunning
		}
		return fmt.Errorf("pidfd_open %d: %w", c.State.Pid, err)
	}
	defer unix.Close(fd)
	if !c.alive() {
		return ErrNotRunning
	}
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		if err == unix.ESRCH {
			return ErrNotRunning
		}
		return fmt.Errorf("pidfd_send_signal %d: %w", c.State.Pid, err)
	}
	return nil
}

// Kill sends sig to the container's process; with all, to every process
// of its cgroup. A stopped container is an error (runc's "container not
// running"), except with all, where it is no error: there may be nothing
// left to signal, which is what was asked.
func (c *Container) Kill(sig unix.Signal, all bool) error {
	if all {
		cg, err := c.cgroup()
		if err != nil {
			return err
		}
		if cg == nil {
			return c.signalInit(sig)
		}
		return cg.Signal(sig)
	}
	if c.Status() == Stopped {
		return ErrNotRunning
	}
	return c.signalInit(sig)
}

// Delete removes a stopped container: whatever is left in its cgroup is
// killed, the cgroup removed, the poststop hooks run, the state removed.
// A created container is killed first, as runc does (its process never
// ran user code). A running or paused one is refused unless force, which
// kills it. The warnings are the poststop hooks' failures, which do not
// stop the delete (config.md).
func (c *Container) Delete(force bool) (warnings []string, err error) {
	st := c.Status()
	if (st == Running || st == Paused) && !force {
		return nil, fmt.Errorf("cannot delete container %s that is not stopped: %s (kill it first, or delete --force)", c.State.ID, st)
	}
	cg, err := c.cgroup()
	if err != nil {
		return nil, err
	}
	if st != Stopped {
		if cg != nil && st == Paused {
			cg.Thaw()
		}
		c.signalInit(unix.SIGKILL)
	}
	if cg != nil {
		// Kill waits until the cgroup is empty; Remove removes it.
		if err := cg.Remove(); err != nil {
			return nil, fmt.Errorf("removing the cgroup of %s: %v", c.State.ID, err)
		}
		cgroup.RemoveParents(c.State.CgroupParents)
	} else if st != Stopped {
		c.waitGone()
	}
	if m := c.State.RootMount; m != nil {
		if err := unmountRoot(c.State.Rootfs, m); err != nil {
			return nil, err
		}
	}
	if err := c.remove(); err != nil {
		return nil, err
	}
	return c.runHookList("poststop", Stopped), nil
}

// waitGone waits until the container's process has exited (not reaped:
// that is its parent's job, or the subreaper's).
func (c *Container) waitGone() {
	fd, err := unix.PidfdOpen(c.State.Pid, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	if !c.alive() {
		return
	}
	// A pidfd polls readable once its process has exited.
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(fds, 10000); err != unix.EINTR {
			return
		}
	}
}

// Pause freezes every process of a running container.
func (c *Container) Pause() error {
	cg, err := c.runningCgroup("pause", Running)
	if err != nil {
		return err
	}
	return cg.Freeze()
}

// Resume thaws a paused container.
func (c *Container) Resume() error {
	cg, err := c.runningCgroup("resume", Paused)
	if err != nil {
		return err
	}
	return cg.Thaw()
}

func (c *Container) runningCgroup(verb string, want Status) (*cgroup.Cgroup, error) {
	if st := c.Status(); st != want {
		return nil, fmt.Errorf("cannot %s container %s: it is %s, not %s", verb, c.State.ID, st, want)
	}
	cg, err := c.cgroup()
	if err != nil {
		return nil, err
	}
	if cg == nil {
		return nil, fmt.Errorf("cannot %s container %s: it has no cgroup", verb, c.State.ID)
	}
	return cg, nil
}

// Pids lists the host pids of the container's processes (its cgroup's);
// a stopped container has none, or the stragglers of its cgroup.
func (c *Container) Pids() ([]int, error) {
	cg, err := c.cgroup()
	if err != nil || cg == nil {
		if err == nil && c.alive() {
			return []int{c.State.Pid}, nil
		}
		return nil, err
	}
	return cg.Pids()
}

// Update writes new limits into the container's cgroup.
func (c *Container) Update(r cgroup.Resources) error {
	if st := c.Status(); st == Stopped {
		return fmt.Errorf("cannot update container %s: it is stopped", c.State.ID)
	}
	cg, err := c.cgroup()
	if err != nil {
		return err
	}
	if cg == nil {
		return fmt.Errorf("cannot update container %s: it has no cgroup", c.State.ID)
	}
	if err := cg.Update(r); err != nil {
		return cgroupError(err)
	}
	return nil
}

// ParseSignal parses a signal as kill takes it: a number, or a name with
// or without SIG, in any case (9, KILL, SIGKILL, sigkill).
func ParseSignal(s string) (unix.Signal, error) {
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err == nil && fmt.Sprint(n) == s {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("signal %s: give a number from 1 to 64 or a name such as SIGTERM", s)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q; give a number or a name such as SIGTERM, KILL, HUP", s)
}

// Started runs the poststart hooks once the container's program has
// started; their failures are warnings (config.md: the lifecycle goes
// on).
func (c *Container) Started() []string {
	return c.runHookList("poststart", Running)
}
