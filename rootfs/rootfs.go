// Package rootfs turns a user's wishes for the command's filesystem (a root
// directory, binds, tmpfs, proc, a minimal /dev, mqueue, an overlay) into
// what clone.Spec carries: Root, Mounts in the order given, Overlay and
// ReadOnlyRoot. It is parent-side and plain: it checks what it can before
// the clone (a missing root or bind source, a destination that climbs out
// of the root), each error naming the field at fault in its own terms
// (Error) for the caller to word as its flag or its config path, and
// leaves the mounting itself to the child's prepared steps
// (clone/mountsteps_unsafe.go), which resolve every destination inside the
// new root.
//
// The vocabulary is bubblewrap's; the list maps one to one onto an OCI
// config.json's mounts, which the same clone.Mount expresses.
package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
)

// DevMounts is the number of entries Dev adds to the list, for a caller
// that sizes Mounts beforehand (each growth of the slice would be fresh
// heap pages, page faults in a process that lives a few milliseconds).
const DevMounts = 1 + 6 + 3 + 4 // the tmpfs, the nodes, pts ptmx shm, the links

// Config is a root filesystem and its mounts, built wish by wish in the
// order the user gave them.
type Config struct {
	Root       string // host directory that becomes /, or "" for the host's tree
	ReadOnly   bool
	Overlay    bool
	OverlayDir string
	Mounts     []clone.Mount
	// DevPts says that the command's /dev is a Dev, whose /dev/ptmx is a
	// devpts instance of its own: a terminal for the command must come
	// from there (clone.Spec.ConsoleSocket), not from the host's.
	DevPts bool
}

// Error is a refused wish: the part of the Config it is about, in this
// package's own terms, and why. A caller words the place in its own:
// rawns run as the flag that asked for it (--bind /srv /data), the OCI
// layer as the path in config.json (mounts[3].destination).
type Error struct {
	Field Field
	// Mount is, for FieldSource and FieldTarget, the index in Mounts of
	// the mount at fault: the one the refused call would have added, or
	// one Finish checked.
	Mount int
	Err   error
}

func (e *Error) Error() string {
	switch e.Field {
	case FieldSource, FieldTarget:
		return "Mounts[" + strconv.Itoa(e.Mount) + "]." + e.Field.String() + ": " + e.Err.Error()
	}
	return e.Field.String() + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Field names the part of a Config an Error is about.
type Field int

const (
	FieldRoot       Field = iota + 1 // Root
	FieldOverlay                     // Overlay: an overlay over Root
	FieldOverlayDir                  // OverlayDir
	FieldSource                      // Mounts[Mount].Source
	FieldTarget                      // Mounts[Mount].Target
)

// String is the field's name in Config or clone.Mount.
func (f Field) String() string {
	switch f {
	case FieldRoot:
		return "Root"
	case FieldOverlay:
		return "Overlay"
	case FieldOverlayDir:
		return "OverlayDir"
	case FieldSource:
		return "Source"
	case FieldTarget:
		return "Target"
	}
	return "Config"
}

// The reasons a caller may want to add its own advice to, in its own
// terms (errors.Is finds them in an *Error).
var (
	// ErrRootIsHost: the root asked for is the host's / itself.
	ErrRootIsHost = errors.New("the host's / is already the root")
	// ErrTargetIsRoot: a mount's target is / of the new root.
	ErrTargetIsRoot = errors.New("destination / is the root itself")
	// ErrNotOnHost: without a Root, a mount's target must exist in the
	// host's tree (rawns makes no mount points there).
	ErrNotOnHost = errors.New("does not exist on the host")
	// ErrOverlayNeedsRoot: an overlay goes over a Root.
	ErrOverlayNeedsRoot = errors.New("an overlay goes over the root directory, and there is none")
)

// reason is an error whose text is its own and that errors.Is reads as
// one of the reasons above.
type reason struct {
	msg string
	is  error
}

func (r *reason) Error() string { return r.msg }
func (r *reason) Unwrap() error { return r.is }

func fieldErr(f Field, mount int, format string, a ...any) error {
	return &Error{Field: f, Mount: mount, Err: fmt.Errorf(format, a...)}
}

// SetRoot sets the root directory. It must exist and be a directory; it
// need not be a mount point (the child binds it onto itself).
func (c *Config) SetRoot(dir string) error {
	if dir == "" {
		return fieldErr(FieldRoot, -1, "empty path; give the directory that becomes /")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return &Error{Field: FieldRoot, Mount: -1, Err: err}
	}
	// The user names the directory on the host as they see it: a symlink
	// on the way there is theirs to follow, and it is followed here, once,
	// to the directory itself. The child's steps then name it by a path
	// without links: through a link, the overlay's mount on the root's own
	// path failed (move_mount: EINVAL), and a link to / reached
	// pivot_root as EBUSY. What is inside the root is untrusted, and the
	// child resolves it inside the root.
	if st, err := os.Stat(abs); err != nil {
		return fieldErr(FieldRoot, -1, "%v; give an existing directory", unwrapPath(err))
	} else if !st.IsDir() {
		return fieldErr(FieldRoot, -1, "not a directory; give the directory that becomes /")
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return fieldErr(FieldRoot, -1, "%v", unwrapPath(err))
	}
	if real == "/" {
		if abs != "/" {
			return &Error{Field: FieldRoot, Mount: -1, Err: &reason{"a link to the host's /, which is already the root", ErrRootIsHost}}
		}
		return &Error{Field: FieldRoot, Mount: -1, Err: ErrRootIsHost}
	}
	// A kernel filesystem of files that are not files (statfs(2) f_type):
	// no program runs from there, and a pivot_root into the host's /proc
	// or /sys would hand the command the host's view.
	var sfs unix.Statfs_t
	if unix.Statfs(real, &sfs) == nil {
		if name := kernelFS(sfs.Type); name != "" {
			return fieldErr(FieldRoot, -1, "%s is on %s, a kernel filesystem, not a root filesystem; give a directory that holds one (bin, etc, ...), e.g. from make rootfs", real, name)
		}
	}
	c.Root = real
	return nil
}

// kernelFS names the kernel's pseudo-filesystems a root cannot be on, by
// their magic numbers (linux/magic.h), or "".
func kernelFS(t int64) string {
	switch t {
	case unix.PROC_SUPER_MAGIC:
		return "proc"
	case unix.SYSFS_MAGIC:
		return "sysfs"
	case unix.CGROUP_SUPER_MAGIC, unix.CGROUP2_SUPER_MAGIC:
		return "cgroupfs"
	case unix.DEVPTS_SUPER_MAGIC:
		return "devpts"
	case unix.DEBUGFS_MAGIC, unix.TRACEFS_MAGIC, unix.SECURITYFS_MAGIC, unix.BPF_FS_MAGIC:
		return "a kernel debug or security filesystem"
	}
	return ""
}

// target checks the target of the mount the list is about to get: inside
// the root, absolute, never above / by "..". It returns it cleaned.
func (c *Config) target(d string) (string, error) {
	i := len(c.Mounts)
	if d == "" || d[0] != '/' {
		return "", fieldErr(FieldTarget, i, "destination %q is not an absolute path inside the root", d)
	}
	if strings.IndexByte(d, 0) >= 0 {
		return "", fieldErr(FieldTarget, i, "destination %q contains a NUL byte", d)
	}
	depth := 0
	for _, p := range strings.Split(d, "/") {
		switch p {
		case "", ".":
		case "..":
			if depth--; depth < 0 {
				return "", fieldErr(FieldTarget, i, "destination %s climbs out of the root with ..", d)
			}
		default:
			depth++
		}
	}
	d = path.Clean(d)
	if d == "/" {
		return "", &Error{Field: FieldTarget, Mount: i, Err: ErrTargetIsRoot}
	}
	return d, nil
}

// source checks the host path of the bind the list is about to get and
// returns it absolute.
func (c *Config) source(s string) (string, error) {
	i := len(c.Mounts)
	if s == "" || strings.IndexByte(s, 0) >= 0 {
		return "", fieldErr(FieldSource, i, "source %q: give a host path", s)
	}
	abs, err := filepath.Abs(s)
	if err != nil {
		return "", &Error{Field: FieldSource, Mount: i, Err: err}
	}
	if _, err := os.Stat(abs); err != nil {
		return "", fieldErr(FieldSource, i, "source %v; give an existing file or directory", unwrapPath(err))
	}
	return abs, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %v", pe.Path, pe.Err)
	}
	return err
}

func (c *Config) add(m clone.Mount) {
	c.Mounts = append(c.Mounts, m)
}

// Bind binds the host path src on dst inside the root, recursively (as
// bwrap's --bind and docker's -v do); ro makes it read-only all the way
// down.
func (c *Config) Bind(src, dst string, ro bool) error {
	var err error
	if src, err = c.source(src); err != nil {
		return err
	}
	if dst, err = c.target(dst); err != nil {
		return err
	}
	var fl uintptr = unix.MS_REC
	if ro {
		fl |= unix.MS_RDONLY
	}
	c.add(clone.Mount{Kind: clone.MountBind, Source: src, Target: dst, Flags: fl})
	return nil
}

// Tmpfs mounts a tmpfs on dst, of size bytes (0: the kernel's default,
// half of RAM), whose root directory has mode (permission bits, with
// set-user-ID, set-group-ID and sticky as chmod(2) takes them: 01777 for a
// /tmp); bwrap's --size and --perms.
func (c *Config) Tmpfs(dst string, size uint64, mode uint32) error {
	d, err := c.target(dst)
	if err != nil {
		return err
	}
	if mode > 0o7777 {
		return fieldErr(FieldTarget, len(c.Mounts), "mode %#o: give permission bits, at most 07777", mode)
	}
	m := strconv.FormatUint(uint64(mode), 8)
	data := "mode=" + "000"[:4-min(len(m), 4)] + m
	if size != 0 {
		data += ",size=" + strconv.FormatUint(size, 10)
	}
	c.add(clone.Mount{Kind: clone.MountFS, Type: "tmpfs", Source: "tmpfs", Target: d, Data: data, Flags: unix.MS_NOSUID | unix.MS_NODEV})
	return nil
}

// Proc mounts a fresh proc on dst; the caller checks for a PID namespace.
func (c *Config) Proc(dst string) error {
	d, err := c.target(dst)
	if err != nil {
		return err
	}
	c.add(clone.Mount{Kind: clone.MountFS, Type: "proc", Source: "proc", Target: d, Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC})
	return nil
}

// Mqueue mounts a POSIX message queue filesystem on dst (mq_overview(7)):
// that of the IPC namespace the command is in.
func (c *Config) Mqueue(dst string) error {
	d, err := c.target(dst)
	if err != nil {
		return err
	}
	c.add(clone.Mount{Kind: clone.MountFS, Type: "mqueue", Source: "mqueue", Target: d, Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC})
	return nil
}

// devNodes are bound from the host's /dev: a user namespace may not
// mknod(2) (the kernel refuses device nodes created there), but it may
// bind existing ones.
var devNodes = []string{"null", "zero", "full", "random", "urandom", "tty"}

// Dev makes a minimal /dev on dst, as bubblewrap's --dev does: a tmpfs,
// the host's null, zero, full, random, urandom and tty bound into it, a
// devpts instance of its own on pts (newinstance: the command's ptys are
// not the host's) with ptmx a link into it, a tmpfs on shm, and the
// fd, stdin, stdout and stderr links into /proc/self/fd.
func (c *Config) Dev(dst string) error {
	d, err := c.target(dst)
	if err != nil {
		return err
	}
	c.add(clone.Mount{Kind: clone.MountFS, Type: "tmpfs", Source: "tmpfs", Target: d, Data: "mode=0755", Flags: unix.MS_NOSUID | unix.MS_NODEV})
	c.DevPts = c.DevPts || d == "/dev"
	for _, n := range devNodes {
		src := "/dev/" + n // Spec.Validate says if the host lacks one
		// Not recursive, no mount_setattr: a device node has no submounts,
		// and the bind keeps the host's /dev flags (nosuid).
		c.add(clone.Mount{Kind: clone.MountBind, Source: src, Target: path.Join(d, n)})
	}
	c.add(clone.Mount{Kind: clone.MountFS, Type: "devpts", Source: "devpts", Target: path.Join(d, "pts"),
		Data: "newinstance,ptmxmode=0666,mode=620", Flags: unix.MS_NOSUID | unix.MS_NOEXEC})
	c.add(clone.Mount{Kind: clone.MountFS, Type: "tmpfs", Source: "tmpfs", Target: path.Join(d, "shm"), Data: "mode=1777", Flags: unix.MS_NOSUID | unix.MS_NODEV})
	// The links last, one after another: the child opens their directory
	// once for all of them.
	for _, l := range [...][2]string{{"ptmx", "pts/ptmx"}, {"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}} {
		c.add(clone.Mount{Kind: clone.MountSymlink, Source: l[1], Target: path.Join(d, l[0])})
	}
	return nil
}

// SetOverlay asks for a writable overlay over the root; dir, if set, keeps
// the upper layer there (dir/upper, dir/work, created when missing).
func (c *Config) SetOverlay(dir string) error {
	c.Overlay = true
	if dir == "" {
		return nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return &Error{Field: FieldOverlayDir, Mount: -1, Err: err}
	}
	if !clone.OverlayCanTake(abs) || strings.IndexByte(abs, 0) >= 0 {
		return fieldErr(FieldOverlayDir, -1, "overlayfs cannot take a directory whose path holds ',' or ':'")
	}
	c.OverlayDir = abs
	return nil
}

// Finish checks the whole and writes it into s: the root, the mounts, and
// a mount namespace. Without a root, a destination must exist on the host
// (or lie under an earlier mount of the list): rawns does not create
// mount points in the host's own tree.
func (c *Config) Finish(s *clone.Spec) error {
	if (c.Overlay || c.OverlayDir != "") && c.Root == "" {
		f := FieldOverlay
		if c.OverlayDir != "" {
			f = FieldOverlayDir
		}
		return &Error{Field: f, Mount: -1, Err: ErrOverlayNeedsRoot}
	}
	if c.Overlay && !clone.OverlayCanTake(c.Root) {
		return fieldErr(FieldOverlay, -1, "overlayfs cannot take a lower directory whose path holds ',' or ':' (%s)", c.Root)
	}
	if c.OverlayDir != "" {
		if err := overlayDirs(c.OverlayDir); err != nil {
			return &Error{Field: FieldOverlayDir, Mount: -1, Err: err}
		}
	}
	if c.Root == "" {
		var made []string
		for i, m := range c.Mounts {
			if m.Kind == clone.MountBind || m.Kind == clone.MountFS {
				under := false
				for _, p := range made {
					if strings.HasPrefix(m.Target, p+"/") {
						under = true
					}
				}
				if _, err := os.Lstat(m.Target); err != nil && !under {
					return &Error{Field: FieldTarget, Mount: i, Err: &reason{m.Target + " " + ErrNotOnHost.Error(), ErrNotOnHost}}
				}
				made = append(made, m.Target)
			}
		}
	}
	if c.Root == "" && len(c.Mounts) == 0 && !c.ReadOnly {
		return nil
	}
	s.Namespaces |= clone.NewMount
	s.Root, s.Overlay, s.OverlayDir, s.ReadOnlyRoot = c.Root, c.Overlay, c.OverlayDir, c.ReadOnly
	s.Mounts = c.Mounts
	return nil
}

// overlayDirs makes dir/upper and dir/work, which overlayfs needs on one
// filesystem.
func overlayDirs(dir string) error {
	for _, d := range []string{dir, dir + "/upper", dir + "/work"} {
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return unwrapPath(err)
		}
	}
	return nil
}

// LockOverlayDir takes an exclusive flock(2) on an overlay's upper
// directory (Config.OverlayDir) and returns the fd that holds it, close-on-exec: two
// overlays over one upper directory at once are undefined behaviour
// (overlayfs warns "upperdir is in-use as upperdir/workdir of another
// mount", and refuses only with index=on), so a second run must not start
// on it. The lock lives as long as the fd: the caller holds it for the run
// (rawns run until it exits). A lock on the directory itself adds no file
// to it. The error names the pid that holds the lock, read from
// /proc/locks.
func LockOverlayDir(dir string) (int, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fieldErr(FieldOverlayDir, -1, "%v", unwrapPath(&os.PathError{Op: "open", Path: dir, Err: err}))
	}
	for {
		err = unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if err != unix.EINTR {
			break
		}
	}
	if err == nil {
		return fd, nil
	}
	holder := ""
	if err == unix.EWOULDBLOCK {
		if pid := lockHolder(fd); pid != "" {
			holder = " (pid " + pid + " holds its lock)"
		}
		unix.Close(fd)
		return -1, fieldErr(FieldOverlayDir, -1, "in use by another run%s: two overlays on one upper directory are undefined behaviour; give another directory, or wait for that run to end", holder)
	}
	unix.Close(fd)
	return -1, fieldErr(FieldOverlayDir, -1, "flock: %v", err)
}

// lockHolder finds in /proc/locks the pid of a FLOCK on fd's file
// ("1: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE 0 EOF", proc(5)), or "".
func lockHolder(fd int) string {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return ""
	}
	id := fmt.Sprintf("%02x:%02x:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	b, err := os.ReadFile("/proc/locks")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 6 && f[1] == "FLOCK" && f[5] == id {
			return f[4]
		}
	}
	return ""
}
