package container

import (
	"bytes"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/procfs"
)

// Status is a container's status as runtime.md names them, and runc's
// paused.
type Status string

const (
	Creating Status = "creating"
	Created  Status = "created"
	Running  Status = "running"
	Stopped  Status = "stopped"
	Paused   Status = "paused"
)

// procStat reads the start time (field 22) of /proc/PID/stat (proc(5))
// and whether the process has exited (procfs.Exited), into a buffer on
// the stack: create calls it right after a fork-style clone, where every
// heap page written is a copy-on-write fault (~12 µs on the development
// VM), and os.ReadFile allocated ten of them.
func procStat(pid int) (start uint64, exited bool, err error) {
	var buf [1024]byte
	b, err := procfs.ReadFile(procfs.Path(pid, "stat"), buf[:])
	if err != nil {
		return 0, false, err
	}
	f, ok := procfs.StatField(b, 22)
	if !ok || procfs.State(b) == 0 {
		return 0, false, unix.EINVAL
	}
	start, err = strconv.ParseUint(string(f), 10, 64)
	return start, procfs.Exited(b), err
}

// alive reports whether the container's process still runs: the pid
// exists with the start time create saw, and has not exited (a zombie
// waiting for its reaper). A zombie leader whose other threads run is
// alive: the container's process while a thread of it other than the
// main one calls execve(2), as a Go program's syscall.Exec does; runc's
// status reads it as stopped, and an exec that came then failed with
// "it is stopped" (critest's ContainerPID, whose nginx re-executes
// itself as it starts).
func (c *Container) alive() bool {
	if c.State.Pid <= 0 {
		return false
	}
	start, exited, err := procStat(c.State.Pid)
	return err == nil && start == c.State.PidStart && !exited
}

// Status derives the container's status: stopped unless its process
// lives; paused when its cgroup is frozen; created while the start gate
// is still in the directory; running otherwise.
func (c *Container) Status() Status {
	if !c.alive() {
		return Stopped
	}
	// Raw system calls into the stack: no os.File, whose first use
	// starts the runtime's poller (epoll, eventfd) in every start and
	// delete.
	if c.State.FreezeFile != "" {
		var buf [64]byte // "FREEZING\n" (v1 freezer.state), "1\n" (v2 cgroup.freeze)
		if b, err := procfs.ReadFile(c.State.FreezeFile, buf[:]); err == nil {
			v := bytes.TrimSpace(b)
			if string(v) == "1" || string(v) == "FROZEN" || string(v) == "FREEZING" {
				return Paused
			}
		}
	}
	var st unix.Stat_t
	if unix.Lstat(filepath.Join(c.Dir, gateFile), &st) == nil {
		return Created
	}
	return Running
}
