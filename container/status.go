package container

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
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

// procStat reads the start time (field 22) and the state (field 3) of
// /proc/PID/stat (proc(5)).
func procStat(pid int) (start uint64, state byte, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) may hold spaces and parentheses: fields
	// are counted after its last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, unix.EINVAL
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 20 {
		return 0, 0, unix.EINVAL
	}
	start, err = strconv.ParseUint(string(f[19]), 10, 64)
	return start, f[0][0], err
}

// alive reports whether the container's process still runs: the pid
// exists with the start time create saw, and is not a zombie (exited,
// waiting for its reaper).
func (c *Container) alive() bool {
	if c.State.Pid <= 0 {
		return false
	}
	start, state, err := procStat(c.State.Pid)
	return err == nil && start == c.State.PidStart && state != 'Z' && state != 'X'
}

// Status derives the container's status: stopped unless its process
// lives; paused when its cgroup is frozen; created while the start gate
// is still in the directory; running otherwise.
func (c *Container) Status() Status {
	if !c.alive() {
		return Stopped
	}
	if c.State.FreezeFile != "" {
		if b, err := os.ReadFile(c.State.FreezeFile); err == nil {
			v := string(bytes.TrimSpace(b))
			if v == "1" || v == "FROZEN" || v == "FREEZING" {
				return Paused
			}
		}
	}
	if _, err := os.Lstat(filepath.Join(c.Dir, gateFile)); err == nil {
		return Created
	}
	return Running
}
