//go:build linux && (amd64 || arm64)

package clone_test

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// BenchmarkMountPhase spawns /bin/true (busybox) and waits, as the mount
// phase grows step by step: the cost of each part, side by side in one run
// (benchstat the sub-benchmarks against "pid+uts").
func BenchmarkMountPhase(b *testing.B) {
	testutil.RequireRoot(b)
	root := testutil.BusyboxRoot(b)
	if err := os.Symlink("busybox", root+"/bin/truebb"); err != nil {
		b.Fatal(err)
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer null.Close()
	nfd := int(null.Fd())
	proc := clone.Mount{Kind: clone.MountFS, Type: "proc", Target: "/proc", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC}
	dev := []clone.Mount{{Kind: clone.MountFS, Type: "tmpfs", Target: "/dev", Data: "mode=0755", Flags: unix.MS_NOSUID | unix.MS_NODEV}}
	for _, n := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		dev = append(dev, clone.Mount{Kind: clone.MountBind, Source: "/dev/" + n, Target: "/dev/" + n})
	}
	dev = append(dev,
		clone.Mount{Kind: clone.MountFS, Type: "devpts", Target: "/dev/pts", Data: "newinstance,ptmxmode=0666,mode=620", Flags: unix.MS_NOSUID | unix.MS_NOEXEC},
		clone.Mount{Kind: clone.MountSymlink, Source: "pts/ptmx", Target: "/dev/ptmx"},
		clone.Mount{Kind: clone.MountFS, Type: "tmpfs", Target: "/dev/shm", Data: "mode=1777", Flags: unix.MS_NOSUID | unix.MS_NODEV})
	for _, l := range [][2]string{{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}} {
		dev = append(dev, clone.Mount{Kind: clone.MountSymlink, Source: l[1], Target: "/dev/" + l[0]})
	}
	for _, c := range []struct {
		name   string
		ns     clone.Namespaces
		root   string
		mounts []clone.Mount
	}{
		{"pid+uts", clone.NewPID | clone.NewUTS, "", nil},
		{"pid+uts+mnt", clone.NewPID | clone.NewUTS | clone.NewMount, "", nil},
		{"rootfs", clone.NewPID | clone.NewUTS | clone.NewMount, root, nil},
		{"rootfs+proc", clone.NewPID | clone.NewUTS | clone.NewMount, root, []clone.Mount{proc}},
		{"rootfs+dev", clone.NewPID | clone.NewUTS | clone.NewMount, root, dev},
		{"rootfs+dev+proc", clone.NewPID | clone.NewUTS | clone.NewMount, root, append(append([]clone.Mount{}, dev...), proc)},
	} {
		b.Run(c.name, func(b *testing.B) {
			// The same static busybox true in every case: by its host path
			// without a root.
			path := "/bin/truebb"
			if c.root == "" {
				path = root + "/bin/truebb"
			}
			for b.Loop() {
				spec := &clone.Spec{Path: path, Args: []string{"true"}, Namespaces: c.ns, Hostname: "bench",
					Root: c.root, Mounts: append([]clone.Mount(nil), c.mounts...), Stdio: []int{nfd, nfd, nfd}}
				p, err := clone.StartHere(spec)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := p.Wait(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
