package run

import (
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/tty"
)

// ttySession is -t: the command's pty, and rawns's own terminal in raw
// mode while the command runs.
type ttySession struct {
	pty  *tty.Pty // nil until the console's master has come
	raw  *tty.Raw
	copy *tty.Copier
	// The console socket, when the command's /dev has a devpts of its own
	// (--dev /dev): rawns's end, and the child's until the clone is done.
	sock, child *os.File
	// keys are the input copy's view of the keys typed (watchKeys),
	// guarded by keyMu against close.
	keyMu    sync.Mutex
	keyPty   *tty.Pty
	keyPid   int
	keyWatch func(sig syscall.Signal, name string)
}

// startTTY prepares the command's terminal and puts rawns's terminal
// (stdin) in raw mode. The caller defers close, which restores the
// terminal and closes every fd on every path.
//
// With console (--dev /dev) the pty must come from the command's own
// devpts instance, which exists only inside its mount namespace: the child
// opens it there, gives it rawns's window size (clone.Spec.ConsoleSize),
// and sends the master back over a console socket (clone.Spec.ConsoleSocket,
// tty.SocketPair). Otherwise rawns opens a pty
// on the host's /dev/ptmx, gives the child its slave as stdio, and copies
// the window size at once.
func startTTY(s *clone.Spec, console bool) (*ttySession, error) {
	t := &ttySession{}
	if console {
		var err error
		if t.sock, t.child, err = tty.SocketPair(); err != nil {
			return nil, fmt.Errorf("--tty: %v", err)
		}
		s.ConsoleSocket = int32(t.child.Fd())
		// The child sizes the console before the exec: the command sees
		// rawns's size from its first instruction.
		if ws, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ); err == nil {
			s.ConsoleSize = clone.Winsize{Rows: ws.Row, Cols: ws.Col}
		}
	} else {
		p, err := tty.Open()
		if err != nil {
			return nil, fmt.Errorf("--tty: %v", err)
		}
		fd := int(p.Slave.Fd())
		s.Stdio = []int{fd, fd, fd}
		t.pty = p
		p.CopySize(0) // a terminal without a size (a serial line) is fine
	}
	var err error
	if t.raw, err = tty.MakeRaw(0); err != nil {
		t.close()
		return nil, fmt.Errorf("--tty: putting the terminal in raw mode: %v", err)
	}
	return t, nil
}

// started runs once the child has its terminal: rawns's copy of the slave
// goes (or, with a console, the child's end of the socket, and the master
// comes), so that the master reads EIO when the command and its children
// are gone; then the copying starts. The console's window size is copied
// again, for a change since the clone (the kernel sends SIGWINCH only for
// a change, tty_ioctl(4)). An error means the command has no terminal
// rawns can drive: the caller stops it.
func (t *ttySession) started() error {
	if t.child != nil {
		t.child.Close()
		t.child = nil
		p, err := tty.ReceiveMaster(t.sock)
		t.sock.Close()
		t.sock = nil
		if err != nil {
			return fmt.Errorf("--tty: %v", err)
		}
		t.pty = p
		p.CopySize(0)
	}
	t.pty.CloseSlave()
	t.keyMu.Lock()
	t.keyPty = t.pty
	t.keyMu.Unlock()
	t.copy = t.pty.Copy(keyReader{t}, os.Stdout)
	return nil
}

// watchKeys makes the input copy call fn for each key that the command's
// pty turns into SIGINT or SIGQUIT (its VINTR and VQUIT characters, while
// ISIG is on) for a foreground process group led by pid, the command:
// PID 1 of its namespace, which drops them without a handler. Without -t
// the key is a signal from rawns's own terminal that reaches rawns too;
// with it, the terminal is raw and only the pty sees the key.
func (t *ttySession) watchKeys(pid int, fn func(sig syscall.Signal, name string)) {
	t.keyMu.Lock()
	t.keyPid, t.keyWatch = pid, fn
	t.keyMu.Unlock()
}

// keyReader is the input copy's reader: rawns's stdin, with each chunk
// shown to the key watch on its way to the pty.
type keyReader struct{ t *ttySession }

func (k keyReader) Read(b []byte) (int, error) {
	n, err := os.Stdin.Read(b)
	if n > 0 {
		k.t.sawKeys(b[:n])
	}
	return n, err
}

func (t *ttySession) sawKeys(b []byte) {
	t.keyMu.Lock()
	defer t.keyMu.Unlock()
	if t.keyWatch == nil || t.keyPty == nil {
		return
	}
	fd := int(t.keyPty.Master.Fd())
	// TCGETS on a master reads its slave's termios (tty_mode_ioctl).
	tm, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil || tm.Lflag&unix.ISIG == 0 {
		return
	}
	for _, c := range b {
		var sig syscall.Signal
		switch {
		case c == 0: // _POSIX_VDISABLE
			continue
		case c == tm.Cc[unix.VINTR]:
			sig = unix.SIGINT
		case c == tm.Cc[unix.VQUIT]:
			sig = unix.SIGQUIT
		default:
			continue
		}
		// The foreground process group, as rawns's PID namespace numbers
		// it: the command's own, not a job a shell started.
		if pg, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP); err == nil && pg == t.keyPid {
			t.keyWatch(sig, keyName(c))
		}
	}
}

// keyName is "Ctrl-C" for 3, "Ctrl-\\" for 0x1c.
func keyName(c byte) string {
	if c < 32 {
		return "Ctrl-" + string(rune('@'+c))
	}
	if c == 127 {
		return "DEL"
	}
	return fmt.Sprintf("%q", rune(c))
}

// messages wraps w, rawns's stderr, for the time its terminal is raw:
// raw mode turns off output processing (OPOST), so a line of rawns's own
// must end in CR LF or the next one starts where it ended. Only when w is
// a terminal: a log file gets plain lines.
func (t *ttySession) messages(w io.Writer) io.Writer {
	if !tty.IsTerminal(2) {
		return w
	}
	return crlfWriter{w: w, t: t}
}

type crlfWriter struct {
	w io.Writer
	t *ttySession
}

func (c crlfWriter) Write(b []byte) (int, error) {
	if c.t.raw == nil {
		return c.w.Write(b)
	}
	out := make([]byte, 0, len(b)+4)
	for i, ch := range b {
		if ch == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, ch)
	}
	if _, err := c.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

// resize copies rawns's window size to the command's terminal; on
// SIGWINCH.
func (t *ttySession) resize() {
	if t.pty != nil {
		t.pty.CopySize(0)
	}
}

// close waits a little for the command's last output, then restores the
// terminal and closes the pty and the console socket. A second call does
// nothing: a failed start closes at once, so that its one line is printed
// on a terminal in its own mode, and the deferred call follows.
func (t *ttySession) close() {
	if t.copy != nil {
		t.copy.Drain(500 * time.Millisecond)
		t.copy = nil
	}
	if t.raw != nil {
		t.raw.Restore()
		t.raw = nil
	}
	t.keyMu.Lock()
	t.keyPty, t.keyWatch = nil, nil
	t.keyMu.Unlock()
	if t.pty != nil {
		t.pty.CloseSlave()
		t.pty.Master.Close()
		t.pty = nil
	}
	for _, f := range []*os.File{t.sock, t.child} {
		if f != nil {
			f.Close()
		}
	}
	t.sock, t.child = nil, nil
}

// consoleHint explains a failed console step of the child (--tty with
// --dev /dev), for the one line rawns prints.
func consoleHint(ce *clone.ChildError) string {
	switch {
	case ce.Stage == clone.StageConsoleOpen && ce.Errno == syscall.ENOENT:
		return " (the command's /dev has no ptmx: with --dev /dev, -t takes the terminal from its devpts; do not mount over /dev, /dev/pts or /dev/ptmx after it)"
	case ce.Stage == clone.StageConsolePeer && (ce.Errno == syscall.ENOTTY || ce.Errno == syscall.EINVAL):
		return " (this kernel cannot open a pty's slave through its master, TIOCGPTPEER: Linux 4.13+)"
	}
	return ""
}
