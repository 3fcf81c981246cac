package oci

import (
	"path"

	"github.com/rawns/rawns/clone"
)

// defaultDevices are the device nodes every container has
// (runtime-linux.md, "Default Devices"), bound from the host's /dev: the
// same character devices (1:3, 1:5, 1:7, 1:8, 1:9, 5:0), without mknod,
// which a user namespace may not do. A bind of a device node keeps the
// host's node and its mode; it has no submounts, so it is not recursive.
var defaultDevices = [...]string{"null", "zero", "full", "random", "urandom", "tty"}

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
	for _, n := range defaultDevices {
		c.spec.Mounts = append(c.spec.Mounts, clone.Mount{Kind: clone.MountBind, Source: "/dev/" + n, Target: path.Join("/dev", n)})
		c.mountPaths = append(c.mountPaths, "default device /dev/"+n)
	}
	links := devLinks[:]
	if ptsMounted {
		links = append(links, [2]string{"ptmx", "pts/ptmx"})
	}
	for _, l := range links {
		c.spec.Mounts = append(c.spec.Mounts, clone.Mount{Kind: clone.MountSymlink, Source: l[1], Target: path.Join("/dev", l[0])})
		c.mountPaths = append(c.mountPaths, "default link /dev/"+l[0])
	}
}
