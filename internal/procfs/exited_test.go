package procfs_test

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/rawns/rawns/internal/procfs"
	"github.com/rawns/rawns/internal/testutil"
)

func init() { testutil.LeaderExitChild() }

func stat(t *testing.T, pid int) []byte {
	t.Helper()
	b, err := os.ReadFile(procfs.Path(pid, "stat"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A process whose leader has exited while its other threads run has not
// exited: Z with more than one thread. Once every thread has gone, the
// zombie alone has. A running process has not.
func TestExited(t *testing.T) {
	if procfs.Exited(stat(t, os.Getpid())) {
		t.Fatal("this test process reads as exited")
	}

	cmd := testutil.StartLeaderExited(t)
	b := stat(t, cmd.Process.Pid)
	n, _ := procfs.StatField(b, 20)
	if procfs.State(b) != 'Z' || string(n) == "1" {
		t.Fatalf("want a zombie leader with live threads: %s", b)
	}
	if procfs.Exited(b) {
		t.Fatalf("a process whose leader exited and whose %s threads run reads as exited: %s", n, b)
	}

	// Killed and not yet reaped: a zombie, alone.
	cmd.Process.Signal(syscall.SIGKILL)
	deadline := time.Now().Add(10 * time.Second)
	for b = stat(t, cmd.Process.Pid); !procfs.Exited(b); b = stat(t, cmd.Process.Pid) {
		if time.Now().After(deadline) {
			t.Fatalf("killed 10 s ago, not read as exited: %s", b)
		}
		time.Sleep(time.Millisecond)
	}
	if n, _ := procfs.StatField(b, 20); procfs.State(b) != 'Z' || string(n) != "1" {
		t.Fatalf("killed and not reaped: want a zombie with one thread: %s", b)
	}

	// A single-threaded process that exited.
	sh := exec.Command("true")
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	defer sh.Wait()
	deadline = time.Now().Add(10 * time.Second)
	for b = stat(t, sh.Process.Pid); procfs.State(b) != 'Z'; b = stat(t, sh.Process.Pid) {
		if time.Now().After(deadline) {
			t.Fatalf("true still runs after 10 s: %s", b)
		}
		time.Sleep(time.Millisecond)
	}
	if !procfs.Exited(b) {
		t.Fatalf("an exited true reads as alive: %s", b)
	}

	// Fields 4 to 19 zero, num_threads (20) last.
	for s, want := range map[string]bool{
		"":            true,
		"1 (x) X 0 0": true,
		"1 (x) Z 0 0": true, // no field 20: nothing says a thread lives
		"1 (a) b) Z 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1": true,
		"1 (a) b) Z 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 2": false,
		"1 (x) S 0 0": false,
	} {
		if got := procfs.Exited([]byte(s)); got != want {
			t.Errorf("Exited(%q) = %v, want %v", s, got, want)
		}
	}
}
