// Package tty gives a command a pseudo-terminal of its own, as `docker run
// -it` does: rawns opens the pty (pty(7)), the child gets the slave as its
// stdio and makes it its controlling terminal (clone.Privilege's Setsid and
// Setctty), and rawns copies between its own terminal, put in raw mode for
// the time, and the master.
//
// When the command has a devpts instance of its own (rawns run's --dev
// /dev), the pty must come from there, not from the host's /dev/ptmx, or
// the command's terminal would be a host pty its /dev/pts does not list,
// and one more entry in the host's. Then the child opens it itself, after
// its mounts, and sends the master back over a console socket
// (clone.Spec.ConsoleSocket; SocketPair, ReceiveMaster), as OCI runtimes
// do for process.terminal with runc's --console-socket; the rest is the
// same, but the window size, which the child sets before the exec
// (clone.Spec.ConsoleSize), since the master reaches rawns only after it. Ctrl-C is then a byte like any other on the
// caller's terminal: the pty's line discipline turns it into one SIGINT
// for the command's foreground process group, and rawns, whose terminal is
// raw, gets none to relay a second time.
//
// The command on a pty of its own is a session leader that owns its
// terminal, so a shell's job control works (dash as PID 1 no longer
// prints "Cannot set tty process group"), and it cannot push input into
// the caller's terminal with TIOCSTI (CVE-2017-5226): that terminal is not
// its controlling terminal, and it holds no fd of it.
package tty

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// IsTerminal reports whether fd is a terminal (TCGETS succeeds).
func IsTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

// Pty is a pseudo-terminal pair.
type Pty struct {
	Master *os.File
	// Slave is the command's end; the parent closes its copy once the
	// child has it (CloseSlave), so that the master reads EIO when the
	// last process holding it is gone.
	Slave *os.File
}

// Open opens a new pty from /dev/ptmx. The slave is opened through the
// master with TIOCGPTPEER (Linux 4.13), which names the right devpts
// instance whatever /dev/pts is mounted as; by its path before that.
// Both ends are close-on-exec and not the caller's controlling terminal.
func Open() (*Pty, error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening a pseudo-terminal: %w", err)
	}
	fail := func(err error) (*Pty, error) {
		m.Close()
		return nil, err
	}
	mfd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil { // unlockpt(3)
		return fail(fmt.Errorf("unlocking the pseudo-terminal: %w", err))
	}
	sfd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(mfd), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	var s *os.File
	if errno == 0 {
		s = os.NewFile(uintptr(sfd), "/dev/pts/peer")
	} else {
		n, err := unix.IoctlGetInt(mfd, unix.TIOCGPTN) // ptsname(3)
		if err != nil {
			return fail(fmt.Errorf("naming the pseudo-terminal: %w", err))
		}
		if s, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0); err != nil {
			return fail(fmt.Errorf("opening the pseudo-terminal's slave: %w", err))
		}
	}
	return &Pty{Master: m, Slave: s}, nil
}

// SocketPair makes the console socket of clone.Spec.ConsoleSocket: a
// socketpair(AF_UNIX, SOCK_SEQPACKET) whose child end the child sends the
// master of a pty it opened over, and whose parent end ReceiveMaster reads
// it from. Sequenced packets keep the one message whole and bounded; both
// ends are close-on-exec (the child uses its end before exec, and closes
// it). The caller closes both.
func SocketPair() (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair for the console: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "console socket"), os.NewFile(uintptr(fds[1]), "console socket (child)"), nil
}

// ReceiveMaster takes the pty master the child sent over sock (recvmsg(2)
// with SCM_RIGHTS, unix(7)) and returns it as a Pty without a slave: the
// child kept that. It does not wait: it is called after the child has
// exec'd, when the message is queued already; no message is an error.
// MSG_CMSG_CLOEXEC makes the fd close-on-exec from its first instant. Any
// fd that is not one pty master (a truncated or unexpected message) is
// closed, never leaked.
func ReceiveMaster(sock *os.File) (*Pty, error) {
	var buf [1]byte
	oob := make([]byte, unix.CmsgSpace(4*4)) // room for a few fds, to close extras
	n, oobn, flags, _, err := unix.Recvmsg(int(sock.Fd()), buf[:], oob, unix.MSG_DONTWAIT|unix.MSG_CMSG_CLOEXEC)
	if err == unix.EAGAIN {
		return nil, errors.New("the child sent no terminal over the console socket")
	}
	if err != nil {
		return nil, fmt.Errorf("receiving the terminal: recvmsg: %w", err)
	}
	var fds []int
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for _, m := range msgs {
			if r, err := unix.ParseUnixRights(&m); err == nil {
				fds = append(fds, r...)
			}
		}
	}
	fail := func(err error) (*Pty, error) {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, err
	}
	if n != 1 || len(fds) != 1 || flags&unix.MSG_CTRUNC != 0 {
		return fail(fmt.Errorf("the console socket carried %d bytes and %d fds (flags %#x); want 1 byte and one pty master", n, len(fds), flags))
	}
	if _, err := unix.IoctlGetInt(fds[0], unix.TIOCGPTN); err != nil {
		return fail(fmt.Errorf("the fd received over the console socket is not a pty master: %w", err))
	}
	return &Pty{Master: os.NewFile(uintptr(fds[0]), "/dev/ptmx")}, nil
}

// Index is the pty's number in its devpts instance (TIOCGPTN): N of
// /dev/pts/N as the command, in its own instance, sees it.
func (p *Pty) Index() (int, error) {
	return unix.IoctlGetInt(int(p.Master.Fd()), unix.TIOCGPTN)
}

// CloseSlave closes the parent's copy of the slave.
func (p *Pty) CloseSlave() {
	if p.Slave != nil {
		p.Slave.Close()
		p.Slave = nil
	}
}

// CopySize gives the pty the window size of the terminal on fd
// (TIOCGWINSZ, TIOCSWINSZ); the kernel then sends SIGWINCH to the pty's
// foreground process group (tty_ioctl(4)).
func (p *Pty) CopySize(fd int) error {
	ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
	if err != nil {
		return err
	}
	return unix.IoctlSetWinsize(int(p.Master.Fd()), unix.TIOCSWINSZ, ws)
}

// Raw is a terminal put in raw mode, and what it was before.
type Raw struct {
	fd    int
	saved unix.Termios
	once  sync.Once
}

// MakeRaw puts the terminal on fd in raw mode, as cfmakeraw(3) does: no
// echo, no line editing, no signals from keys, no output processing. The
// caller must Restore it, on every path.
func MakeRaw(fd int) (*Raw, error) {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	r := &Raw{fd: fd, saved: *t}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		return nil, err
	}
	return r, nil
}

// Restore gives the terminal back the mode it had; only the first call
// acts. TCSETSW waits for output written so far to be sent first.
func (r *Raw) Restore() error {
	var err error
	r.once.Do(func() { err = unix.IoctlSetTermios(r.fd, unix.TCSETSW, &r.saved) })
	return err
}

// Copier moves bytes between the caller's terminal and the master.
type Copier struct {
	out chan struct{}
}

// Copy starts copying in (the caller's terminal) to the master and the
// master to out. The output copy ends when the master reads EIO, which it
// does once every process holding the slave has closed it; the input copy
// ends with the process.
func (p *Pty) Copy(in io.Reader, out io.Writer) *Copier {
	c := &Copier{out: make(chan struct{})}
	go func() {
		io.Copy(p.Master, in)
	}()
	go func() {
		defer close(c.out)
		buf := make([]byte, 32<<10)
		for {
			n, err := p.Master.Read(buf)
			if n > 0 {
				if _, werr := out.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return // EIO: the slave is closed everywhere
			}
		}
	}()
	return c
}

// Drain waits, at most d, until the command's output has all been copied.
// A process the command left behind can hold the slave open for ever;
// then what it writes later is lost.
func (c *Copier) Drain(d time.Duration) bool {
	select {
	case <-c.out:
		return true
	case <-time.After(d):
		return false
	}
}

// ErrNotTerminal is the error for a terminal asked for without one.
var ErrNotTerminal = errors.New("stdin is not a terminal")
