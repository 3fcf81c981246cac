package testutil

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/procfs"
)

// envLeaderExit makes this test binary LeaderExitChild's process.
const envLeaderExit = "RAWNS_TESTUTIL_LEADER_EXIT"

// LeaderExitChild is the child of StartLeaderExited: a package whose tests
// call StartLeaderExited calls it from an init function, where it returns
// at once unless the binary runs as that child.
//
// As the child, it ends its main thread with exit(2), not exit_group(2),
// and leaves the process to the runtime's other threads (sysmon's, at
// least, which runtime.main starts before any init runs). An init
// function runs on the main thread (runtime.LockOSThread's doc), and
// locking it there keeps the runtime from moving this goroutine off it
// before the exit.
func LeaderExitChild() {
	if os.Getenv(envLeaderExit) != "1" {
		return
	}
	runtime.LockOSThread()
	if unix.Gettid() != unix.Getpid() {
		os.Stderr.WriteString("LeaderExitChild: init is not on the main thread\n")
		os.Exit(2)
	}
	// The pid and tid as the kernel sees them are the same here: this is
	// the thread-group leader. The raw exit(2) ends this thread only.
	syscall.RawSyscall(unix.SYS_EXIT, 0, 0, 0)
}

// StartLeaderExited starts a process whose main thread has exited while
// its other threads run: its thread-group leader is a zombie, Z in
// /proc/PID/stat, and the process is alive. Every multi-threaded program
// whose execve(2) comes from a thread other than the main one (a Go
// program's syscall.Exec) is such a process for a moment (procfs.Exited).
// The process is this test binary, in LeaderExitChild; it is killed and
// reaped when the test ends. StartLeaderExited returns once the leader is
// a zombie.
func StartLeaderExited(t testing.TB) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envLeaderExit+"=1")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	var buf [1024]byte
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := procfs.ReadFile(procfs.Path(cmd.Process.Pid, "stat"), buf[:])
		if err != nil {
			t.Fatalf("the child with an exited leader: %v", err)
		}
		if procfs.State(b) == 'Z' {
			return cmd
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child's leader is still not a zombie after 10 s: %s", b)
		}
		time.Sleep(time.Millisecond)
	}
}
