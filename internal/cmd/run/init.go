package run

import (
	"golang.org/x/sys/unix"
)

// wrapInInit makes the spec run rawns's own binary as the namespace's
// init, `rawns init -- PATH ARGV...`, which then starts the command as its
// child (package nsinit).
//
// The binary is opened here, before the clone, and exec'd by that fd
// (clone.Spec.ExecFD, execveat(2) with AT_EMPTY_PATH), never by its path:
// in the child's mount namespace the path may lead elsewhere or nowhere
// (after a pivot_root it is gone), and a path into the host's tree is
// what a container must not be handed. /proc/self/exe names the running
// binary itself, even when its file was replaced or deleted since. The fd
// is O_PATH (nothing can be read or written through it) and close-on-exec,
// so it is gone once init runs. The init process still shows the binary
// as /proc/1/exe to whatever shares its PID namespace, as any running
// program does (the lesson of CVE-2019-5736 for a container with its own
// root is to copy the binary into a sealed memfd first; docs/cli.md).
//
// It returns a function that closes the fd, for after the start.
func wrapInInit(cfg *config) (func(), error) {
	fd, err := unix.Open("/proc/self/exe", unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if fd < 3 {
		// 0, 1 and 2 are replaced by the child's stdio before the exec.
		high, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
		unix.Close(fd)
		if err != nil {
			return nil, err
		}
		fd = high
	}
	s := &cfg.spec
	s.Args = append([]string{"rawns-init", "init", "--", s.Path}, s.Args...)
	s.Path, s.ExecFD = "/proc/self/exe", fd
	return func() { unix.Close(fd) }, nil
}
