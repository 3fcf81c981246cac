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
	// MountMask hides Target (OCI's linux.maskedPaths): a directory under
	// a read-only, empty tmpfs, anything else under a bind of the host's
	// /dev/null, taken before anything is mounted and checked by Validate
	// to be the null device, never the root's own /dev/null, which may
	// be a symlink (CVE-2025-31133). A missing Target is skipped.
	MountMask
	// MountReadOnly rebinds Target onto itself read-only, every mount
	// below it too (OCI's linux.readonlyPaths). A missing Target is
	// skipped.
	MountReadOnly
	// MountDevice creates the device node Target (OCI's linux.devices):
	// mknodat(2) with Mode (a file type, S_IFCHR, S_IFBLK or S_IFIFO, and
	// the permission bits, exactly: umask 0) and Dev, then fchownat(2) to
	// UID and GID. A node already there is left as it is. In a user
	// namespace, created or joined, where mknod is refused, it binds the
	// host's node Source (default: Target, checked by Validate to be that
	// device) instead, on an empty file.
	MountDevice
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
	case MountMask:
		return "mask"
	case MountReadOnly:
		return "read-only"
	case MountDevice:
		return "device"
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
	// Mode of a created directory (MountDir, missing mount points): 0755
	// if 0; of a MountDevice, its file type and permissions.
	Mode uint32
	// Dev is a MountDevice's device number (unix.Mkdev(major, minor)).
	Dev uint64
	// UID and GID own a MountDevice's node.
	UID, GID uint32
	// TopFlags are MS_* attributes for the top mount of a recursive bind
	// only (OCI's "ro", "nosuid", ... on an "rbind", which runc sets by
	// one remount of the top mount); Flags reach every mount of a
	// recursive bind's tree (OCI's "rro", "rnosuid", ...; rawns run's
	// --ro-bind).
	TopFlags uintptr
	// Propagation, if not 0, is MS_SHARED, MS_SLAVE, MS_PRIVATE or
	// MS_UNBINDABLE, with MS_REC for the whole tree, set on a MountFS or
	// MountBind once attached (mount_setattr(2)): OCI's "shared",
	// "rslave", ... options.
	Propagation uintptr
	// FD, if not 0, is a MountFS the caller made already, detached: an
	// fd of 3 or more from fsmount(2) (or open_tree(2) OPEN_TREE_CLONE),
	// its attributes set. The child attaches it on Target as it would
	// the filesystem it makes itself (the mount point made when missing,
	// a directory; Propagation set once attached); Type, Source, Data and
	// Flags then only name it in errors. What a child cannot do, raw
	// system calls on prepared memory, the caller does before the clone:
	// rawns-oci's tmpcopyup fills a tmpfs with a copy of the root's
	// directory this way (rootfs.CopyUp). The fd is the caller's to close
	// after Start; the child's copy is close-on-exec.
	FD int
	// sourceIsDir is set by Spec.Validate for a bind whose Source is a
	// directory; a bind of anything else gets an empty file as mount point.
	sourceIsDir bool
}

// mountFlagsAllowed are the Flags a Mount may carry; mountAttrOf maps them.
const mountFlagsAllowed = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC |
	unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_STRICTATIME | unix.MS_REC

// MountAttrs is the MOUNT_ATTR_* set of fsmount(2) for a MountFS's Flags,
// as the child passes it: for a caller that makes the filesystem itself
// (Mount.FD).
func MountAttrs(flags uintptr) uint64 { return mountAttrOf(flags) }

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

// setattrOf is mount_setattr(2)'s argument for MS_* flags on a bind. The
// atime mode is one value, not a flag: to set one (relatime, noatime,
// strictatime), attr_clr must hold all of MOUNT_ATTR__ATIME, or the
// kernel answers EINVAL.
func setattrOf(flags uintptr) unix.MountAttr {
	a := unix.MountAttr{Attr_set: mountAttrOf(flags)}
	if flags&(unix.MS_NOATIME|unix.MS_STRICTATIME|unix.MS_RELATIME) != 0 {
		a.Attr_clr = unix.MOUNT_ATTR__ATIME
	}
	return a
}

// MaxMounts bounds Spec.Mounts: an OCI config from docker or Kubernetes
// has 20-40 mounts, masked and read-only paths and devices besides. Each
// bind and new filesystem takes a slot of the child's table (numSlots), and the steps they
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
	case MountMask:
		return "masked path " + m.Target
	case MountReadOnly:
		return "read-only path " + m.Target
	case MountDevice:
		return "device " + m.Target
	}
	return fmt.Sprintf("%s on %s", m.Type, m.Target)
}

// validateMounts checks the root-filesystem fields of a Spec. It looks at
// the host only to learn whether each bind source is a directory (which
// mount point to create), and whether Root is a directory.
func (s *Spec) validateMounts() error {
	if s.RootPropagation != 0 && s.Root == "" {
		return errors.New("RootPropagation is set on the root after pivot_root; give Root")
	}
	if s.HostMountNS {
		switch {
		case (s.Namespaces|s.joined())&NewMount != 0:
			return errors.New("HostMountNS is for a spec without a mount namespace; this one creates or joins one")
		case s.Root == "":
			return errors.New("HostMountNS makes the mounts below Root, never on the caller's own tree; give Root")
		case s.Overlay || s.OverlayDir != "":
			return errors.New("an overlay root needs a mount namespace; HostMountNS takes a plain Root")
		}
	}
	if s.ChrootFD < 0 || s.ChrootFD != 0 && (s.Root != "" || (s.Namespaces|s.joined())&NewMount != 0 || s.HostMountNS) {
		return errors.New("ChrootFD enters a root in the caller's mount namespace; give an open fd, and no Root, HostMountNS or mount namespace")
	}
	if s.Root == "" && len(s.Mounts) == 0 && !s.ReadOnlyRoot && !s.Overlay && s.OverlayDir == "" {
		return nil
	}
	if s.Namespaces&NewMount == 0 && s.joined()&NewMount == 0 && !s.HostMountNS {
		return errors.New("a root filesystem or mounts need a new mount namespace (or a joined one, or HostMountNS), or they would land on the host")
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
		if s.RootPropagation != 0 {
			return errors.New("RootPropagation needs mount_setattr(2), Linux 5.12 or later; this kernel is older")
		}
		for i := range s.Mounts {
			m := &s.Mounts[i]
			if m.Kind == MountBind && setattrOf(m.Flags|m.TopFlags) != (unix.MountAttr{}) || m.Propagation != 0 || m.Kind == MountReadOnly {
				return fmt.Errorf("%s: read-only, nosuid, nodev, noexec and propagation are set with mount_setattr(2), Linux 5.12 or later; this kernel is older", m)
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
		if !path.IsAbs(s.OverlayDir) || !OverlayCanTake(s.OverlayDir) || strings.IndexByte(s.OverlayDir, 0) >= 0 {
			return fmt.Errorf("overlay directory %q: give an absolute path without ',', ':' or NUL", s.OverlayDir)
		}
	}
	if (s.Overlay || s.OverlayDir != "") && !OverlayCanTake(s.Root) {
		return fmt.Errorf("root %q: overlayfs cannot take a lower directory whose path holds ',' or ':'", s.Root)
	}
	if len(s.Mounts) > MaxMounts {
		return fmt.Errorf("%d mounts; at most %d", len(s.Mounts), MaxMounts)
	}
	if err := validPropagation(s.RootPropagation); err != nil {
		return fmt.Errorf("RootPropagation: %w", err)
	}
	devBind := s.devicesBound()
	for i := range s.Mounts {
		m := &s.Mounts[i]
		if err := m.validate(devBind); err != nil {
			return fmt.Errorf("mount %d (%s): %w", i, m, err)
		}
	}
	return nil
}

// devicesBound reports whether MountDevice entries bind the host's nodes:
// in a user namespace, created or joined, mknod(2) of a device is refused.
func (s *Spec) devicesBound() bool {
	return (s.Namespaces|s.joined())&NewUser != 0
}

// deviceSource is the host node a MountDevice binds in a user namespace.
func (m *Mount) deviceSource() string {
	if m.Source != "" {
		return m.Source
	}
	return m.Target
}

// validPropagation checks a propagation setting: 0, or one of MS_SHARED,
// MS_SLAVE, MS_PRIVATE, MS_UNBINDABLE, with MS_REC or not.
func validPropagation(p uintptr) error {
	switch p &^ unix.MS_REC {
	case 0:
		if p != 0 {
			return errors.New("MS_REC alone is no propagation; add MS_SHARED, MS_SLAVE, MS_PRIVATE or MS_UNBINDABLE")
		}
	case unix.MS_SHARED, unix.MS_SLAVE, unix.MS_PRIVATE, unix.MS_UNBINDABLE:
	default:
		return fmt.Errorf("propagation %#x: give one of MS_SHARED, MS_SLAVE, MS_PRIVATE, MS_UNBINDABLE, with MS_REC or not", p)
	}
	return nil
}

// nullDevice is the null device's number, 1:3 (Documentation/admin-guide/devices.txt).
var nullDevice = unix.Mkdev(1, 3)

// checkHostDevNull checks that the host's /dev/null, which masks bind, is
// the null device.
func checkHostDevNull() error {
	var st unix.Stat_t
	if err := unix.Stat("/dev/null", &st); err != nil {
		return fmt.Errorf("the host's /dev/null, which masks bind: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != nullDevice {
		return fmt.Errorf("the host's /dev/null is not the null device (character device 1:3); masks bind it")
	}
	return nil
}

func (m *Mount) validate(devBind bool) error {
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
	for _, f := range []uintptr{m.Flags, m.TopFlags} {
		if f&^uintptr(mountFlagsAllowed) != 0 {
			return fmt.Errorf("flags %#x: only MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, the atime flags and MS_REC are allowed", f&^uintptr(mountFlagsAllowed))
		}
	}
	if m.TopFlags != 0 && (m.Kind != MountBind || m.Flags&unix.MS_REC == 0 || m.TopFlags&unix.MS_REC != 0) {
		return errors.New("TopFlags are for the top mount of a recursive bind (Flags with MS_REC); give them in Flags otherwise")
	}
	if err := validPropagation(m.Propagation); err != nil {
		return err
	}
	if m.Propagation != 0 && m.Kind != MountFS && m.Kind != MountBind {
		return errors.New("propagation is set on a mount: a filesystem or a bind")
	}
	if m.Kind == MountDevice {
		return m.validateDevice(devBind)
	}
	if m.Mode&^0o7777 != 0 {
		return fmt.Errorf("mode %#o: give permission bits only", m.Mode)
	}
	if m.Dev != 0 || m.UID != 0 || m.GID != 0 {
		return errors.New("Dev, UID and GID are a device's")
	}
	if m.FD != 0 {
		if m.Kind != MountFS {
			return errors.New("FD is a filesystem made by the caller; give it with Kind MountFS")
		}
		if m.FD < 3 {
			return fmt.Errorf("FD %d: give a detached mount's fd of 3 or more (fsmount(2)), or 0 for the child to make the filesystem", m.FD)
		}
		if _, err := unix.FcntlInt(uintptr(m.FD), unix.F_GETFD, 0); err != nil {
			return fmt.Errorf("FD %d: %v; give an open fd of a detached mount", m.FD, err)
		}
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
	case MountMask, MountReadOnly:
		if m.Source != "" || m.Type != "" || m.Data != "" || m.Flags != 0 || m.Mode != 0 {
			return fmt.Errorf("a %s takes a Target alone", m.Kind)
		}
		if m.Kind == MountMask {
			return checkHostDevNull()
		}
	default:
		return fmt.Errorf("unknown kind %d", uint8(m.Kind))
	}
	return nil
}

// validateDevice checks a MountDevice: a node type and a number the
// mknodat(2) of the child can pass (major below 4096, minor below 2^20:
// the kernel's 32-bit dev_t encoding), and, where the node is bound from
// the host, that the host's is that very device.
func (m *Mount) validateDevice(devBind bool) error {
	typ := m.Mode & unix.S_IFMT
	switch typ {
	case unix.S_IFCHR, unix.S_IFBLK:
		if unix.Major(m.Dev) >= 1<<12 || unix.Minor(m.Dev) >= 1<<20 {
			return fmt.Errorf("device %d:%d: the major must be below 4096 and the minor below 1048576", unix.Major(m.Dev), unix.Minor(m.Dev))
		}
	case unix.S_IFIFO:
		if m.Dev != 0 {
			return errors.New("a fifo has no device number")
		}
	default:
		return fmt.Errorf("mode %#o: give the node's type, S_IFCHR, S_IFBLK or S_IFIFO, with its permissions", m.Mode)
	}
	if m.Mode&^(unix.S_IFMT|0o7777) != 0 {
		return fmt.Errorf("mode %#o: a type and permission bits only", m.Mode)
	}
	if m.Type != "" || m.Data != "" || m.Flags != 0 {
		return errors.New("a device takes no Type, Data or Flags")
	}
	if !devBind {
		if m.Source != "" {
			return errors.New("Source is the host's node a device binds in a user namespace; this spec has none, and the node is made with mknod")
		}
		return nil
	}
	var st unix.Stat_t
	if err := unix.Stat(m.deviceSource(), &st); err != nil {
		return fmt.Errorf("the host's node %s, bound in a user namespace where mknod is refused: %w", m.deviceSource(), err)
	}
	if st.Mode&unix.S_IFMT != typ || typ != unix.S_IFIFO && st.Rdev != m.Dev {
		return fmt.Errorf("the host's node %s, bound in a user namespace where mknod is refused, is not device %d:%d of that type", m.deviceSource(), unix.Major(m.Dev), unix.Minor(m.Dev))
	}
	return nil
}

// kernelAtLeast reports whether the running kernel is major.minor or
// later (internal/kernel).
var kernelAtLeast = kernel.AtLeast
