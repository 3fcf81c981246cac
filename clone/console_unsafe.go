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
//  7. with Spec.ConsoleMount, the slave is bound over /dev/console of
//     the root (consoleMount), before the master is sent: the
//     runtime-spec's process.terminal. What is at dev/console in the root
//     is the image's, which may be a symlink to a file bound in from the
//     host or to a procfs file (CVE-2025-52565: runc mounted the pty
//     over the link's target, and wrote it): the child opens the path
//     with openat2(2) RESOLVE_NO_SYMLINKS and O_PATH|O_NOFOLLOW, which
//     gives the link itself if the last component is one (and fails
//     ELOOP if /dev is), checks on that fd that it is a regular file or
//     a character device, and mounts onto the fd (move_mount(2)
//     MOVE_MOUNT_T_EMPTY_PATH), so that nothing can be swapped between
//     the check and the mount. Anything else there is refused (ELOOP for
//     a symlink, EEXIST for the rest). If nothing is there, it makes an
//     empty file to mount on (O_CREAT|O_EXCL, which never follows a
//     link), in /dev opened the same way. The mount is a clone of the
//     slave's own file (open_tree(2) OPEN_TREE_CLONE on its fd), of the
//     devpts instance the container sees.
//  8. the slave goes on consoleFD, a number the parent reserved above
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

	// Spec.ConsoleMount (consoleMount): the openat2 arguments, and the
	// child's scratch for fstat(2).
	mount     bool
	howTarget unix.OpenHow // O_PATH|O_NOFOLLOW, RESOLVE_NO_SYMLINKS
	howDir    unix.OpenHow // O_PATH|O_DIRECTORY, RESOLVE_NO_SYMLINKS
	st        unix.Stat_t
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
	if errno == 0 && c.mount {
		errno = consoleMount(d, c, slave)
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

// consoleMount binds the slave over /dev/console of the root, never
// through a symlink (step 7 above). It leaves no fd behind.
//
//go:nosplit
//go:norace
//go:nocheckptr
func consoleMount(d *childData, c *consoleData, slave uintptr) syscall.Errno {
	var (
		dir, target, tree uintptr
		errno             syscall.Errno
	)
	d.x.report.stage = uint32(StageConsoleMount)
	target, _, errno = rawSyscall6(unix.SYS_OPENAT2, atFDCWD, uintptr(unsafe.Pointer(&strDevConsole[0])), uintptr(unsafe.Pointer(&c.howTarget)), unsafe.Sizeof(c.howTarget), 0, 0)
	if errno == unix.ENOENT {
		dir, _, errno = rawSyscall6(unix.SYS_OPENAT2, atFDCWD, uintptr(unsafe.Pointer(&strDev[0])), uintptr(unsafe.Pointer(&c.howDir)), unsafe.Sizeof(c.howDir), 0, 0)
		if errno != 0 {
			return errno
		}
		target, _, errno = rawSyscall6(unix.SYS_OPENAT, dir, uintptr(unsafe.Pointer(&strConsole[0])), unix.O_CREAT|unix.O_EXCL|unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600, 0, 0)
		if errno == 0 {
			rawSyscall(unix.SYS_CLOSE, target, 0, 0)
			target, _, errno = rawSyscall6(unix.SYS_OPENAT, dir, uintptr(unsafe.Pointer(&strConsole[0])), unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0, 0, 0)
		}
		rawSyscall(unix.SYS_CLOSE, dir, 0, 0)
	}
	if errno != 0 {
		return errno
	}
	_, _, errno = rawSyscall(unix.SYS_FSTAT, target, uintptr(unsafe.Pointer(&c.st)), 0)
	if errno == 0 {
		switch c.st.Mode & unix.S_IFMT {
		case unix.S_IFREG, unix.S_IFCHR:
		case unix.S_IFLNK:
			errno = unix.ELOOP
		default:
			errno = unix.EEXIST
		}
	}
	if errno == 0 {
		tree, _, errno = rawSyscall(unix.SYS_OPEN_TREE, slave, uintptr(unsafe.Pointer(&strEmpty[0])), unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
		if errno == 0 {
			_, _, errno = rawSyscall6(unix.SYS_MOVE_MOUNT, tree, uintptr(unsafe.Pointer(&strEmpty[0])), target, uintptr(unsafe.Pointer(&strEmpty[0])), unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH, 0)
			rawSyscall(unix.SYS_CLOSE, tree, 0, 0)
		}
	}
	rawSyscall(unix.SYS_CLOSE, target, 0, 0)
	return errno
}

// The paths of consoleMount, absolute: from the root the child has after
// the mount phase.
var (
	strDevConsole = [...]byte{'/', 'd', 'e', 'v', '/', 'c', 'o', 'n', 's', 'o', 'l', 'e', 0}
	strDev        = [...]byte{'/', 'd', 'e', 'v', 0}
	strConsole    = [...]byte{'c', 'o', 'n', 's', 'o', 'l', 'e', 0}
)

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
	if spec.ConsoleMount {
		c.mount = true
		c.howTarget = unix.OpenHow{Flags: unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC, Resolve: unix.RESOLVE_NO_SYMLINKS}
		c.howDir = unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_NO_SYMLINKS}
	}
	return c
}
