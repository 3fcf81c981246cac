package oci

import (
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/cgroup"
	"github.com/rawns/rawns/clone"
)

// mountOption is what one entry of a mount's options does: set or clear
// MS_* flags, make the mount a bind (recursive or not), or nothing
// (the default it names is what rawns does anyway).
type mountOption struct {
	name  string
	set   uintptr
	clear uintptr
	bind  bool // "bind", "rbind"
	// fsFlag: a superblock flag that a new filesystem takes through
	// fsconfig(2) as a flag key ("sync", "dirsync", "mand", "lazytime");
	// a bind cannot change its superblock.
	fsFlag bool
	// rec: a recursive form (rro, rnosuid, ...): on a recursive bind it
	// reaches every mount of the tree (clone.Mount.Flags); the plain form
	// only the bind's top mount (TopFlags), as runc applies it.
	rec bool
	// prop is a propagation (MS_SHARED, MS_SLAVE, MS_PRIVATE,
	// MS_UNBINDABLE, with MS_REC for the r forms).
	prop uintptr
	// why, if set, refuses the option: what rawns lacks.
	why string
	// copyUp: crun's and runc's tmpcopyup (copyUp).
	copyUp bool
}

// mountOptions are the options of mount(8) and of the runtime-spec's
// config.md ("mounts") that rawns knows, as runc's table names them. An
// option not listed is a filesystem option (mode=755, size=64m,
// newinstance, ...), passed to a new filesystem as fsconfig(2) does, and
// refused for a bind.
var mountOptions = [...]mountOption{
	{name: "defaults"},
	{name: "ro", set: unix.MS_RDONLY},
	{name: "rw", clear: unix.MS_RDONLY},
	{name: "nosuid", set: unix.MS_NOSUID},
	{name: "suid", clear: unix.MS_NOSUID},
	{name: "nodev", set: unix.MS_NODEV},
	{name: "dev", clear: unix.MS_NODEV},
	{name: "noexec", set: unix.MS_NOEXEC},
	{name: "exec", clear: unix.MS_NOEXEC},
	{name: "noatime", set: unix.MS_NOATIME, clear: unix.MS_RELATIME | unix.MS_STRICTATIME},
	{name: "atime", clear: unix.MS_NOATIME},
	{name: "nodiratime", set: unix.MS_NODIRATIME},
	{name: "diratime", clear: unix.MS_NODIRATIME},
	{name: "relatime", set: unix.MS_RELATIME, clear: unix.MS_NOATIME | unix.MS_STRICTATIME},
	{name: "norelatime", clear: unix.MS_RELATIME},
	{name: "strictatime", set: unix.MS_STRICTATIME, clear: unix.MS_NOATIME | unix.MS_RELATIME},
	{name: "nostrictatime", clear: unix.MS_STRICTATIME},
	{name: "bind", bind: true},
	{name: "rbind", bind: true, set: unix.MS_REC},
	{name: "sync", fsFlag: true},
	{name: "async"},
	{name: "dirsync", fsFlag: true},
	{name: "mand", fsFlag: true},
	{name: "nomand"},
	{name: "lazytime", fsFlag: true},
	{name: "nolazytime"},
	{name: "loud"},
	// The recursive forms of mount_setattr(2) (runtime-spec 1.1): rawns
	// sets the flags of a recursive bind on every mount of its tree
	// already (clone.MountBind), so rro is ro there; on anything else
	// there is one mount.
	{name: "rro", rec: true, set: unix.MS_RDONLY},
	{name: "rrw", rec: true, clear: unix.MS_RDONLY},
	{name: "rnosuid", rec: true, set: unix.MS_NOSUID},
	{name: "rsuid", rec: true, clear: unix.MS_NOSUID},
	{name: "rnodev", rec: true, set: unix.MS_NODEV},
	{name: "rdev", rec: true, clear: unix.MS_NODEV},
	{name: "rnoexec", rec: true, set: unix.MS_NOEXEC},
	{name: "rexec", rec: true, clear: unix.MS_NOEXEC},
	{name: "rnoatime", rec: true, set: unix.MS_NOATIME, clear: unix.MS_RELATIME | unix.MS_STRICTATIME},
	{name: "ratime", rec: true, clear: unix.MS_NOATIME},
	{name: "rnodiratime", rec: true, set: unix.MS_NODIRATIME},
	{name: "rdiratime", rec: true, clear: unix.MS_NODIRATIME},
	{name: "rrelatime", rec: true, set: unix.MS_RELATIME, clear: unix.MS_NOATIME | unix.MS_STRICTATIME},
	{name: "rnorelatime", rec: true, clear: unix.MS_RELATIME},
	{name: "rstrictatime", rec: true, set: unix.MS_STRICTATIME, clear: unix.MS_NOATIME | unix.MS_RELATIME},
	{name: "rnostrictatime", rec: true, clear: unix.MS_STRICTATIME},
	// Propagation, set on the mount once attached (mount_setattr(2)).
	{name: "private", prop: unix.MS_PRIVATE},
	{name: "rprivate", prop: unix.MS_PRIVATE | unix.MS_REC},
	{name: "shared", prop: unix.MS_SHARED},
	{name: "rshared", prop: unix.MS_SHARED | unix.MS_REC},
	{name: "slave", prop: unix.MS_SLAVE},
	{name: "rslave", prop: unix.MS_SLAVE | unix.MS_REC},
	{name: "unbindable", prop: unix.MS_UNBINDABLE},
	{name: "runbindable", prop: unix.MS_UNBINDABLE | unix.MS_REC},
	{name: "remount", why: "a container's mounts are new; there is nothing to remount"},
	{name: "silent", why: "mount(2)'s MS_SILENT has no counterpart in the new mount API rawns uses"},
	{name: "nosymfollow", why: "MOUNT_ATTR_NOSYMFOLLOW is not passed by rawns's mount steps yet"},
	{name: "rnosymfollow", why: "MOUNT_ATTR_NOSYMFOLLOW is not passed by rawns's mount steps yet"},
	{name: "symfollow"},
	{name: "rsymfollow"},
	{name: "idmap", why: "ID-mapped mounts are not supported"},
	{name: "ridmap", why: "ID-mapped mounts are not supported"},
	{name: "tmpcopyup", copyUp: true},
	{name: "notmpcopyup"}, // crun's: the default, and undoes a tmpcopyup before it
}

// MountOptionNames lists the options rawns takes, for features.
func MountOptionNames() []string {
	var names []string
	for _, o := range mountOptions {
		if o.why == "" {
			names = append(names, o.name)
		}
	}
	return names
}

func findMountOption(name string) *mountOption {
	for i := range mountOptions {
		if mountOptions[i].name == name {
			return &mountOptions[i]
		}
	}
	return nil
}

// mounts maps config.json's mounts, in order, onto clone.Mount: a bind
// (type "bind", or the option bind or rbind) binds the host path source,
// relative paths being the bundle's; any other type is a new filesystem of
// that type. Each destination is resolved inside the root by the child,
// at the moment of its mount (clone.Mount), so a destination that is or
// crosses a symlink stays inside (CVE-2021-30465).
func (c *converter) mounts(ms []specs.Mount) error {
	for i := range ms {
		m := &ms[i]
		p := index("mounts", i)
		if err := c.mount(p, m); err != nil {
			return err
		}
	}
	return nil
}

func (c *converter) mount(p string, m *specs.Mount) error {
	if m.Destination == "" {
		return errorf(p+".destination", "empty; give the path inside the container to mount on")
	}
	if strings.IndexByte(m.Destination, 0) >= 0 {
		return errorf(p+".destination", "contains a NUL byte")
	}
	dst := m.Destination
	if !path.IsAbs(dst) {
		// config.md 1.1: a relative destination is deprecated and
		// relative to "/".
		dst = "/" + dst
	}
	dst = path.Clean(dst)
	if dst == "/" {
		return errorf(p+".destination", "/ is the container's root, which root.path gives; mount on a path below it")
	}
	if len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0 {
		return unsupported(p+".uidMappings", "ID-mapped mounts")
	}
	var flags, top, prop uintptr
	bind := m.Type == "bind"
	var data []string
	copyUp := -1 // the index of tmpcopyup among the options
	for j, o := range m.Options {
		op := index(p+".options", j)
		mo := findMountOption(o)
		switch {
		case mo == nil:
			if o == "" || strings.ContainsAny(o, ",\x00") {
				return errorf(op, "%q is not an option; give one option per entry, without commas", o)
			}
			data = append(data, o)
			continue
		case mo.why != "":
			return unsupported(op, o+": "+mo.why)
		case mo.bind:
			bind = true
		case mo.fsFlag:
			data = append(data, o)
		case mo.prop != 0:
			prop = mo.prop
			continue
		case mo.copyUp:
			copyUp = j
			continue
		case mo.name == "notmpcopyup":
			copyUp = -1
			continue
		}
		if mo.rec || mo.bind {
			flags = flags&^mo.clear | mo.set
		} else {
			top = top&^mo.clear | mo.set
		}
	}
	if bind && copyUp >= 0 {
		return errorf(index(p+".options", copyUp), "tmpcopyup is for a tmpfs, not a bind")
	}
	if bind {
		if flags&unix.MS_REC == 0 {
			// One mount: the plain and recursive forms are the same.
			flags, top = flags|top, 0
		}
		return c.bindMount(p, m, dst, flags, top, prop, data)
	}
	flags |= top
	if flags&unix.MS_REC != 0 {
		return errorf(p+".options", "rbind is for binds; type %q is a new filesystem", m.Type)
	}
	switch m.Type {
	case "":
		return errorf(p+".type", "empty; give a filesystem type (tmpfs, proc, ...), or the option bind or rbind for a bind mount")
	case "cgroup", "cgroup2":
		return c.cgroupMount(p, m, dst, flags|top)
	}
	if copyUp >= 0 {
		if err := c.copyUp(index(p+".options", copyUp), p, m.Type, dst); err != nil {
			return err
		}
	}
	src := m.Source
	if src == "" {
		src = m.Type
	}
	c.spec.Mounts = append(c.spec.Mounts, clone.Mount{
		Kind: clone.MountFS, Type: m.Type, Source: src, Target: dst,
		Flags: flags, Data: strings.Join(data, ","), Propagation: prop,
	})
	c.mountPaths = append(c.mountPaths, p)
	return nil
}

// copyUp checks a tmpcopyup option (op) of the mount p of type typ on
// dst. tmpcopyup (podman sends it for the tmpfs of --read-only on /run,
// /tmp, /var/tmp) asks that the new tmpfs start with a copy of what the
// root holds at dst, so that the mount hides nothing: crun's and runc's
// semantics. rawns's child cannot copy files (raw system calls on memory
// prepared before the clone), so the copy is made by create before the
// clone, into a detached tmpfs that the child attaches in the list's
// order (Plan.CopyUps, MakeCopyUps, rootfs.CopyUp). Where there is
// nothing to copy (dst missing or an empty directory in the root) the
// option changes nothing and the child makes the tmpfs as any other.
//
// The copy is of the root as it is on disk, before any mount of the
// list: refused, naming the other mount, where an earlier entry of
// mounts is on dst, above it or below it (the container would see that
// mount's files there, not the root's); and in a user namespace, where
// the tmpfs would be made in rawns's user namespace, not the
// container's (its uid=, gid= and root owner would be the host's).
func (c *converter) copyUp(op, p, typ, dst string) error {
	if typ != "tmpfs" {
		return errorf(op, "tmpcopyup is for a tmpfs; the type is %q", typ)
	}
	first, err := firstEntryInRoot(c.spec.Root, dst)
	if err != nil {
		return errorf(op, "tmpcopyup: reading %s in the root: %v", dst, err)
	}
	if first == "" {
		return nil // nothing to copy: a plain tmpfs
	}
	if c.spec.Namespaces&clone.NewUser != 0 || c.joining(clone.NewUser) {
		return unsupported(op, "tmpcopyup in a user namespace: "+dst+" in the root holds files ("+path.Join(dst, first)+"), which rawns copies into a tmpfs made in its own user namespace, not the container's")
	}
	for k := range c.spec.Mounts {
		t := c.spec.Mounts[k].Target
		if t == dst || strings.HasPrefix(dst, t+"/") || strings.HasPrefix(t, dst+"/") {
			return unsupported(op, "tmpcopyup: "+c.mountPaths[k]+" mounts "+t+" earlier, so the container's "+dst+" is not what the root holds there, which is what rawns copies; put this mount first, or drop tmpcopyup")
		}
	}
	c.copyUps = append(c.copyUps, CopyUp{Path: op, mount: p})
	return nil
}

// firstEntryInRoot returns the name of one entry of the directory dst,
// resolved inside root (RESOLVE_IN_ROOT: a symlink cannot lead out), ""
// if it has none or is missing or no directory.
func firstEntryInRoot(root, dst string) (string, error) {
	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer unix.Close(rfd)
	fd, err := unix.Openat2(rfd, strings.TrimPrefix(dst, "/"), &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT,
	})
	switch {
	case err == unix.ENOENT || err == unix.ENOTDIR:
		return "", nil
	case err != nil:
		return "", err
	}
	f := os.NewFile(uintptr(fd), dst)
	defer f.Close()
	names, err := f.Readdirnames(1)
	if len(names) == 0 {
		return "", nil // io.EOF: empty
	}
	return names[0], err
}

// bindMount maps a bind: the host's source, relative to the bundle when
// not absolute (config.md), bound on dst; read-only (and nosuid, nodev,
// noexec) apply to every mount of a recursive bind's tree.
func (c *converter) bindMount(p string, m *specs.Mount, dst string, flags, top, prop uintptr, data []string) error {
	// Filesystem options (mode=755, size=1k) mean nothing to a bind:
	// mount(2) ignores its data argument with MS_BIND, and runc and crun
	// pass them there, so configs carry them (runtime-tools' mounts test
	// does). rawns ignores them likewise; a superblock flag (sync,
	// dirsync, mand, lazytime) is still refused, since a bind cannot
	// change the superblock and the config would promise it.
	for _, o := range data {
		if mo := findMountOption(o); mo != nil && mo.fsFlag {
			return errorf(p+".options", "%q: a bind cannot change the filesystem's superblock flags", o)
		}
	}
	src := m.Source
	if src == "" {
		return errorf(p+".source", "empty; a bind needs the host path to bind")
	}
	if !filepath.IsAbs(src) {
		src = filepath.Join(c.bundle, src)
	}
	if _, err := os.Stat(src); err != nil {
		return errorf(p+".source", "%s: %v; give an existing host path", src, unwrapPath(err))
	}
	c.spec.Mounts = append(c.spec.Mounts, clone.Mount{
		Kind: clone.MountBind, Source: src, Target: dst, Flags: flags, TopFlags: top, Propagation: prop,
	})
	c.mountPaths = append(c.mountPaths, p)
	return nil
}

// cgroupMount maps a mount of type cgroup (runc's spec has one on
// /sys/fs/cgroup) or cgroup2. On a pure cgroup v2 host it is a cgroup2
// filesystem. Where cgroup v1 hierarchies are mounted (v1 or hybrid) it is
// what the host shows at /sys/fs/cgroup, made of fresh mounts: a tmpfs,
// each v1 hierarchy mounted with its own controllers in a directory of its
// name, and cgroup2 as "unified". In a cgroup namespace each shows the
// container's own cgroup as its root.
func (c *converter) cgroupMount(p string, m *specs.Mount, dst string, flags uintptr) error {
	lay, err := c.layout()
	if err != nil {
		return errorf(p, "reading the host's cgroup layout: %v", err)
	}
	fl := flags &^ unix.MS_RDONLY
	add := func(mm clone.Mount) {
		c.spec.Mounts = append(c.spec.Mounts, mm)
		c.mountPaths = append(c.mountPaths, p)
	}
	if len(lay.V1) == 0 || m.Type == "cgroup2" {
		if lay.V2 == nil {
			return errorf(p+".type", "this host has no cgroup2 hierarchy mounted")
		}
		add(clone.Mount{Kind: clone.MountFS, Type: "cgroup2", Source: "cgroup2", Target: dst, Flags: flags})
		return nil
	}
	// The tmpfs read-only last would forbid the directories below: it
	// stays writable as runc's does, and each hierarchy gets the flags.
	add(clone.Mount{Kind: clone.MountFS, Type: "tmpfs", Source: "tmpfs", Target: dst, Flags: fl | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, Data: "mode=755"})
	var hs []*cgroup.Hierarchy
	for _, h := range lay.V1 {
		if !slices.Contains(hs, h) {
			hs = append(hs, h)
		}
	}
	slices.SortFunc(hs, func(a, b *cgroup.Hierarchy) int { return strings.Compare(a.Mount, b.Mount) })
	for _, h := range hs {
		add(clone.Mount{Kind: clone.MountFS, Type: "cgroup", Source: "cgroup", Target: path.Join(dst, path.Base(h.Mount)), Flags: flags, Data: strings.Join(h.Controllers, ",")})
	}
	if lay.V2 != nil {
		add(clone.Mount{Kind: clone.MountFS, Type: "cgroup2", Source: "cgroup2", Target: path.Join(dst, path.Base(lay.V2.Mount)), Flags: flags})
	}
	return nil
}

// layout reads the host's cgroup layout once.
func (c *converter) layout() (*cgroup.Layout, error) {
	if c.lay == nil {
		l, err := cgroup.ReadLayout()
		if err != nil {
			return nil, err
		}
		c.lay = l
	}
	return c.lay, nil
}
