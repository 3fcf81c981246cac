package testutil

import (
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// OpenPTY returns a new pseudo-terminal's master and slave (pty(7)), both
// closed when the test ends. The slave is opened through the master
// (TIOCGPTPEER, Linux 4.13), which names the right devpts instance
// whatever /dev/pts is.
func OpenPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	sfd, _, errno := unix.Syscall(unix.SYS_IOCTL, m.Fd(), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		t.Fatalf("TIOCGPTPEER: %v", errno)
	}
	s := os.NewFile(sfd, "pts")
	t.Cleanup(func() { s.Close() })
	return m, s
}

// ReadPTY copies what the terminal shows into a buffer, in the background,
// and returns a function that reads it so far.
func ReadPTY(master *os.File) func() string {
	var out SyncBuffer
	done := make(chan struct{})
	readers.Store(master, done)
	go func() {
		defer close(done)
		buf := make([]byte, 256)
		for {
			n, err := master.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	return out.String
}

// readers holds, for each master ReadPTY reads, a channel closed once its
// reader has read to the end.
var readers sync.Map

// Drained waits, at most 20 s, until ReadPTY's reader of master has read
// all there is: the master reads EIO once no process holds the slave. A
// command's last words may still be in the pty when ExitCode returns, and
// a busy machine schedules the reader late.
func Drained(t *testing.T, master *os.File) {
	t.Helper()
	v, ok := readers.Load(master)
	if !ok {
		t.Fatal("Drained: ReadPTY does not read this master")
	}
	select {
	case <-v.(chan struct{}):
	case <-time.After(20 * time.Second):
		t.Fatal("the terminal was not closed within 20 s: a process still holds it")
	}
}

// OnPTY starts bin on the slave of a new pty pair of 24x80, as a session
// leader with that pty as its controlling terminal, as a user's shell
// starts a command: a real terminal. It returns the master, the slave's
// mode before bin started, what the terminal shows so far, and the
// command, killed when the test ends.
func OnPTY(t *testing.T, bin string, args ...string) (*os.File, *unix.Termios, func() string, *exec.Cmd) {
	t.Helper()
	m, s := OpenPTY(t)
	unix.IoctlSetWinsize(int(m.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80})
	before, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.Close() // the command has it; the master then reads EIO when it is gone
	t.Cleanup(func() { cmd.Process.Kill() })
	return m, before, ReadPTY(m), cmd
}

// WaitText waits, at most 20 s, until the terminal shows want.
func WaitText(t *testing.T, text func() string, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(text(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q on the terminal; it shows:\n%q", want, text())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ExitCode waits, at most 20 s, for cmd and returns its exit code.
func ExitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the command did not exit")
	}
	return -1
}

// CheckRestored fails the test if the terminal's mode is not what it was
// before (a program that put it in raw mode must give it back).
func CheckRestored(t *testing.T, master *os.File, before *unix.Termios) {
	t.Helper()
	after, err := unix.IoctlGetTermios(int(master.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if after.Lflag != before.Lflag || after.Iflag != before.Iflag || after.Oflag != before.Oflag || after.Cflag != before.Cflag {
		t.Errorf("the terminal was not restored: lflag %#x -> %#x, iflag %#x -> %#x, oflag %#x -> %#x", before.Lflag, after.Lflag, before.Iflag, after.Iflag, before.Oflag, after.Oflag)
	}
}
