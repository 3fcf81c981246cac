//go:build linux && (amd64 || arm64)

package clone

//go:generate go run execshim_gen.go

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// The exec shim (Spec.ShimFD) closes CVE-2019-5736 for a runtime whose
// container process is a clone of the runtime itself, as rawns-oci's is.
//
// Until its execve(2) the child is a copy of the caller, so its
// /proc/PID/exe is the caller's binary on the host. Two ways lead from
// there to that binary from inside the container:
//
//   - The kernel resolves the interpreter of a "#!" script (binfmt_script)
//     and of an ELF's PT_INTERP before it replaces the old memory, through
//     the container's /proc: a program "#!/proc/self/exe" makes the
//     caller's binary run inside the container, dumpable again after that
//     execve, and any process there can open its /proc/PID/exe and write
//     to the file once it has exited (runc's hole).
//   - Another process of the container opens /proc/PID/exe of the child
//     itself; the caller being non-dumpable (PR_SET_DUMPABLE 0, which the
//     copy inherits) stops that without CAP_SYS_PTRACE.
//
// The child cannot change its exe link: prctl(PR_SET_MM_EXE_FILE) (and
// PR_SET_MM_MAP's exe_fd) fails with EBUSY while any mapping of the old
// file remains (replace_mm_exe_file, every kernel through 6.18), and the
// child runs the caller's code; it also needs CAP_SYS_RESOURCE, which a
// machine may not grant even to root. So the child execs, instead of the
// program, this shim: 600 bytes of raw system calls
// (testdata/execshim/shim_*.S), which execs the program. From the
// shim's execve on, nothing of the caller is left in the process: its
// memory is gone, and /proc/PID/exe, the binary a "#!/proc/self/exe"
// interpreter resolves to, is the shim, which refuses to run unless its
// argv[0] is its own marker (exit 126), and which lives on a read-only
// file system of its own: opening it for writing is EROFS, whoever holds
// it.
//
// OpenExecShim finds or makes that file, the first of these that works:
//
//   - The shim's file beside the running executable (ShimFileName, which
//     `make build` and `make install` put next to rawns-oci), seen through
//     a read-only bind mount of that one file made for this start and
//     attached nowhere (open_tree(2) OPEN_TREE_CLONE, mount_setattr(2)
//     MOUNT_ATTR_RDONLY, Linux 5.12+), and checked byte for byte against
//     this build's shim. The container can reach the file only through
//     that mount (its /proc/PID/exe), where opening it for writing is
//     EROFS. Four system calls and no new file system: 6-8 µs here,
//     against 30-40 µs for the tmpfs below (BenchmarkExecShim), which
//     every create and exec paid.
//   - A tmpfs instance of its own, never attached anywhere (fsopen(2),
//     fsmount(2)), the shim written into it, then the superblock made
//     read-only (fsconfig FSCONFIG_CMD_RECONFIGURE with "ro", Linux 5.2+):
//     where the file is missing (a binary built with go install alone),
//     stale, or cannot be bound.
//   - Where the caller cannot mount at all (no CAP_SYS_ADMIN: a rootless
//     runtime), a sealed memfd (F_SEAL_WRITE|F_SEAL_GROW|F_SEAL_SHRINK|
//     F_SEAL_SEAL): it can be opened for writing once the shim has exec'd,
//     but never written.
//
// Every way, the shim is a copy of the caller's own, which the container
// could at worst read.
//
// The shim's contract (argv from the parent, prepare):
//
//	argv = ["[rawns]", PIPE, Path, Args...], envp = Env
//
// PIPE is the error pipe's number in decimal, or empty past a gate: the
// child clears its close-on-exec flag (childFDs), the shim sets it again
// (fcntl F_SETFD) and, if execve fails, writes the child's report there
// with the errno and stage 0 (it knows no stage numbers: after the exec
// marker only execve can fail, and the parent reads it as StageExec);
// then it exits 127 (ENOENT, ENOTDIR, ELOOP) or 126, childFail's numbers.
//
// Cost: one more execve of a static 600-byte program per start, and the
// tmpfs (docs/oci.md, "Security", has the figures).

// ShimName is the name the shim's file has, as /proc/PID/exe of the shim
// shows it for the microseconds it runs.
const shimName = "rawns-exec-shim"

// shimMarker is the shim's argv[0]: exactly 8 bytes with its NUL, which
// the shim compares in one load.
var shimMarker = [...]byte{'[', 'r', 'a', 'w', 'n', 's', ']', 0}

// ShimFileName is the name of the exec shim's file beside rawns's
// binaries (bin/ of make build, $(LIBEXECDIR) of make install), which
// OpenExecShim uses first. clone/internal/shimfile writes it.
const ShimFileName = "rawns-exec-shim"

// ExecShim returns a copy of this build's exec shim, the bytes of
// ShimFileName.
func ExecShim() []byte { return append([]byte(nil), execShimELF[:]...) }

// OpenExecShim returns a new close-on-exec fd of the exec shim, read-only,
// for Spec.ShimFD; the caller closes it after Start.
func OpenExecShim() (int, error) {
	// Before 5.12 the bind cannot be made read-only (no mount_setattr):
	// not even tried, its open_tree and the detached mount's teardown
	// would be paid for nothing at every start.
	if kernelAtLeast(5, 12) {
		if exe, err := os.Executable(); err == nil {
			if fd, err := OpenExecShimFile(filepath.Join(filepath.Dir(exe), ShimFileName)); err == nil {
				return fd, nil
			}
		}
	}
	fd, err := shimOnReadOnlyTmpfs()
	if err == nil {
		return fd, nil
	}
	if !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.ENODEV) {
		return -1, err
	}
	return shimInMemfd()
}

// OpenExecShimFile returns a read-only fd of the shim's file name
// through a read-only bind mount of that file alone, attached nowhere:
// the mount goes when the last fd of it (this one, the children's copies,
// the shim's exe link) is closed. The file must be this build's shim
// exactly (make build writes it); anything else is an error, and
// OpenExecShim falls back to a tmpfs.
func OpenExecShimFile(name string) (int, error) {
	tree, err := unix.OpenTree(unix.AT_FDCWD, name, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("the exec shim %s: open_tree: %w", name, err)
	}
	defer unix.Close(tree)
	// On this copy of the mount only: read-only, so that no one can open
	// the file for writing through it; executable even if the directory's
	// file system is mounted noexec (the copy keeps the source's flags).
	attr := unix.MountAttr{
		Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV,
		Attr_clr: unix.MOUNT_ATTR_NOEXEC,
	}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		return -1, fmt.Errorf("the exec shim %s: making its mount read-only: %w", name, err)
	}
	// open_tree's fd is O_PATH, and execveat(2) of an O_PATH fd fails on
	// Linux 5.10 (shimOnReadOnlyTmpfs): a real open of the same mount and
	// file, through the fd's magic link.
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(tree), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("the exec shim %s: opening it: %w", name, err)
	}
	var b [len(execShimELF) + 1]byte
	n, err := unix.Pread(fd, b[:], 0)
	if err != nil || n != len(execShimELF) || [len(execShimELF)]byte(b[:n]) != execShimELF {
		unix.Close(fd)
		if err == nil {
			err = errors.New("not this build's exec shim; make build writes it")
		}
		return -1, fmt.Errorf("the exec shim %s: %w", name, err)
	}
	return fd, nil
}

// shimOnReadOnlyTmpfs writes the shim into a tmpfs of its own, makes the
// tmpfs read-only and returns a read-only fd of the file (not O_PATH:
// execveat(2) of an O_PATH fd fails with ENOENT on Linux 5.10). The mount is
// attached nowhere; it goes when the last fd of it (this one, the
// children's copies, the shim's exe link) is closed.
func shimOnReadOnlyTmpfs() (int, error) {
	fs, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("the exec shim: fsopen tmpfs: %w", err)
	}
	defer unix.Close(fs)
	if err := unix.FsconfigCreate(fs); err != nil {
		return -1, fmt.Errorf("the exec shim: fsconfig create: %w", err)
	}
	mnt, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV)
	if err != nil {
		return -1, fmt.Errorf("the exec shim: fsmount: %w", err)
	}
	defer unix.Close(mnt)
	f, err := unix.Openat(mnt, shimName, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, 0o555)
	if err != nil {
		return -1, fmt.Errorf("the exec shim: creating it: %w", err)
	}
	n, err := unix.Write(f, execShimELF[:])
	unix.Close(f)
	if err == nil && n != len(execShimELF) {
		err = unix.EIO
	}
	if err != nil {
		return -1, fmt.Errorf("the exec shim: writing it: %w", err)
	}
	if err := unix.FsconfigSetFlag(fs, "ro"); err != nil {
		return -1, fmt.Errorf("the exec shim: fsconfig ro: %w", err)
	}
	if err := unix.FsconfigReconfigure(fs); err != nil {
		return -1, fmt.Errorf("the exec shim: making its tmpfs read-only: %w", err)
	}
	fd, err := unix.Openat(mnt, shimName, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("the exec shim: opening it: %w", err)
	}
	return fd, nil
}

// shimInMemfd is OpenExecShim where no tmpfs can be made: a sealed memfd.
func shimInMemfd() (int, error) {
	// MFD_EXEC (Linux 6.3+): executable whatever vm.memfd_noexec says
	// by default; EINVAL before 6.3, where every memfd is.
	fd, err := unix.MemfdCreate(shimName, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) {
		fd, err = unix.MemfdCreate(shimName, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return -1, fmt.Errorf("the exec shim: memfd_create: %w", err)
	}
	n, err := unix.Write(fd, execShimELF[:])
	if err == nil && n != len(execShimELF) {
		err = unix.EIO
	}
	if err == nil {
		_, err = unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_WRITE|unix.F_SEAL_GROW|unix.F_SEAL_SHRINK|unix.F_SEAL_SEAL)
	}
	if err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("the exec shim: sealing its memfd: %w", err)
	}
	return fd, nil
}
