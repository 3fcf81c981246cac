//go:build linux && (amd64 || arm64)

package clone_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// gateFIFO makes a FIFO in a temporary directory and opens it O_RDWR, as
// an OCI create would: the returned fd is the gate, the path is where a
// start opens it to write the byte.
func gateFIFO(t *testing.T) (int, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gate")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd, path
}

// openGate writes the byte a start writes.
func openGate(t *testing.T, path string) {
	t.Helper()
	w, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("opening the gate for writing: %v (ENXIO: nobody waits)", err)
	}
	defer unix.Close(w)
	if _, err := unix.Write(w, []byte{0}); err != nil {
		t.Fatal(err)
	}
}

// procState is the state letter of /proc/PID/stat.
func procState(t *testing.T, pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[0]
}

// TestGate: Start returns with the child waiting at the gate, having run
// nothing of the program; one byte sets it going, and its fd table has
// only stdio (the gate fd is close-on-exec).
func TestGate(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	for _, init := range []bool{false, true} {
		t.Run("init="+strconv.FormatBool(init), func(t *testing.T) {
			gate, path := gateFIFO(t)
			out := filepath.Join(t.TempDir(), "out")
			spec := sh(`echo ran > ` + out + `; ls /proc/self/fd | tr '\n' ' ' >> ` + out + `; exit 3`)
			spec.Namespaces = clone.NewPID | clone.NewUTS
			spec.GateFD = gate
			spec.NoParentDeathSignal = true
			spec.Init = init
			p, err := clone.Start(spec)
			if err != nil {
				t.Fatal(err)
			}
			// At the gate: blocked in read, nothing ran.
			time.Sleep(50 * time.Millisecond)
			if st := procState(t, p.Pid); st != "S" {
				t.Errorf("state %s at the gate, want S", st)
			}
			if _, err := os.Stat(out); err == nil {
				t.Fatal("the program ran before the gate opened")
			}
			openGate(t, path)
			st, err := p.Wait()
			if err != nil || st.Code != 3 {
				t.Fatalf("after the gate: %v, %v; want exit code 3", st, err)
			}
			b, _ := os.ReadFile(out)
			if got := string(b); got != "ran\n0 1 2 3 " { // 3: ls's own directory fd
				t.Errorf("the program wrote %q; want ran and fds 0 1 2 3 (ls's)", got)
			}
		})
	}
	testutil.AssertNoChildren(t)
}

// TestGateClosed: EOF at the gate (whoever holds the other end is gone)
// makes the child exit 125 without running anything; failures after the
// gate are exit statuses with runc's numbers.
func TestGateExitCodes(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	dir := t.TempDir()
	noexec := filepath.Join(dir, "noexec")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	for _, c := range []struct {
		name string
		spec clone.Spec
		eof  bool
		code int
	}{
		{"eof", clone.Spec{Path: "/bin/sh", Args: []string{"sh", "-c", "echo ran > " + out}}, true, clone.ExitSetupFailed},
		{"not found", clone.Spec{Path: dir + "/missing"}, false, clone.ExitNotFound},
		{"not a directory", clone.Spec{Path: noexec + "/x"}, false, clone.ExitNotFound},
		{"not executable", clone.Spec{Path: noexec}, false, clone.ExitCannotInvoke},
		{"not found under init", clone.Spec{Path: dir + "/missing", Init: true}, false, clone.ExitNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec := c.spec
			spec.Namespaces = clone.NewPID
			var p [2]int
			if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
				t.Fatal(err)
			}
			spec.GateFD = p[0]
			// The byte, if any, waits in the pipe; the write end is
			// closed before the clone, or the child would hold a writer
			// itself and never read EOF.
			if !c.eof {
				unix.Write(p[1], []byte{1})
			}
			unix.Close(p[1])
			proc, err := clone.Start(&spec)
			unix.Close(p[0])
			if err != nil {
				t.Fatal(err)
			}
			st, err := proc.Wait()
			if err != nil || st.Signal != 0 || st.Code != c.code {
				t.Errorf("%v, %v; want exit code %d", st, err, c.code)
			}
		})
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("the program ran though the gate gave EOF")
	}
	testutil.AssertNoChildren(t)
}

// TestGateFailureBefore: a step before the gate still fails Start with
// its report, and nothing is left.
func TestGateFailureBefore(t *testing.T) {
	testutil.RequireRoot(t)
	gate, _ := gateFIFO(t)
	_, err := clone.Start(&clone.Spec{Path: "/bin/true", Namespaces: clone.NewPID, Dir: "/nonexistent", GateFD: gate})
	var ce *clone.ChildError
	if !errors.As(err, &ce) || ce.Stage != clone.StageChdir || ce.Errno != unix.ENOENT {
		t.Fatalf("got %v; want the chdir failure", err)
	}
	testutil.AssertNoChildren(t)
}

// TestParentDeathSignal: by default the child dies (SIGKILL) when the
// thread that cloned it exits; with NoParentDeathSignal it outlives it.
func TestParentDeathSignal(t *testing.T) {
	testutil.RequireRoot(t)
	for _, keep := range []bool{false, true} {
		t.Run("NoParentDeathSignal="+strconv.FormatBool(keep), func(t *testing.T) {
			pc := make(chan *clone.Process)
			var p *clone.Process
			for p == nil {
				go func() {
					// Locked and never unlocked: the thread ends with
					// the goroutine (runtime.LockOSThread), and the
					// kernel sends the death signal of its children. Not
					// the main thread, which the runtime never ends.
					runtime.LockOSThread()
					if unix.Gettid() == unix.Getpid() {
						runtime.UnlockOSThread()
						pc <- nil
						return
					}
					p, err := clone.StartHere(&clone.Spec{Path: "/bin/sh", Args: []string{"sh", "-c", "sleep 1; exit 4"},
						Namespaces: clone.NewPID, NoParentDeathSignal: keep})
					if err != nil {
						t.Error(err)
					}
					pc <- p
				}()
				if p = <-pc; p == nil && t.Failed() {
					return
				}
			}
			st, err := p.Wait()
			if err != nil {
				t.Fatal(err)
			}
			if keep && st.Code != 4 {
				t.Errorf("%v; want exit code 4: the child must outlive its thread", st)
			}
			if !keep && st.Signal != syscall.SIGKILL {
				t.Errorf("%v; want SIGKILL when the cloning thread exits", st)
			}
		})
	}
}

func TestGateValidate(t *testing.T) {
	gate, _ := gateFIFO(t)
	for _, c := range []struct {
		spec clone.Spec
		want string
	}{
		{clone.Spec{Path: "/bin/true", GateFD: 2}, "GateFD 2: give an fd of 3 or more"},
		{clone.Spec{Path: "/bin/true", GateFD: 9999}, "GateFD 9999: bad file descriptor"},
		{clone.Spec{Path: "/bin/true", GateFD: gate, Mode: clone.ModeVfork}, "vfork-style"},
	} {
		if err := c.spec.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want %q", c.spec, err, c.want)
		}
	}
}

// TestGateShared: with GateShared a gated child waits on this process's
// memory (kcmp(2) KCMP_VM says one mm), without it on a copy; either way
// it runs its program with its own argv and environment after the gate,
// even when this process has churned and collected its heap meanwhile,
// and after Release (the prepared data is kept).
func TestGateShared(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	for _, c := range []struct {
		name            string
		shared, release bool
		ns              clone.Namespaces
	}{
		{"copy", false, false, clone.NewPID | clone.NewUTS | clone.NewMount},
		{"shared", true, false, clone.NewPID | clone.NewUTS | clone.NewMount},
		{"shared released", true, true, clone.NewPID | clone.NewUTS | clone.NewMount},
		// In a PID namespace others can be in (here the host's), a
		// process there could write the child's memory: a copy.
		{"no pid namespace", true, false, clone.NewUTS | clone.NewMount},
	} {
		t.Run(c.name, func(t *testing.T) {
			gate, path := gateFIFO(t)
			out := filepath.Join(t.TempDir(), "out")
			spec := sh(`echo "$0 $GATE_VAR" > ` + out + `; exit 4`)
			spec.Args = append(spec.Args, "argzero")
			spec.Env = []string{"GATE_VAR=value-" + c.name}
			spec.Namespaces = c.ns
			spec.GateFD = gate
			spec.GateShared = c.shared
			spec.NoParentDeathSignal = true
			p, err := clone.Start(spec)
			if err != nil {
				t.Fatal(err)
			}
			pid := p.Pid
			same, _, errno := unix.Syscall6(unix.SYS_KCMP, uintptr(os.Getpid()), uintptr(pid), 1 /* KCMP_VM */, 0, 0, 0)
			if errno != 0 {
				t.Fatalf("kcmp: %v", errno)
			}
			if want := c.shared && c.ns&clone.NewPID != 0 && p.Syscall == "clone3"; (same == 0) != want {
				t.Errorf("the gated child shares this process's memory: %v, want %v (%s)", same == 0, want, p.Syscall)
			}
			if c.release {
				p.Release()
			}
			// What the child reads must survive this process going on.
			var keep [][]byte
			for i := 0; i < 4096; i++ {
				keep = append(keep, make([]byte, 4096))
				if i%512 == 0 {
					keep = nil
					runtime.GC()
				}
			}
			runtime.GC()
			openGate(t, path)
			code := -1
			if c.release {
				var ws unix.WaitStatus
				if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
					t.Fatal(err)
				}
				code = ws.ExitStatus()
			} else {
				st, err := p.Wait()
				if err != nil {
					t.Fatal(err)
				}
				code = st.Code
			}
			b, _ := os.ReadFile(out)
			if code != 4 || string(b) != "argzero value-"+c.name+"\n" {
				t.Errorf("after the gate: exit code %d, wrote %q; want 4 and %q", code, b, "argzero value-"+c.name+"\n")
			}
		})
	}
	testutil.AssertNoChildren(t)
}
