package tty

import (
	"bytes"
	"os"
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
