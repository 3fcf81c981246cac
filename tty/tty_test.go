package tty

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestOpenRawRestoreCopy(t *testing.T) {
	p, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Master.Close()
	sfd := int(p.Slave.Fd())
	if !IsTerminal(sfd) {
		t.Fatal("the slave is not a terminal")
	}
	r, w, _ := os.Pipe()
	defer r.Close()
	if IsTerminal(int(r.Fd())) {
		t.Fatal("a pipe taken for a terminal")
	}
	w.Close()

	before, _ := unix.IoctlGetTermios(sfd, unix.TCGETS)
	raw, err := MakeRaw(sfd)
	if err != nil {
		t.Fatal(err)
	}
	during, _ := unix.IoctlGetTermios(sfd, unix.TCGETS)
	if during.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != 0 || during.Oflag&unix.OPOST != 0 {
		t.Errorf("not raw: lflag %#x oflag %#x", during.Lflag, during.Oflag)
	}
	if err := raw.Restore(); err != nil {
		t.Fatal(err)
	}
	raw.Restore() // a second call does nothing
	after, _ := unix.IoctlGetTermios(sfd, unix.TCGETS)
	if *after != *before {
		t.Errorf("not restored: %+v -> %+v", before, after)
	}

	// The window size goes from a terminal to the pty.
	unix.IoctlSetWinsize(sfd, unix.TIOCSWINSZ, &unix.Winsize{Row: 33, Col: 99})
	if err := p.CopySize(sfd); err != nil {
		t.Fatal(err)
	}
	if ws, _ := unix.IoctlGetWinsize(int(p.Master.Fd()), unix.TIOCGWINSZ); ws.Row != 33 || ws.Col != 99 {
		t.Errorf("size %dx%d", ws.Row, ws.Col)
	}

	// What the slave writes reaches out; the copy ends with EIO once the
	// slave is closed everywhere.
	if _, err := MakeRaw(sfd); err != nil { // no output processing, for an exact comparison
		t.Fatal(err)
	}
	var out bytes.Buffer // read only after Drain, which orders it after the copy
	in, inw, _ := os.Pipe()
	defer inw.Close()
	c := p.Copy(in, &out)
	p.Slave.Write([]byte("hello\n"))
	time.Sleep(50 * time.Millisecond)
	p.CloseSlave()
	if !c.Drain(5 * time.Second) {
		t.Fatal("the output copy did not end after the slave closed")
	}
	if got := out.String(); got != "hello\n" {
		t.Errorf("copied %q", got)
	}
}

// TestReceiveMaster: the console socket carries one pty master; anything
// else is refused and its fds closed, and no message is an error, not a
// wait.
func TestReceiveMaster(t *testing.T) {
	parent, child, err := SocketPair()
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Close()
	defer child.Close()
	fds := func() int {
		ents, _ := os.ReadDir("/proc/self/fd")
		return len(ents)
	}
	if _, err := ReceiveMaster(parent); err == nil || err.Error() != "the child sent no terminal over the console socket" {
		t.Errorf("an empty socket: %v", err)
	}
	null, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	before := fds()
	if err := unix.Sendmsg(int(child.Fd()), []byte{'c'}, unix.UnixRights(int(null.Fd())), nil, 0); err != nil {
		t.Fatal(err)
	}
	null.Close()
	if _, err := ReceiveMaster(parent); err == nil || !strings.Contains(err.Error(), "not a pty master") {
		t.Errorf("/dev/null taken for a master: %v", err)
	}
	if n := fds(); n != before-1 {
		t.Errorf("%d fds open after a refused fd, want %d", n, before-1)
	}

	p, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Master.Close()
	defer p.CloseSlave()
	want, err := p.Index()
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Sendmsg(int(child.Fd()), []byte{'c'}, unix.UnixRights(int(p.Master.Fd())), nil, 0); err != nil {
		t.Fatal(err)
	}
	got, err := ReceiveMaster(parent)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Master.Close()
	if n, err := got.Index(); err != nil || n != want || got.Slave != nil {
		t.Errorf("received pty %d (%v), want %d, no slave", n, err, want)
	}
	if flags, err := unix.FcntlInt(got.Master.Fd(), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("the received master is not close-on-exec (%#x, %v)", flags, err)
	}
}
