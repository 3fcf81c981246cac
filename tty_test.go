package main

import (
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rawns/rawns/internal/testutil"
)

// sigcountHelper is the command of TestCtrlCOnce: it reports every SIGINT
// it gets, numbered, for a second and a half.
func sigcountHelper() int {
	c := make(chan os.Signal, 8)
	signal.Notify(c, syscall.SIGINT)
	os.Stdout.WriteString("ready\n")
	n := 0
	deadline := time.After(1500 * time.Millisecond)
	for {
		select {
		case <-c:
			n++
			os.Stdout.WriteString("SIGINT " + strconv.Itoa(n) + "\n")
		case <-deadline:
			return 0
		}
	}
}

// TestCtrlCOnce: a Ctrl-C on rawns's terminal goes to the whole foreground
// process group, the command included; rawns must not relay it a second
// time (nor, with --init, must its init), or a program that takes a second
// Ctrl-C as "force quit" acts on one key press.
func TestCtrlCOnce(t *testing.T) {
	testutil.RequireRoot(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, init := range runVariants {
		args := append([]string{"run"}, init...)
		master, slave := testutil.OpenPTY(t)
		cmd := exec.Command(rawnsBin, append(args, "--env", "RAWNS_TEST_HELPER=sigcount", "--", self)...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		// A session of its own with the pty as controlling terminal, so
		// that rawns and the command are its foreground process group.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		text := testutil.ReadPTY(master)
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(text(), "ready") && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		master.Write([]byte{3}) // ^C: the terminal sends SIGINT to its foreground group
		err := cmd.Wait()
		time.Sleep(50 * time.Millisecond)
		got := text()
		if n := strings.Count(got, "SIGINT "); n != 1 || err != nil {
			t.Errorf("%v: one Ctrl-C reached the command %d times (want 1); rawns: %v; terminal:\n%s", init, n, err, got)
		}
	}
}

// TestCtrlCTwiceStopsPID1: sleep as PID 1 of its namespace has no handler
// for SIGINT, so the kernel drops the terminal's Ctrl-C; rawns says so, and
// a second Ctrl-C within the window kills the command (exit 137), as a
// second Ctrl-C does in docker compose.
func TestCtrlCTwiceStopsPID1(t *testing.T) {
	testutil.RequireRoot(t)
	master, slave := testutil.OpenPTY(t)
	cmd := exec.Command(rawnsBin, "run", "--", "sh", "-c", "echo ready; exec sleep 20")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	text := testutil.ReadPTY(master)
	waitFor := func(s string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(text(), s) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q on the terminal:\n%s", s, text())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("ready")
	testutil.WaitSleeping(t, cmd.Process.Pid)
	master.Write([]byte{3})
	waitFor("has no handler for SIGINT, so the kernel drops it; send SIGINT again within 3s to kill it (SIGKILL), or use --init")
	if !testutil.ProcessAlive(cmd.Process.Pid) {
		t.Fatalf("rawns ended on the first Ctrl-C:\n%s", text())
	}
	master.Write([]byte{3})
	waitFor("SIGINT again: killing the command with SIGKILL")
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 137 {
		t.Errorf("after two Ctrl-C rawns ended with %v, want exit 137; terminal:\n%s", err, text())
	}
}

// TestTTYCtrlCTwiceStopsPID1: with -t, Ctrl-C and Ctrl-\ are bytes that
// the command's own pty turns into SIGINT and SIGQUIT for its foreground
// group, never signals to rawns; sleep as PID 1 has no handler, so the
// kernel drops them. rawns reads the keys on their way in and acts as it
// does for signals without -t: a hint, and the same key again kills the
// command (137). Its lines end in CR LF, since its terminal is raw (no
// output processing): a bare LF printed a staircase (issue 25, bug 4).
func TestTTYCtrlCTwiceStopsPID1(t *testing.T) {
	testutil.RequireRoot(t)
	for _, k := range []struct {
		key       byte
		name, sig string
	}{{3, "Ctrl-C", "SIGINT"}, {0x1c, `Ctrl-\`, "SIGQUIT"}} {
		master, before, text, cmd := testutil.OnPTY(t, rawnsBin, "run", "-t", "--", "sh", "-c", "echo ready; exec sleep 20")
		testutil.WaitText(t, text, "ready")
		testutil.WaitSleeping(t, cmd.Process.Pid)
		master.Write([]byte{k.key})
		hint := "rawns run: the command is PID 1 of its PID namespace and has no handler for " + k.sig + " (" + k.name + "), so the kernel drops it; press " + k.name + " again within 3s to kill it (SIGKILL), or use --init\r\n"
		testutil.WaitText(t, text, hint)
		if !testutil.ProcessAlive(cmd.Process.Pid) {
			t.Fatalf("rawns ended on the first %s:\n%q", k.name, text())
		}
		master.Write([]byte{k.key})
		testutil.WaitText(t, text, "rawns run: "+k.name+" again: killing the command with SIGKILL\r\n")
		if code := testutil.ExitCode(t, cmd); code != 137 {
			t.Errorf("after two %s rawns exited %d, want 137; terminal:\n%q", k.name, code, text())
		}
		testutil.CheckRestored(t, master, before)
	}
}
