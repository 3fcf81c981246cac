package clone

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/kernel"
)

// MountKind says what a Mount makes.
type MountKind uint8

const (
	// MountFS mounts a new instance of the filesystem Type (tmpfs, proc,
	// devpts, mqueue, sysfs, overlay, ...) on Target: fsopen(2),
	// fsconfig(2) with each of Data's options, fsmount(2), move_mount(2).
	MountFS MountKind = iota
	// MountBind bind-mounts the host path Source on Target: open_tree(2)
	// with OPEN_TREE_CLONE (and AT_RECURSIVE with MS_REC), then
	// move_mount(2). MS_RDONLY, MS_NOSUID, MS_NODEV and MS_NOEXEC in Flags
	// are set with mount_setattr(2), on every mount of the tree with MS_REC:
	// a read-only bind is read-only all the way down, which mount(2)'s
	// MS_REMOUNT cannot do in one call.
	MountBind
	// MountSymlink creates Target as a symbolic link to Source.
	MountSymlink
	// MountDir creates the directory Target (and its parents), Mode
	// 0755 unless Mode says otherwise.
	MountDir
)

func (k MountKind) String() string {
	switch k {
	case MountFS:
		return "fs"
	case MountBind:
		return "bind"
	case MountSymlink:
		return "symlink"
	case MountDir:
		return "dir"
	}
	return fmt.Sprintf("MountKind(%d)", uint8(k))
}

// Mount is one entry of the mount list, made in the child in list order
// after the root is in place and before pivot_root. It is what an OCI
// config.json "mounts" entry maps onto one to one: destination is Target,
// type Type, source Source, and the options split into Flags (the MS_*
// flags, "bind"/"rbind" into Kind MountBind with or without MS_REC) and
// Data (the filesystem's own options, as mount(2)'s data string).
//
// Target is a path inside the new root (or inside / without Spec.Root). It
// is resolved in the child, at the moment of its mount, with openat2(2)
// RESOLVE_IN_ROOT: a symlink on the way, or "..", stays inside the root, as
// the command would see the path, never on the host. A missing mount point
// is created: a directory, or an empty file when a bind's Source is not a
// directory.
type Mount struct {
	Kind MountKind
	// Source: for MountBind the host path bound; for MountFS the name the
	// mount table shows (default: Type); for MountSymlink the link's target.
	Source string
	Target string
	// Type is the filesystem type of a MountFS.
	Type string
	// Flags are MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_NOATIME,
	// MS_NODIRATIME, MS_RELATIME, MS_STRICTATIME and, for a bind, MS_REC.
	Flags uintptr
	// Data are the filesystem's options, comma-separated: KEY=VALUE, or a
	// bare KEY for a flag option (fsconfig(2) FSCONFIG_SET_STRING and
	// FSCONFIG_SET_FLAG). Not for binds.
	Data string
	// Mode of a created directory (MountDir, missing mount points): 0755 if 0.
	Mode uint32
	// sourceIsDir is set by Spec.Validate for a bind whose Source is a
	// directory; a bind of anything else gets an empty file as mount point.
	sourceIsDir bool
}

// mountFlagsAllowed are the Flags a Mount may carry; mountAttrOf maps them.
const mountFlagsAllowed = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC |
	unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_STRICTATIME | unix.MS_REC

// mountAttrOf turns MS_* flags into the MOUNT_ATTR_* of fsmount(2) and
// mount_setattr(2).
func mountAttrOf(flags uintptr) uint64 {
	var a uint64
	if flags&unix.MS_RDONLY != 0 {
		a |= unix.MOUNT_ATTR_RDONLY
	}
	if flags&unix.MS_NOSUID != 0 {
		a |= unix.MOUNT_ATTR_NOSUID
	}
	if flags&unix.MS_NODEV != 0 {
		a |= unix.MOUNT_ATTR_NODEV
	}
	if flags&unix.MS_NOEXEC != 0 {
		a |= unix.MOUNT_ATTR_NOEXEC
	}
	if flags&unix.MS_NODIRATIME != 0 {
		a |= unix.MOUNT_ATTR_NODIRATIME
	}
	switch {
	case flags&unix.MS_NOATIME != 0:
		a |= unix.MOUNT_ATTR_NOATIME
	case flags&unix.MS_STRICTATIME != 0:
		a |= unix.MOUNT_ATTR_STRICTATIME
	}
	return a
}

// MaxMounts bounds Spec.Mounts: an OCI config from docker or Kubernetes
// has 20-40 mounts, masked and read-only paths and devices besides. Each
// bind takes a slot of the child's table (numSlots), and the steps they
// all compile into are bounded by the table (maxSteps), which Start checks.
const MaxMounts = 1024

// String describes the mount in one line, for errors.
func (m *Mount) String() string {
	switch m.Kind {
	case MountBind:
		ro := ""
		if m.Flags&unix.MS_RDONLY != 0 {
			ro = "read-only "
		}
		return fmt.Sprintf("%sbind of %s on %s", ro, m.Source, m.Target)
	case MountSymlink:
		return fmt.Sprintf("symlink %s -> %s", m.Target, m.Source)
	case MountDir:
		return "directory " + m.Target
	}
	return fmt.Sprintf("%s on %s", m.Type, m.Target)
}

// validateMounts checks the root-filesystem fields of a Spec. It looks at
// the host only to learn whether each bind source is a directory (which
// mount point to create), and whether Root is a directory.
func (s *Spec) validateMounts() error {
	if s.Root == "" && len(s.Mounts) == 0 && !s.ReadOnlyRoot && !s.Overlay && s.OverlayDir == "" {
		return nil
	}
	if s.Namespaces&NewMount == 0 && s.joined()&NewMount == 0 {
		return errors.New("a root filesystem or mounts need a new mount namespace (or a joined one), or they would land on the host")
	}
	if s.Propagation == PropagationShared || s.Propagation == PropagationUnchanged {
		// A shared / would carry every mount of the list to the host, and
		// pivot_root(2) refuses a shared new root or parent (EINVAL).
		return fmt.Errorf("mounts with propagation %s would reach the host; use private or slave", s.Propagation)
	}
	if !kernelAtLeast(5, 12) {
		// Read-only (and nosuid, nodev, noexec) binds and / are set with
		// mount_setattr(2), whose AT_RECURSIVE reaches every submount in
		// one call; mount(2)'s remount reaches one mount. Refused up
		// front rather than half-made.
		if s.ReadOnlyRoot {
			return errors.New("a read-only / needs mount_setattr(2), Linux 5.12 or later; this kernel is older")
		}
		for i := range s.Mounts {
			if m := &s.Mounts[i]; m.Kind == MountBind && mountAttrOf(m.Flags) != 0 {
				return fmt.Errorf("mount %s: a bind with flags (read-only, nosuid, nodev, noexec) needs mount_setattr(2), Linux 5.12 or later; this kernel is older", m.Target)
			}
		}
	}
	if s.Root != "" {
		if !path.IsAbs(s.Root) {
			return fmt.Errorf("root %q is not an absolute path", s.Root)
		}
		if err := noNUL("root", s.Root); err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Stat(s.Root, &st); err != nil {
			return fmt.Errorf("root %s: %w", s.Root, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return fmt.Errorf("root %s: not a directory", s.Root)
		}
		if s.MountProc {
			return errors.New("MountProc mounts the host's /proc, which pivot_root detaches; give a proc Mount on /proc instead")
		}
	}
	if (s.Overlay || s.OverlayDir != "") && s.Root == "" {
		return errors.New("an overlay goes over the root filesystem; give Root")
	}
	if s.Overlay && s.OverlayDir == "" && !kernelAtLeast(6, 5) {
		// overlaySteps relies on overlayfs resolving each layer when
		// fsconfig(2) passes it; before 6.5 it resolved them all at
		// FSCONFIG_CMD_CREATE, when the lower directory is covered.
		return errors.New("an overlay on a tmpfs needs Linux 6.5 or later; keep the upper layer on disk with OverlayDir")
	}
	if s.OverlayDir != "" {
		if !path.IsAbs(s.OverlayDir) || strings.ContainsAny(s.OverlayDir, ",:\x00") {
			return fmt.Errorf("overlay directory %q: give an absolute path without ',', ':' or NUL", s.OverlayDir)
		}
	}
	if (s.Overlay || s.OverlayDir != "") && strings.ContainsAny(s.Root, ",:") {
		return fmt.Errorf("root %q: overlayfs cannot take a lower directory whose path holds ',' or ':'", s.Root)
	}
	if len(s.Mounts) > MaxMounts {
		return fmt.Errorf("%d mounts; at most %d", len(s.Mounts), MaxMounts)
	}
	for i := range s.Mounts {
		m := &s.Mounts[i]
		if err := m.validate(); err != nil {
			return fmt.Errorf("mount %d (%s): %w", i, m, err)
		}
	}
	return nil
}

func (m *Mount) validate() error {
	for _, f := range []struct{ what, v string }{{"target", m.Target}, {"source", m.Source}, {"type", m.Type}, {"data", m.Data}} {
		if strings.IndexByte(f.v, 0) >= 0 {
			return fmt.Errorf("%s %q contains a NUL byte", f.what, f.v)
		}
	}
	if !path.IsAbs(m.Target) {
		return fmt.Errorf("target %q: give an absolute path inside the root", m.Target)
	}
	if path.Clean(m.Target) == "/" && m.Kind != MountFS && m.Kind != MountBind {
		return errors.New("target is the root itself")
	}
	if m.Flags&^uintptr(mountFlagsAllowed) != 0 {
		return fmt.Errorf("flags %#x: only MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, the atime flags and MS_REC are allowed", m.Flags&^uintptr(mountFlagsAllowed))
	}
	if m.Mode&^0o7777 != 0 {
		return fmt.Errorf("mode %#o: give permission bits only", m.Mode)
	}
	switch m.Kind {
	case MountFS:
		if m.Type == "" {
			return errors.New("no filesystem type")
		}
		if m.Flags&unix.MS_REC != 0 {
			return errors.New("MS_REC means nothing for a new filesystem")
		}
	case MountBind:
		if m.Data != "" {
			return errors.New("a bind takes no filesystem options")
		}
		if !path.IsAbs(m.Source) {
			return fmt.Errorf("source %q: give an absolute host path", m.Source)
		}
		var st unix.Stat_t
		if err := unix.Stat(m.Source, &st); err != nil {
			return fmt.Errorf("source %s: %w", m.Source, err)
		}
		m.sourceIsDir = st.Mode&unix.S_IFMT == unix.S_IFDIR
	case MountSymlink:
		if m.Source == "" {
			return errors.New("a symlink needs a target (Source)")
		}
	case MountDir:
	default:
		return fmt.Errorf("unknown kind %d", uint8(m.Kind))
	}
	return nil
}

// kernelAtLeast reports whether the running kernel is major.minor or
// later (internal/kernel).
var kernelAtLeast = kernel.AtLeast
