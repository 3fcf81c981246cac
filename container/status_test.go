package container

import (
	"syscall"
	"testing"
	"time"

	"github.com/rawns/rawns/internal/procfs"
	"github.com/rawns/rawns/internal/testutil"
)

func init() { testutil.LeaderExitChild() }

// A container's process whose main thread has exited while its other
// threads run is running, not stopped: every multi-threaded program that
// calls execve(2) from a thread other than its main one is such a
// process for a moment (procfs.Exited). critest's nginx re-executes
// itself as it starts, and an exec that came at that moment failed with
// "it is stopped". Once killed, and a zombie alone, the process is
// stopped.
func TestStatusLeaderExited(t *testing.T) {
	cmd := testutil.StartLeaderExited(t)
	pid := cmd.Process.Pid
	start, err := procfs.StartTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	c := &Container{Dir: t.TempDir(), State: State{ID: "leader-exited", Pid: pid, PidStart: start}}
	if st := c.Status(); st != Running {
		t.Fatalf("status %s, want %s: the process lives on in its other threads", st, Running)
	}
	c.State.PidStart = start + 1
	if st := c.Status(); st != Stopped {
		t.Fatalf("another start time: status %s, want %s", st, Stopped)
	}
	c.State.PidStart = start
	cmd.Process.Signal(syscall.SIGKILL)
	deadline := time.Now().Add(10 * time.Second)
	for c.Status() != Stopped {
		if time.Now().After(deadline) {
			t.Fatalf("killed 10 s ago, status %s", c.Status())
		}
		time.Sleep(time.Millisecond)
	}
}
