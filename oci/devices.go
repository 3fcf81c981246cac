package oci

import (
	"path"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
)

// defaultDevices are the device nodes every container has
// (runtime-linux.md, "Default Devices"), bound from the host's /dev: the
// same character devices (1:3, 1:5, 1:7, 1:8, 1:9, 5:0), without mknod,
// which a user namespace may not do. A bind of a device node keeps the
// host's node and its mode; it has no submounts, so it is not recursive.
var defaultDevices = [...]string{"null", "zero", "full", "random", "urandom", "tty"}

// defaultDeviceNumbers are defaultDevices' numbers, for a joined mount
// namespace, whose /dev may be another container's (a symlink there to a
// host file would be bound in, CVE-2025-31133's shape): there the nodes
// are made (mknod, rw for all as on the host) instead.
var defaultDeviceNumbers = [len(defaultDevices)]uint64{unix.Mkdev(1, 3), unix.Mkdev(1, 5), unix.Mkdev(1, 7), unix.Mkdev(1, 8), unix.Mkdev(1, 9), unix.Mkdev(5, 0)}

// devLinks are the symbolic links of runtime-linux.md, "Dev symbolic
// links", made when their target exists after the mounts: /proc is
// mounted by then in any container that has one.
var devLinks = [...][2]string{{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}}

// devices adds the default devices and links when config.json mounts a
// filesystem of its own on /dev (the usual tmpfs): a /dev bound from
// elsewhere, or the root's own /dev directory, is left as it is, since
// rawns does not write into a directory of the host.
func (c *converter) devices() {
	devMounted, ptsMounted := false, false
	made := map[string]bool{} // linux.devices' nodes: not bound over
	for _, m := range c.spec.Mounts {
		if m.Kind == clone.MountDevice {
			made[m.Target] = true
		}
	}
	for _, m := range c.spec.Mounts {
		switch {
		case m.Target == "/dev" && m.Kind == clone.MountFS:
			devMounted = true
		case m.Target == "/dev":
			devMounted = false // a later bind covers it
		case m.Target == "/dev/pts" && m.Type == "devpts":
			ptsMounted = true
		}
	}
	if !devMounted {
		return
	}
	for i, n := range defaultDevices {
		if made["/dev/"+n] {
			continue
		}
		if c.joining(clone.NewMount) {
			c.spec.Mounts = append(c.spec.Mounts, clone.Mount{Kind: clone.MountDevice, Target: "/dev/" + n, Mode: unix.S_IFCHR | 0o666, Dev: defaultDeviceNumbers[i]})
		} else {
			c.spec.Mounts = append(c.spec.Mounts, clone.Mount{Kind: clone.MountBind, Source: "/dev/" + n, Target: path.Join("/dev", n)})
		}
		c.mountPaths = append(c.mountPaths, "default device /dev/"+n)
	}
	links := devLinks[:]
	if ptsMounted {
		links = append(links, [2]string{"ptmx", "pts/ptmx"})
		// A privileged container's linux.devices lists every node of the
		// host's /dev (containerd's WithPrivilegedDevices), /dev/ptmx (5:2)
		// among them; runc makes the node and then replaces it by the
		// link (setupPtmx removes whatever is there), since ptmx outside
		// the container's devpts instance would hand out the host's ptys.
		// So the link wins here too: the node is not made.
		c.dropDevice("/dev/ptmx")
	}
	for _, l := range links {
		if made["/dev/"+l[0]] && l[0] != "ptmx" {
			// A node asked for at /dev/fd or /dev/std*: runc's links
			// step keeps what is there (EEXIST ignored), and so does
			// rawns.
			continue
		}
		c.spec.Mounts = append(c.spec.Mounts, clone.Mount{Kind: clone.MountSymlink, Source: l[1], Target: path.Join("/dev", l[0])})
		c.mountPaths = append(c.mountPaths, "default link /dev/"+l[0])
	}
}

// dropDevice removes linux.devices' node at target from the steps (and
// its JSON path from mountPaths, which runs beside them).
func (c *converter) dropDevice(target string) {
	for i := 0; i < len(c.spec.Mounts); i++ {
		if m := c.spec.Mounts[i]; m.Kind == clone.MountDevice && m.Target == target {
			c.spec.Mounts = append(c.spec.Mounts[:i], c.spec.Mounts[i+1:]...)
			c.mountPaths = append(c.mountPaths[:i], c.mountPaths[i+1:]...)
			i--
		}
	}
}

// deviceNodes maps linux.devices: a node made by the child (mknod, or a
// bind of the host's node in a user namespace), owned and moded as asked.
func (c *converter) deviceNodes(ds []specs.LinuxDevice) error {
	for i, d := range ds {
		p := index("linux.devices", i)
		if d.Path == "" || !path.IsAbs(d.Path) {
			return errorf(p+".path", "%q: give the absolute path of the node inside the container", d.Path)
		}
		var typ uint32
		switch d.Type {
		case "c", "u":
			typ = unix.S_IFCHR
		case "b":
			typ = unix.S_IFBLK
		case "p":
			typ = unix.S_IFIFO
		default:
			return errorf(p+".type", "%q; give c (character), b (block), u (unbuffered character) or p (FIFO)", d.Type)
		}
		if d.Major < 0 || d.Major > 0xfff || d.Minor < 0 || d.Minor > 0xfffff {
			return errorf(p, "%d:%d is not a device number (major 0-4095, minor 0-1048575)", d.Major, d.Minor)
		}
		mode := uint32(0o666)
		if d.FileMode != nil {
			if *d.FileMode&^0o7777 != 0 {
				return errorf(p+".fileMode", "%#o: give permission bits only (the type is in type)", uint32(*d.FileMode))
			}
			mode = uint32(*d.FileMode)
		}
		m := clone.Mount{Kind: clone.MountDevice, Target: path.Clean(d.Path), Mode: typ | mode, Dev: unix.Mkdev(uint32(d.Major), uint32(d.Minor))}
		if typ == unix.S_IFIFO {
			// config-linux.md: major and minor are required "unless type
			// is p"; a FIFO has none, and mknod(2) ignores them for one.
			m.Dev = 0
		}
		if d.UID != nil {
			m.UID = *d.UID
		}
		if d.GID != nil {
			m.GID = *d.GID
		}
		c.spec.Mounts = append(c.spec.Mounts, m)
		c.mountPaths = append(c.mountPaths, p)
	}
	return nil
}

// pathMasks maps linux.maskedPaths and readonlyPaths, after every mount
// (they sit on what the mounts made, /proc above all): a masked path gets
// an empty read-only tmpfs (a directory) or the host's /dev/null (anything
// else), taken before anything is mounted, never the root's own
// (CVE-2025-31133); a read-only path is bound onto itself read-only. A
// path missing in the container is skipped, as runc skips it.
func (c *converter) pathMasks(l *specs.Linux) {
	for i, p := range l.ReadonlyPaths {
		c.spec.Mounts = append(c.spec.Mounts, clone.Mount{Kind: clone.MountReadOnly, Target: p})
		c.mountPaths = append(c.mountPaths, index("linux.readonlyPaths", i))
	}
	for i, p := range l.MaskedPaths {
		c.spec.Mounts = append(c.spec.Mounts, clone.Mount{Kind: clone.MountMask, Target: p})
		c.mountPaths = append(c.mountPaths, index("linux.maskedPaths", i))
	}
}
