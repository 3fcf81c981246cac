package main

import (
	"bytes"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

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

// openPTY returns a new pseudo-terminal's master and slave (pty(7)).
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
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
	for _, init := range []bool{false, true} {
		args := []string{"run"}
		if init {
			args = append(args, "--init")
		}
		master, slave := openPTY(t)
		cmd := exec.Command(rawnsBin, append(args, "--env", "RAWNS_TEST_HELPER=sigcount", "--", self)...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		// A session of its own with the pty as controlling terminal, so
		// that rawns and the command are its foreground process group.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var (
			mu  sync.Mutex
			out bytes.Buffer
		)
		go func() {
			buf := make([]byte, 256)
			for {
				n, err := master.Read(buf)
				mu.Lock()
				out.Write(buf[:n])
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
		text := func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(text(), "ready") && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		master.Write([]byte{3}) // ^C: the terminal sends SIGINT to its foreground group
		err := cmd.Wait()
		time.Sleep(50 * time.Millisecond)
		got := text()
		if n := strings.Count(got, "SIGINT "); n != 1 || err != nil {
			t.Errorf("--init %v: one Ctrl-C reached the command %d times (want 1); rawns: %v; terminal:\n%s", init, n, err, got)
		}
	}
}
