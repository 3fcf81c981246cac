//go:build linux && (amd64 || arm64)

package clone

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Spec.ConsoleSocket: the command's terminal comes from the devpts
// instance the command itself sees, as an OCI runtime's does with
// process.terminal and runc's --console-socket. The child opens it, after
// the mount phase and before stdio (childMain), and hands the master to
// the parent over a Unix socket (childConsole):
//
//  1. openat(AT_FDCWD, "/dev/ptmx", O_RDWR|O_NOCTTY|O_CLOEXEC): after the
//     mount phase, so that /dev/ptmx is the one of the command's root (with
//     rawns run's --dev, a link to pts/ptmx of a devpts mounted with
//     newinstance: a pty opened there is numbered, listed and owned in that
//     instance alone, and the host's /dev/pts gets no entry, devpts.rst in
//     the kernel's Documentation/filesystems). O_NOCTTY: the child is not
//     yet a session leader, and the terminal is made its controlling one
//     only in the privilege phase, on fd 0.
//  2. ioctl(master, TIOCSPTLCK, &0), unlockpt(3): a new pty is locked.
//  3. ioctl(master, TIOCSWINSZ, &ConsoleSize), when one is given: before
//     the command runs, so that its first TIOCGWINSZ sees the size, and no
//     SIGWINCH is needed (a new pty's is 0x0).
//  4. ioctl(master, TIOCGPTPEER, O_RDWR|O_NOCTTY|O_CLOEXEC) opens the slave
//     through the master (Linux 4.13+), so it is the slave of that very
//     instance, whatever path /dev/pts/N would resolve to; no path, no
//     ptsname(3) to format in the child. Before 4.13 the ioctl fails
//     (ENOTTY or EINVAL) and so does the start, with StageConsolePeer:
//     rawns refuses rather than guess a path.
//  5. sendmsg(socket, {one byte, SCM_RIGHTS master}, MSG_NOSIGNAL)
//     (unix(7)): the message, its iovec and its control buffer are all
//     prepared here; the child writes only the master's number, a scalar,
//     into the control message. MSG_NOSIGNAL: a parent that closed its end
//     makes it EPIPE, reported, rather than a SIGPIPE that kills the child
//     without a word.
//  6. close the master and the socket: the parent holds the only master
//     (so it reads EIO once the command and its children have all closed
//     the slave), and nothing of the socket reaches the command, or PID 1
//     of Spec.Init, which never execs.
//  7. the slave goes on consoleFD, a number the parent reserved above
//     every fd it knows of (the kernel gave it the lowest free one), and
//     segFDs dup3s it onto 0, 1 and 2 (fdsteps.go); the privilege
//     phase's setsid and TIOCSCTTY on fd 0 (Spec.Validate requires them)
//     make it the controlling terminal.
type consoleData struct {
	sock    uintptr // the child's end of the console socket
	unlock  int32   // 0, the argument TIOCSPTLCK points to
	setSize bool
	size    unix.Winsize // Spec.ConsoleSize
	msg     unix.Msghdr  // points at iov and cmsg below
	iov     unix.Iovec   // one byte: buf
	cmsg    consoleCmsg
	buf     [1]byte
}

// consoleCmsg is one SCM_RIGHTS control message with one fd, padded to
// CMSG_SPACE(sizeof(int)) (cmsg(3)): the header is 16 bytes on amd64 and
// arm64, the data needs no more alignment.
type consoleCmsg struct {
	hdr unix.Cmsghdr
	fd  int32 // the master, written by the child
	_   [4]byte
}

// childConsole makes the console: the steps above, each its own stage.
// Every fd here is close-on-exec; the master and the socket are closed at
// once, so that neither reaches the command nor stays in PID 1 of
// Spec.Init, which never execs.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childConsole(d *childData) syscall.Errno {
	var (
		c             *consoleData
		master, slave uintptr
		errno         syscall.Errno
	)
	c = d.console
	d.x.report.stage = uint32(StageConsoleOpen)
	master, _, errno = rawSyscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(&strDevPtmx[0])), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0, 0, 0)
	if errno != 0 {
		return errno
	}
	d.x.report.stage = uint32(StageConsoleUnlock)
	_, _, errno = rawSyscall(unix.SYS_IOCTL, master, unix.TIOCSPTLCK, uintptr(unsafe.Pointer(&c.unlock)))
	if errno == 0 && c.setSize {
		d.x.report.stage = uint32(StageConsoleSize)
		_, _, errno = rawSyscall(unix.SYS_IOCTL, master, unix.TIOCSWINSZ, uintptr(unsafe.Pointer(&c.size)))
	}
	if errno == 0 {
		d.x.report.stage = uint32(StageConsolePeer)
		slave, _, errno = rawSyscall(unix.SYS_IOCTL, master, unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	}
	if errno == 0 {
		d.x.report.stage = uint32(StageConsoleSend)
		c.cmsg.fd = int32(master)
		_, _, errno = rawSyscall(unix.SYS_SENDMSG, c.sock, uintptr(unsafe.Pointer(&c.msg)), unix.MSG_NOSIGNAL)
	}
	rawSyscall(unix.SYS_CLOSE, master, 0, 0)
	rawSyscall(unix.SYS_CLOSE, c.sock, 0, 0)
	if errno != 0 || slave == d.consoleFD {
		return errno
	}
	d.x.report.stage = uint32(StageConsolePeer)
	_, _, errno = rawSyscall(unix.SYS_DUP3, slave, d.consoleFD, unix.O_CLOEXEC)
	rawSyscall(unix.SYS_CLOSE, slave, 0, 0)
	return errno
}

// strDevPtmx is the path the child opens the console at, in the root it
// has after the mount phase.
var strDevPtmx = [...]byte{'/', 'd', 'e', 'v', '/', 'p', 't', 'm', 'x', 0}

// prepareConsole builds the child's console step for spec.ConsoleSocket.
func prepareConsole(spec *Spec) *consoleData {
	c := &consoleData{sock: uintptr(spec.ConsoleSocket)}
	if spec.ConsoleSize != (Winsize{}) {
		c.setSize = true
		c.size = unix.Winsize{Row: spec.ConsoleSize.Rows, Col: spec.ConsoleSize.Cols}
	}
	c.buf[0] = 'c'
	c.iov.Base = &c.buf[0]
	c.iov.SetLen(len(c.buf))
	c.cmsg.hdr.Level = unix.SOL_SOCKET
	c.cmsg.hdr.Type = unix.SCM_RIGHTS
	c.cmsg.hdr.SetLen(unix.CmsgLen(4))
	c.msg.Iov = &c.iov
	c.msg.SetIovlen(1)
	c.msg.Control = (*byte)(unsafe.Pointer(&c.cmsg))
	c.msg.SetControllen(unix.CmsgSpace(4))
	return c
}
