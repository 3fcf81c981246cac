//go:build linux && (amd64 || arm64)

package clone

import (
	"fmt"
	"path"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The mount phase, compiled. The parent turns Spec.Root, Spec.Mounts,
// Spec.ReadOnlyRoot and Spec.Dir into the steps of segMount
// (steps_unsafe.go), which the child makes in order (runSteps, called from
// childMain). In the order the child makes them:
//
//  1. Every mount, detached, before anything is attached, in this order:
//     the root's tree (open_tree(2) OPEN_TREE_CLONE|AT_RECURSIVE of Root,
//     without Overlay), then each Mount of the list that is a bind (a
//     detached copy of the host's tree at its source) or a new filesystem
//     (fsopen/fsconfig/fsmount; not one the caller made, Mount.FD), in
//     the list's order. No mount of the list
//     changes what a source means; and mountinfo lists the mounts in the
//     order the kernel made them (since Linux 6.8), the list's.
//  2. The root. Without Overlay: the root's tree moved onto Root, which
//     makes Root a mount point, as pivot_root(2) requires of new_root
//     (what mount(Root, Root, MS_BIND|MS_REC) does). With Overlay: an
//     overlayfs whose lowerdir is Root, mounted on Root (see
//     overlaySteps), made here, so listed after the list's mounts. Then an
//     O_PATH fd of Root (slot root): every later path inside the root is
//     resolved from it. Without Root, the fd is of / and the mounts land
//     on the host's tree as this mount namespace sees it.
//  3. Each Mount: the mount point made when missing (mkdirat, or an empty
//     file by openat2 O_CREAT|O_EXCL), the detached mount of step 1 (a
//     mask's or a read-only path's made here), its target opened with openat2(2)
//     RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS from the root fd (or the fd
//     of the file just created), and the mount attached there with
//     move_mount(2) from fd to fd. A target that is, or crosses, a
//     symlink therefore resolves inside the root, as the command will see
//     it, never on the host; so does "..". The mount lands on the fd that
//     was resolved: no path is looked up again between check and use.
//  4. fchdir(root), pivot_root(".", "."), umount2(".", MNT_DETACH),
//     chdir("/"): the sequence of pivot_root(2)'s NOTES, which needs no
//     put_old directory in the root. Old root detached, no host path is
//     reachable any more (chroot(2) would leave the host's tree one
//     chroot-escape away for a process with CAP_SYS_CHROOT).
//  5. ReadOnlyRoot: mount_setattr(2) MOUNT_ATTR_RDONLY on "/", after the
//     mounts, so that their mount points could still be created.
//  6. Dir, with a Root: openat2 RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS and
//     fchdir, so that a --chdir /proc/self/fd/N cannot step onto an fd
//     the process still holds from the host.
//
// The fds of the steps live in slots (childData.slot). Every fd is opened
// O_CLOEXEC and none is closed here: execve(2) closes them all at once,
// which saves a close(2) per fd (a third of the steps), and a failing
// child exits. Nothing after the mount phase depends on their numbers:
// the stdio step's dup3(2) replaces whatever fd it lands on.

// inRoot is how every path inside the root is opened: never through a
// symlink or ".." out of it, never through a /proc magic link.
const inRoot = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// openInRoot opens rel (relative to the root, "" for the root itself)
// O_PATH into slot n.
func (b *stepBuilder) openInRoot(rel string, dir bool, n uint16) {
	if rel == "" {
		rel = "."
	}
	if n == slotAt {
		// A directory still in slotAt from the step before needs no second
		// lookup (the links of --dev, one after another); any mount
		// attached since could cover it, and attach forgets it.
		if dir && b.atDir == rel {
			return
		}
		b.atDir = ""
		if dir {
			b.atDir = rel
		}
	}
	fl := uint64(unix.O_PATH | unix.O_CLOEXEC)
	if dir {
		fl |= unix.O_DIRECTORY
	}
	b.saveTo(b.sys("openat2", unix.SYS_OPENAT2, slot(slotRoot), b.str(rel), b.how(unix.OpenHow{Flags: fl, Resolve: inRoot}), val(unix.SizeofOpenHow)), n)
}

// mkdirInRoot creates the directory rel (one component below an existing
// one) inside the root; one that is there already will do.
func (b *stepBuilder) mkdirInRoot(rel string, mode uint32) {
	dir, base := path.Split(rel)
	dir = strings.TrimSuffix(dir, "/")
	at := uint16(slotRoot)
	if dir != "" {
		b.openInRoot(dir, true, slotAt)
		at = slotAt
	}
	b.sys("mkdirat", unix.SYS_MKDIRAT, slot(at), b.str(base), val(uintptr(mode))).allow(unix.EEXIST, 0)
}

// fileInRoot creates rel as an empty file (a mount point for a file bind)
// unless something is there. O_EXCL: an existing file, device or fifo is
// never opened, and a final symlink is not followed.
func (b *stepBuilder) fileInRoot(rel string) {
	st := b.sys("openat2 O_CREAT", unix.SYS_OPENAT2, slot(slotRoot), b.str(rel),
		b.how(unix.OpenHow{Flags: unix.O_CREAT | unix.O_EXCL | unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOCTTY, Mode: 0o644, Resolve: inRoot}),
		val(unix.SizeofOpenHow))
	st.allow(unix.EEXIST, 0)
	b.saveTo(st, slotAt)
	b.atDir, b.created = "", rel
}

// mountSteps emits segMount; ex answers what exists in the root now (nil:
// nothing, for the counting pass).
func (b *stepBuilder) mountSteps(spec *Spec, ex *existence) {
	b.serving("", -1, StageMount)
	overlay := spec.Overlay || spec.OverlayDir != ""
	// Every mount of the list is taken first, detached, in the list's
	// order, before anything is attached: the root's tree and each bind's
	// source by open_tree(2) OPEN_TREE_CLONE, each new filesystem by
	// fsopen/fsconfig/fsmount(2). A source is a path of the host's tree as
	// rawns sees it, which a mount of the list must not change (a --dev
	// over the host's /dev without a root would hide the /dev/null it
	// binds); a detached copy is out of reach of later mounts. And the
	// kernel numbers a mount when it makes it (mnt_id_unique), and lists a
	// namespace's mounts in /proc/PID/mountinfo by that number since
	// Linux 6.8 (the namespace's mounts are an rbtree ordered by it): made
	// in the list's order, they are listed in it, as runc and crun list
	// theirs (runtime-tools' mounts test compares the order). Before 6.8
	// the list is the order of attaching, the same order.
	mntSlot := spec.mountSlots()
	masks := -1 // the first mask's index
	devBind := spec.devicesBound()
	if spec.Root != "" && !overlay {
		b.saveTo(b.sysd("open_tree", spec.Root, unix.SYS_OPEN_TREE, val(atFDCWD), b.str(spec.Root), val(unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)), slotRootTree)
	}
	for i := range spec.Mounts {
		m := &spec.Mounts[i]
		switch {
		case m.Kind == MountBind:
			if spec.sharedEarly(m) {
				break // cloned in segJoin (sharedBindSteps)
			}
			b.serving("Mounts", i, StageMount)
			b.openTree(m, mntSlot[i])
		case m.Kind == MountDevice && devBind:
			b.serving("Mounts", i, StageMount)
			b.saveTo(b.sysd("open_tree", m.deviceSource(), unix.SYS_OPEN_TREE, val(atFDCWD), b.str(m.deviceSource()), val(unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)), mntSlot[i])
		case m.Kind == MountFS && m.FD == 0:
			b.serving("Mounts", i, StageMount)
			b.fsMount(m, mntSlot[i])
		case m.Kind == MountMask && masks < 0:
			masks = i
		}
	}
	if masks >= 0 {
		b.serving("Mounts", masks, StageMount) // the first mask names a failure
		b.maskSources(spec)
	}
	b.serving("", -1, StageMount)
	hostRoot := "/"
	if spec.Root != "" {
		hostRoot = spec.Root
		if overlay {
			b.overlaySteps(spec)
		} else {
			// The root's tree onto the root: what mount --rbind ROOT ROOT
			// does, which makes ROOT a mount point, as pivot_root(2)
			// requires of new_root.
			r := b.str(spec.Root)
			b.sysd("move_mount", spec.Root, unix.SYS_MOVE_MOUNT, slot(slotRootTree), b.str(""), val(atFDCWD), r, val(unix.MOVE_MOUNT_F_EMPTY_PATH))
			if spec.HostMountNS {
				// In the caller's namespace the tree joined the peer
				// group of what it was cloned from, if that is shared:
				// private before anything is mounted below it.
				b.sys("mount MS_PRIVATE", unix.SYS_MOUNT, b.str("none"), r, val(0), val(unix.MS_REC|unix.MS_PRIVATE), val(0), val(0))
			}
		}
	}
	b.saveTo(b.sys("open", unix.SYS_OPENAT, val(atFDCWD), b.str(hostRoot), val(unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC)), slotRoot)

	var covered []string // targets mounted so far, relative to the root
	for i := range spec.Mounts {
		m := &spec.Mounts[i]
		b.serving("Mounts", i, StageMount)
		rel := strings.TrimPrefix(path.Clean(m.Target), "/")
		if m.Kind != MountMask && m.Kind != MountReadOnly { // a missing one is skipped, not made
			b.mountPoint(m, rel, ex, covered, devBind)
		}
		switch m.Kind {
		case MountFS, MountBind:
			mnt := slot(mntSlot[i])
			if m.FD != 0 {
				mnt = val(uintptr(m.FD)) // made by the caller (Mount.FD)
			}
			b.attach(rel, mnt)
			b.mountAttrs(m, mnt)
			covered = append(covered, rel)
		case MountMask:
			b.maskSteps(rel)
			covered = append(covered, rel)
		case MountReadOnly:
			b.readOnlySteps(rel)
		case MountDevice:
			if devBind {
				b.attach(rel, slot(mntSlot[i]))
			} else {
				b.deviceSteps(m, rel)
			}
		case MountSymlink:
			dir, base := path.Split(rel)
			dir = strings.TrimSuffix(dir, "/")
			at := uint16(slotRoot)
			if dir != "" {
				b.openInRoot(dir, true, slotAt)
				at = slotAt
			}
			b.sys("symlinkat", unix.SYS_SYMLINKAT, b.str(m.Source), slot(at), b.str(base))
		}
	}

	if spec.Root != "" {
		b.serving("", -1, StagePivot)
		b.sys("fchdir", unix.SYS_FCHDIR, slot(slotRoot))
		dot := b.str(".")
		if spec.HostMountNS {
			b.sys("chroot", unix.SYS_CHROOT, dot)
		} else {
			b.sys("pivot_root", unix.SYS_PIVOT_ROOT, dot, dot)
			b.sys("umount2 the old root", unix.SYS_UMOUNT2, dot, val(unix.MNT_DETACH))
		}
		b.sys("chdir", unix.SYS_CHDIR, b.str("/"))
	}
	if spec.RootPropagation != 0 {
		b.serving("", -1, StageRootPropagation)
		fl := uintptr(0)
		if spec.RootPropagation&unix.MS_REC != 0 {
			fl = unix.AT_RECURSIVE
		}
		b.sys("mount_setattr propagation", unix.SYS_MOUNT_SETATTR, val(atFDCWD), b.str("/"), val(fl),
			b.attr(unix.MountAttr{Propagation: uint64(spec.RootPropagation &^ unix.MS_REC)}), val(unsafe.Sizeof(unix.MountAttr{})))
	}
	if spec.ReadOnlyRoot {
		b.serving("", -1, StageReadOnlyRoot)
		b.sys("mount_setattr", unix.SYS_MOUNT_SETATTR, val(atFDCWD), b.str("/"), val(0),
			b.attr(unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}), val(unsafe.Sizeof(unix.MountAttr{})))
	}
	if spec.Root != "" && spec.Dir != "" {
		b.serving("", -1, StageChdir)
		b.openInRoot(strings.TrimPrefix(path.Clean("/"+spec.Dir), "/"), true, slotAt)
		b.sys("fchdir", unix.SYS_FCHDIR, slot(slotAt))
	}
}

// mountPoint creates what is missing of rel: its parent directories and
// the mount point itself (a directory, or an empty file for a bind of a
// file). The parent looks first: a component that exists in the root now,
// and is under no mount of the list, needs no step; one that the list
// covers cannot be seen from here, so the child makes it, EEXIST allowed.
func (b *stepBuilder) mountPoint(m *Mount, rel string, ex *existence, covered []string, devBind bool) {
	// Each prefix of rel that ends a component: rel[:end], no allocation.
	for end := 0; end < len(rel); {
		next := strings.IndexByte(rel[end+1:], '/')
		last := next < 0
		if last {
			end = len(rel)
		} else {
			end += 1 + next
		}
		if last && m.Kind == MountSymlink {
			break // the link itself is made by symlinkat
		}
		p := rel[:end]
		if !underAny(p, covered) && ex.exists(p) {
			continue // a non-directory where one is needed fails the child's openat2: ENOTDIR
		}
		if last && m.Kind == MountDevice && !devBind {
			break // the node itself is made by mknodat
		}
		switch {
		case last && (m.Kind == MountBind && !m.sourceIsDir || m.Kind == MountDevice):
			b.fileInRoot(p)
		case last && m.Kind == MountDir && m.Mode != 0:
			b.mkdirInRoot(p, m.Mode)
		default:
			b.mkdirInRoot(p, 0o755)
		}
	}
}

// underAny reports whether p lies strictly below one of the mounted
// targets (a mount point itself exists).
func underAny(p string, covered []string) bool {
	for _, c := range covered {
		if c == "" || strings.HasPrefix(p, c+"/") {
			return true
		}
	}
	return false
}

// fsMount makes a new filesystem, detached, into slot mnt.
func (b *stepBuilder) fsMount(m *Mount, mnt uint16) {
	b.saveTo(b.sysd("fsopen", m.Type, unix.SYS_FSOPEN, b.str(m.Type), val(unix.FSOPEN_CLOEXEC)), slotFS)
	src := m.Source
	if src == "" {
		src = m.Type
	}
	b.sysd("fsconfig source", src, unix.SYS_FSCONFIG, slot(slotFS), val(unix.FSCONFIG_SET_STRING), b.str("source"), b.str(src), val(0))
	b.fsOptions(slotFS, m.Data)
	b.sys("fsconfig create", unix.SYS_FSCONFIG, slot(slotFS), val(unix.FSCONFIG_CMD_CREATE), val(0), val(0), val(0))
	b.saveTo(b.sys("fsmount", unix.SYS_FSMOUNT, slot(slotFS), val(unix.FSMOUNT_CLOEXEC), val(uintptr(mountAttrOf(m.Flags)))), mnt)
}

// mountAttrs sets what can be set only on the attached mount mnt (a slot,
// or the caller's Mount.FD): its propagation (mount_setattr(2); a
// detached mount has no peers to propagate to).
func (b *stepBuilder) mountAttrs(m *Mount, mnt stepArg) {
	if m.Propagation == 0 {
		return
	}
	fl := uintptr(unix.AT_EMPTY_PATH)
	if m.Propagation&unix.MS_REC != 0 {
		fl |= unix.AT_RECURSIVE
	}
	b.sys("mount_setattr propagation", unix.SYS_MOUNT_SETATTR, mnt, b.str(""), val(fl),
		b.attr(unix.MountAttr{Propagation: uint64(m.Propagation &^ unix.MS_REC)}), val(unsafe.Sizeof(unix.MountAttr{})))
}

// maskSources takes what masks hide a file with, before anything is
// mounted: an O_PATH fd of the host's /dev/null, which Validate checked to
// be the character device 1:3 (never the root's own /dev/null, which may
// be a symlink to a host or procfs file: CVE-2025-31133). It is looked up
// in the child's fresh copy of the host's tree, so the mount it names is
// one of the child's own mount namespace: before Linux 6.15, open_tree(2)
// OPEN_TREE_CLONE refuses (EINVAL) a mount of any other namespace,
// including a detached one, so each mask clones from this fd, never from a
// detached clone.
//
// In a joined mount namespace (OCI's linux.namespaces mount path) the
// /dev/null there is not the one Validate checked, and may be another
// container's: it is taken with no symlink followed on the way and, from
// /dev, with no mount crossed (RESOLVE_NO_XDEV), so that neither a symlink
// to a host or procfs file (CVE-2025-31133) nor a bind mount over
// /dev/null can stand in for it; what remains is a node on /dev's own
// filesystem, which the devices cgroup governs as any other.
func (b *stepBuilder) maskSources(spec *Spec) {
	if spec.joined()&NewMount != 0 {
		const noLinks = unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS
		b.saveTo(b.sys("openat2 /dev", unix.SYS_OPENAT2, val(atFDCWD), b.str("/dev"),
			b.how(unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: noLinks}), val(unix.SizeofOpenHow)), slotDevNull)
		b.saveTo(b.sys("openat2 /dev/null", unix.SYS_OPENAT2, slot(slotDevNull), b.str("null"),
			b.how(unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: noLinks | unix.RESOLVE_NO_XDEV}), val(unix.SizeofOpenHow)), slotDevNull)
		return
	}
	b.saveTo(b.sys("open /dev/null", unix.SYS_OPENAT, val(atFDCWD), b.str("/dev/null"), val(unix.O_PATH|unix.O_CLOEXEC), val(0)), slotDevNull)
}

// maskSteps hides rel: a directory under a read-only empty tmpfs of its
// own (a detached tmpfs cannot be cloned before Linux 6.15, see
// maskSources), a file (or device, fifo, socket) under a clone of the
// host's /dev/null; a missing path is skipped, as runc and crun skip it.
//
//	0 openat2(root, rel, O_PATH|O_DIRECTORY)  ENOENT: done; ENOTDIR: to 5
//	1 fsopen(tmpfs)
//	2 fsconfig(create)
//	3 fsmount(read-only)
//	4 move_mount onto 0's fd                  then done
//	5 openat2(root, rel, O_PATH)              ENOENT: done
//	6 open_tree(/dev/null, CLONE)
//	7 move_mount onto 5's fd
func (b *stepBuilder) maskSteps(rel string) {
	e := b.str("")
	clone := val(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC | unix.AT_EMPTY_PATH)
	move := val(unix.MOVE_MOUNT_F_EMPTY_PATH | unix.MOVE_MOUNT_T_EMPTY_PATH)
	dir := b.sys("openat2 O_DIRECTORY", unix.SYS_OPENAT2, slot(slotRoot), b.str(rel),
		b.how(unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: inRoot}), val(unix.SizeofOpenHow))
	b.saveTo(dir, slotAt)
	dir.allow(unix.ENOENT, 7)
	dir.allow(unix.ENOTDIR, 4)
	b.saveTo(b.sys("fsopen tmpfs", unix.SYS_FSOPEN, b.str("tmpfs"), val(unix.FSOPEN_CLOEXEC)), slotFS)
	b.sys("fsconfig create", unix.SYS_FSCONFIG, slot(slotFS), val(unix.FSCONFIG_CMD_CREATE), val(0), val(0), val(0))
	b.saveTo(b.sys("fsmount read-only", unix.SYS_FSMOUNT, slot(slotFS), val(unix.FSMOUNT_CLOEXEC),
		val(unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)), slotMnt)
	b.sys("move_mount", unix.SYS_MOVE_MOUNT, slot(slotMnt), e, slot(slotAt), e, move).skipOK = 3
	file := b.sys("openat2", unix.SYS_OPENAT2, slot(slotRoot), b.str(rel),
		b.how(unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: inRoot}), val(unix.SizeofOpenHow))
	b.saveTo(file, slotAt)
	file.allow(unix.ENOENT, 2)
	b.saveTo(b.sys("open_tree /dev/null", unix.SYS_OPEN_TREE, slot(slotDevNull), e, clone), slotMnt)
	b.sys("move_mount", unix.SYS_MOVE_MOUNT, slot(slotMnt), e, slot(slotAt), e, move)
	b.atDir, b.created = "", ""
}

// readOnlySteps rebinds rel onto itself read-only, every mount below it
// too; a missing path is skipped.
func (b *stepBuilder) readOnlySteps(rel string) {
	e := b.str("")
	at := b.sys("openat2", unix.SYS_OPENAT2, slot(slotRoot), b.str(rel),
		b.how(unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: inRoot}), val(unix.SizeofOpenHow))
	b.saveTo(at, slotAt)
	at.allow(unix.ENOENT, 3)
	b.saveTo(b.sys("open_tree", unix.SYS_OPEN_TREE, slot(slotAt), e, val(unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH|unix.AT_RECURSIVE)), slotMnt)
	b.sys("mount_setattr read-only", unix.SYS_MOUNT_SETATTR, slot(slotMnt), e, val(unix.AT_EMPTY_PATH|unix.AT_RECURSIVE),
		b.attr(unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}), val(unsafe.Sizeof(unix.MountAttr{})))
	b.sys("move_mount", unix.SYS_MOVE_MOUNT, slot(slotMnt), e, slot(slotAt), e, val(unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH))
	b.atDir, b.created = "", ""
}

// deviceSteps makes the device node rel (its parents exist: mountPoint):
// with umask 0, so that the node has exactly Mode's permissions, then
// owned by UID and GID. A node already there is left as it is.
//
//	0 umask(0)                         the old mask to slotUmask
//	1 mknodat(dir, base, Mode, Dev)    EEXIST: to 3
//	2 fchownat(dir, base, UID, GID, AT_SYMLINK_NOFOLLOW)
//	3 umask(old)
func (b *stepBuilder) deviceSteps(m *Mount, rel string) {
	dir, base := path.Split(rel)
	dir = strings.TrimSuffix(dir, "/")
	at := uint16(slotRoot)
	if dir != "" {
		b.openInRoot(dir, true, slotAt)
		at = slotAt
	}
	b.saveTo(b.sys("umask", unix.SYS_UMASK, val(0)), slotUmask)
	b.sys("mknodat", unix.SYS_MKNODAT, slot(at), b.str(base), val(uintptr(m.Mode)), val(uintptr(uint32(m.Dev)))).allow(unix.EEXIST, 1)
	b.sys("fchownat", unix.SYS_FCHOWNAT, slot(at), b.str(base), val(uintptr(m.UID)), val(uintptr(m.GID)), val(unix.AT_SYMLINK_NOFOLLOW))
	b.sys("umask", unix.SYS_UMASK, slot(slotUmask))
	b.created = ""
}

// fsOptions passes each of data's comma-separated options to fsconfig(2).
func (b *stepBuilder) fsOptions(fs uint16, data string) {
	for _, o := range strings.Split(data, ",") {
		if o == "" {
			continue
		}
		if k, v, ok := strings.Cut(o, "="); ok {
			b.sysd("fsconfig", o, unix.SYS_FSCONFIG, slot(fs), val(unix.FSCONFIG_SET_STRING), b.str(k), b.str(v), val(0))
		} else {
			b.sysd("fsconfig", o, unix.SYS_FSCONFIG, slot(fs), val(unix.FSCONFIG_SET_FLAG), b.str(k), val(0), val(0))
		}
	}
}

// openTree takes a detached copy of the bind's source into slot n, with
// its flags set.
func (b *stepBuilder) openTree(m *Mount, n uint16) {
	fl := uintptr(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	setFl := uintptr(unix.AT_EMPTY_PATH)
	if m.Flags&unix.MS_REC != 0 {
		fl |= unix.AT_RECURSIVE
		setFl |= unix.AT_RECURSIVE
	}
	b.saveTo(b.sysd("open_tree", m.Source, unix.SYS_OPEN_TREE, val(atFDCWD), b.str(m.Source), val(fl)), n)
	if attr := setattrOf(m.Flags); attr != (unix.MountAttr{}) {
		b.sys("mount_setattr", unix.SYS_MOUNT_SETATTR, slot(n), b.str(""), val(setFl),
			b.attr(attr), val(unsafe.Sizeof(unix.MountAttr{})))
	}
	if attr := setattrOf(m.TopFlags); attr != (unix.MountAttr{}) {
		b.sys("mount_setattr top", unix.SYS_MOUNT_SETATTR, slot(n), b.str(""), val(unix.AT_EMPTY_PATH),
			b.attr(attr), val(unsafe.Sizeof(unix.MountAttr{})))
	}
}

// mountSlots numbers the detached mounts of step 1: slotBind+n for the
// n-th bind, bound device or new filesystem of the list, in its order (0
// for the others, and for a filesystem the caller made: Mount.FD).
func (s *Spec) mountSlots() []uint16 {
	slots := make([]uint16, len(s.Mounts))
	n := uint16(0)
	devBind := s.devicesBound()
	for i := range s.Mounts {
		if m := &s.Mounts[i]; m.Kind == MountBind || m.Kind == MountFS && m.FD == 0 || m.Kind == MountDevice && devBind {
			slots[i] = slotBind + n
			n++
		}
	}
	return slots
}

// sharedEarly reports whether bind m is cloned before the propagation of
// / changes (sharedBindSteps): m asks for shared propagation in a new
// mount namespace whose root is to be shared (RootPropagation), as
// Kubernetes' Bidirectional mount propagation asks through containerd
// (rootfsPropagation rshared, the volume rbind,rshared). A new mount
// namespace starts with peers of the caller's shared mounts
// (mount_namespaces(7)), and the child makes / a slave of them before
// anything else (childNamespaces); a bind cloned after that is a slave,
// and its own MS_SHARED gives it a peer group of its own, so a mount made
// in the container never reaches the host. Cloned before, while it is
// still a peer of the host's mount, the detached copy joins that peer
// group, and making / a slave does not reach it (it is not in the tree):
// attached in the root, it propagates both ways, as runc's does (runc
// keeps / shared then). Not in a new user namespace: there the copy of
// the caller's mounts has made them slaves already (CL_SHARED_TO_SLAVE).
func (s *Spec) sharedEarly(m *Mount) bool {
	return m.Kind == MountBind && m.Propagation&unix.MS_SHARED != 0 &&
		s.RootPropagation&unix.MS_SHARED != 0 &&
		s.Namespaces&NewMount != 0 && s.joined()&NewMount == 0 &&
		(s.Namespaces|s.joined())&NewUser == 0
}

// sharedBindSteps emits, at the end of segJoin (which the child runs
// before it changes the propagation of /), the detached clones of the
// binds sharedEarly picks, into the slots mountSteps would have used.
func (b *stepBuilder) sharedBindSteps(spec *Spec) {
	slots := spec.mountSlots()
	for i := range spec.Mounts {
		if m := &spec.Mounts[i]; spec.sharedEarly(m) {
			b.serving("Mounts", i, StageMount)
			b.openTree(m, slots[i])
		}
	}
}

// attach opens the target inside the root and moves the detached mount mnt
// (a slot, or the caller's Mount.FD) onto it, fd to fd.
func (b *stepBuilder) attach(rel string, mnt stepArg) {
	if b.created == rel && !b.count {
		// The step before created the mount point and left its fd in
		// slotAt: that fd is the target, and the lookup that follows
		// runs only if the file was there already (EEXIST).
		b.steps[len(b.steps)-1].skipOK = 1
	}
	b.openInRoot(rel, false, slotAt)
	b.created, b.atDir = "", ""
	e := b.str("")
	b.sys("move_mount", unix.SYS_MOVE_MOUNT, mnt, e, slot(slotAt), e, val(unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH))
}

// overlaySteps mounts an overlayfs on Root whose lower layer is Root.
// Without OverlayDir the upper and work directories are on a tmpfs made
// here, mounted on Root itself, under where the overlay will be: overlayfs
// resolves each layer when fsconfig(2) passes it (Linux 6.5+), so the
// lowerdir is taken before the tmpfs covers Root, and upperdir and workdir
// after, through Root, on the tmpfs. The tmpfs needs no directory of its
// own anywhere, and after pivot_root it is reachable only as the overlay's
// upper layer.
func (b *stepBuilder) overlaySteps(spec *Spec) {
	root := b.str(spec.Root)
	e := b.str("")
	b.saveTo(b.sys("fsopen overlay", unix.SYS_FSOPEN, b.str("overlay"), val(unix.FSOPEN_CLOEXEC)), slotOvl)
	b.sys("fsconfig source=overlay", unix.SYS_FSCONFIG, slot(slotOvl), val(unix.FSCONFIG_SET_STRING), b.str("source"), b.str("overlay"), val(0))
	b.sysd("fsconfig lowerdir", spec.Root, unix.SYS_FSCONFIG, slot(slotOvl), val(unix.FSCONFIG_SET_STRING), b.str("lowerdir"), root, val(0))
	dir := spec.OverlayDir
	if dir == "" {
		dir = spec.Root
		b.saveTo(b.sys("fsopen tmpfs", unix.SYS_FSOPEN, b.str("tmpfs"), val(unix.FSOPEN_CLOEXEC)), slotFS)
		b.sys("fsconfig mode=0755", unix.SYS_FSCONFIG, slot(slotFS), val(unix.FSCONFIG_SET_STRING), b.str("mode"), b.str("0755"), val(0))
		b.sys("fsconfig create", unix.SYS_FSCONFIG, slot(slotFS), val(unix.FSCONFIG_CMD_CREATE), val(0), val(0), val(0))
		b.saveTo(b.sys("fsmount", unix.SYS_FSMOUNT, slot(slotFS), val(unix.FSMOUNT_CLOEXEC), val(0)), slotTmp)
		b.sys("move_mount the overlay's tmpfs", unix.SYS_MOVE_MOUNT, slot(slotTmp), e, val(atFDCWD), root, val(unix.MOVE_MOUNT_F_EMPTY_PATH))
		b.sys("mkdirat upper", unix.SYS_MKDIRAT, slot(slotTmp), b.str("upper"), val(0o755))
		b.sys("mkdirat work", unix.SYS_MKDIRAT, slot(slotTmp), b.str("work"), val(0o755))
	}
	b.sysd("fsconfig upperdir", dir+"/upper", unix.SYS_FSCONFIG, slot(slotOvl), val(unix.FSCONFIG_SET_STRING), b.str("upperdir"), b.str(path.Join(dir, "upper")), val(0))
	b.sysd("fsconfig workdir", dir+"/work", unix.SYS_FSCONFIG, slot(slotOvl), val(unix.FSCONFIG_SET_STRING), b.str("workdir"), b.str(path.Join(dir, "work")), val(0))
	b.sys("fsconfig create overlay", unix.SYS_FSCONFIG, slot(slotOvl), val(unix.FSCONFIG_CMD_CREATE), val(0), val(0), val(0))
	b.saveTo(b.sys("fsmount overlay", unix.SYS_FSMOUNT, slot(slotOvl), val(unix.FSMOUNT_CLOEXEC), val(0)), slotMnt)
	b.sys("move_mount the overlay", unix.SYS_MOVE_MOUNT, slot(slotMnt), e, val(atFDCWD), root, val(unix.MOVE_MOUNT_F_EMPTY_PATH))
}

// existence answers, in the parent, whether a path exists inside the root
// before any mount of the list is made, resolving it as the child will
// (RESOLVE_IN_ROOT). It only saves the child steps: whatever it says, the
// child's openat2 of each target is what counts.
type existence struct {
	fd int
}

func newExistence(root string) (*existence, error) {
	if root == "" {
		root = "/"
	}
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("root %s: %w", root, err)
	}
	return &existence{fd: fd}, nil
}

func (e *existence) close() { unix.Close(e.fd) }

func (e *existence) stat(rel string) (uint32, bool) {
	if e == nil {
		return 0, false
	}
	fd, err := unix.Openat2(e.fd, rel, &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: inRoot})
	if err != nil {
		return 0, false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return 0, false
	}
	return st.Mode & unix.S_IFMT, true
}

func (e *existence) exists(rel string) bool { _, ok := e.stat(rel); return ok }

// hasMountPhase reports whether the spec has mounts for segMount.
func (s *Spec) hasMountPhase() bool {
	return s.Root != "" || len(s.Mounts) > 0 || s.ReadOnlyRoot
}

// joinedDirSteps resolves Dir inside the root of a joined mount namespace
// (an exec into a container), when no Root's steps do: openat2(2)
// RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS from "/", which setns(2) made that
// namespace's root, then fchdir. A cwd of /proc/self/fd/N can then never
// step onto an fd the child holds from the host (CVE-2024-21626).
//
// With ChrootFD (an exec into a container without a mount namespace), the
// child first enters that root: fchdir(2) to the fd, chroot("."), and Dir
// is resolved inside it the same way (or "/" is the working directory).
func (b *stepBuilder) joinedDirSteps(spec *Spec) {
	if spec.ChrootFD != 0 {
		b.serving("", -1, StageChdir)
		b.sys("fchdir", unix.SYS_FCHDIR, val(uintptr(spec.ChrootFD)))
		b.sys("chroot", unix.SYS_CHROOT, b.str("."))
		if spec.Dir == "" {
			b.sys("chdir", unix.SYS_CHDIR, b.str("/"))
			return
		}
	}
	if spec.Dir == "" || spec.Root != "" || spec.joined()&NewMount == 0 && spec.ChrootFD == 0 {
		return
	}
	b.serving("", -1, StageChdir)
	b.saveTo(b.sys("open /", unix.SYS_OPENAT, val(atFDCWD), b.str("/"), val(unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC)), slotRoot)
	b.openInRoot(strings.TrimPrefix(path.Clean("/"+spec.Dir), "/"), true, slotAt)
	b.sys("fchdir", unix.SYS_FCHDIR, slot(slotAt))
}
