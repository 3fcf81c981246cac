package clone

import (
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// Held is the child while Spec.Hold runs: cloned, in its new namespaces,
// not yet reaped (so its pid names it and no other process), and waiting
// before any step of its own.
type Held struct {
	// Pid is the child's pid in the caller's PID namespace.
	Pid int
	// PidFD is its pidfd, or -1 where the kernel gave none (before
	// Linux 5.2). It belongs to the Process Start returns: valid during
	// Hold, not to be closed there.
	PidFD int
}

// pidfdGetNamespace is the ioctl of linux/pidfd.h (Linux 6.11+,
// PIDFS_IOCTL_MAGIC 0xFF) that opens a process's namespace of one kind
// through its pidfd: _IO(0xFF, n). A switch, not a map: nothing to build
// at start-up.
func pidfdGetNamespace(kind Namespaces) uint {
	switch kind {
	case NewCgroup:
		return 0xFF01
	case NewIPC:
		return 0xFF02
	case NewMount:
		return 0xFF03
	case NewNet:
		return 0xFF04
	case NewPID:
		return 0xFF05
	case NewTime:
		return 0xFF07
	case NewUser:
		return 0xFF09
	case NewUTS:
		return 0xFF0A
	}
	return 0
}

// Namespace opens the held child's namespace of one kind, O_RDONLY and
// close-on-exec, an fd for setns(2) or netlink's "in this netns" that the
// caller closes. Through the pidfd where the kernel can
// (PIDFD_GET_<KIND>_NAMESPACE, Linux 6.11+); else /proc/PID/ns/<kind>,
// which names the child for sure, since a child is not reaped while held
// and its pid cannot be reused, and the pidfd is then asked whether the
// process still lives (pidfd_send_signal(2) with signal 0), so that a
// child already dead is an error rather than a namespace of nothing.
func (h Held) Namespace(kind Namespaces) (int, error) {
	name := ""
	for _, k := range Kinds {
		if k.Flag == kind {
			name = k.Name
		}
	}
	if name == "" {
		return -1, fmt.Errorf("Held.Namespace: %v is not one namespace kind", kind)
	}
	if h.PidFD >= 0 {
		// The kernel opens it O_CLOEXEC (open_namespace).
		fd, err := unix.IoctlRetInt(h.PidFD, pidfdGetNamespace(kind))
		if err == nil {
			return fd, nil
		}
		if err != unix.ENOTTY && err != unix.EINVAL {
			return -1, fmt.Errorf("the held child's %s namespace (pidfd ioctl): %w", name, err)
		}
	}
	fd, err := unix.Open("/proc/"+strconv.Itoa(h.Pid)+"/ns/"+name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("the held child's %s namespace: %w", name, err)
	}
	if h.PidFD >= 0 {
		if err := unix.PidfdSendSignal(h.PidFD, 0, nil, 0); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("the held child's %s namespace: the child is gone: %w", name, err)
		}
	}
	return fd, nil
}
