package trace

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/procfs"
)

// nsGetID is NS_GET_ID from linux/nsfs.h (Linux 6.18): _IOR(0xb7, 13, __u64).
// It returns ns_common.ns_id of the namespace an nsfs fd refers to.
const nsGetID = 0x8008b70d

// ErrExited means the process has exited (it is a zombie): its namespaces
// are gone, although /proc still lists it until it is reaped.
var ErrExited = errors.New("the process has exited; its namespaces are gone")

// ReadProcNS returns the namespaces of process pid as userspace sees them:
// the inode of each /proc/PID/ns/KIND and, where the kernel supports the
// NS_GET_ID ioctl, the 64-bit namespace id. A kind the kernel lacks (no
// /proc/PID/ns/time before 5.6) is left zero. The caller must keep pid from
// being reaped (and its pid reused) while this runs, e.g. by holding the
// child before exec.
func ReadProcNS(pid int) ([NumKinds]NSID, error) {
	var out [NumKinds]NSID
	for k := Kind(0); k < NumKinds; k++ {
		id, err := readNS(pid, k)
		if err != nil {
			return out, err
		}
		out[k] = id
	}
	return out, nil
}

func readNS(pid int, k Kind) (NSID, error) {
	path := procfs.Path(pid, "ns/"+k.String())
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			// The process exists but the kernel lacks this kind? Or it has
			// exited: a zombie keeps its /proc entry, and its pid and user
			// links, but its other namespaces went with exit_task_namespaces.
			var buf [1024]byte
			if stat, serr := procfs.ReadFile(procfs.Path(pid, "stat"), buf[:]); serr == nil {
				if st := procfs.State(stat); st == 'Z' || st == 'X' {
					return NSID{}, fmt.Errorf("%s: %w", path, ErrExited)
				}
				return NSID{}, nil
			}
		}
		return NSID{}, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	id, err := ReadNSFD(fd)
	if err != nil {
		return NSID{}, fmt.Errorf("%s: %w", path, err)
	}
	return id, nil
}

// ReadNSFD identifies the namespace of an nsfs fd (an open
// /proc/PID/ns/KIND): a namespace a process is about to join, which
// /proc/PID/ns does not show yet.
func ReadNSFD(fd int) (NSID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return NSID{}, fmt.Errorf("fstat: %w", err)
	}
	id := NSID{Inode: st.Ino}
	// ENOTTY: a kernel without NS_GET_ID. Anything else is a real failure.
	v, err := unix.IoctlGetUint64(fd, nsGetID)
	switch {
	case err == nil:
		id.ID = v
	case errors.Is(err, unix.ENOTTY):
	default:
		return NSID{}, fmt.Errorf("ioctl NS_GET_ID: %w", err)
	}
	return id, nil
}
