//go:build linux && (amd64 || arm64)

package clone_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// TestMasks: a masked file reads as the host's /dev/null, a masked
// directory is an empty read-only tmpfs, a missing path is skipped and
// nothing is created for it; the root's own dev/null, a symlink into the
// root here, is never written through (CVE-2025-31133).
func TestMasks(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	root := testutil.BusyboxRoot(t)
	os.WriteFile(filepath.Join(root, "etc/victim"), []byte("intact\n"), 0o644)
	os.Remove(filepath.Join(root, "dev/null"))
	if err := os.Symlink("../etc/victim", filepath.Join(root, "dev/null")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "etc/secret"), []byte("secret\n"), 0o644)
	os.MkdirAll(filepath.Join(root, "mnt/dir/sub"), 0o755)
	for _, s := range testutil.CloneStyles {
		t.Run(s.Name, func(t *testing.T) {
			spec := inRoot(root, `cat /etc/secret; echo x > /etc/secret; stat -c '%t:%T %F' /etc/secret; ls -a /mnt/dir | tr '\n' ' '; echo; touch /mnt/dir/f 2>&1 | grep -c 'Read-only'; test -e /nope || echo no-nope; grep -c ' /proc/version ' /proc/self/mountinfo; cat /proc/version | wc -c`)
			spec.Mode, spec.Syscall = s.Mode, s.Syscall
			spec.Mounts = []clone.Mount{procMount,
				{Kind: clone.MountMask, Target: "/etc/secret"},
				{Kind: clone.MountMask, Target: "/mnt/dir"},
				{Kind: clone.MountMask, Target: "/nope/deeper"},
				{Kind: clone.MountMask, Target: "/proc/version"},
			}
			out, st := run(t, spec)
			if want := "1:3 character special file\n. .. \n1\nno-nope\n1\n0\n"; out != want || st.ExitCode() != 0 {
				t.Errorf("got %q, %v; want %q", out, st, want)
			}
		})
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc/victim")); string(b) != "intact\n" {
		t.Errorf("the root's dev/null target was written: %q", b)
	}
	if _, err := os.Stat(filepath.Join(root, "nope")); err == nil {
		t.Error("a missing masked path's parent was created in the root")
	}
}

// TestReadOnlyPaths: a read-only path is read-only all the way down; a
// missing one is skipped.
func TestReadOnlyPaths(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	root := testutil.BusyboxRoot(t)
	spec := inRoot(root, `touch /mnt/a 2>&1 | grep -c Read-only; touch /mnt/sub/b 2>&1 | grep -c Read-only; touch /tmp/ok && echo tmp-ok`)
	spec.Mounts = []clone.Mount{procMount,
		{Kind: clone.MountFS, Type: "tmpfs", Target: "/mnt"},
		{Kind: clone.MountFS, Type: "tmpfs", Target: "/mnt/sub"},
		{Kind: clone.MountFS, Type: "tmpfs", Target: "/tmp"},
		{Kind: clone.MountReadOnly, Target: "/mnt"},
		{Kind: clone.MountReadOnly, Target: "/missing"},
	}
	if refusedBefore512(t, spec) {
		return
	}
	out, st := run(t, spec)
	if want := "1\n1\ntmp-ok\n"; out != want || st.ExitCode() != 0 {
		t.Errorf("got %q, %v; want %q", out, st, want)
	}
	if _, err := os.Stat(filepath.Join(root, "missing")); err == nil {
		t.Error("a missing read-only path was created")
	}
}

// TestDevices: mknod with the exact mode and owner, an existing node left
// alone; in a user namespace the host's node is bound instead.
func TestDevices(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	root := testutil.BusyboxRoot(t)
	devs := []clone.Mount{
		{Kind: clone.MountFS, Type: "tmpfs", Target: "/dev", Data: "mode=0755"},
		{Kind: clone.MountDevice, Target: "/dev/mynull", Mode: unix.S_IFCHR | 0o666, Dev: unix.Mkdev(1, 3), UID: 1000, GID: 1001},
		{Kind: clone.MountDevice, Target: "/dev/sub/zero", Mode: unix.S_IFCHR | 0o640, Dev: unix.Mkdev(1, 5)},
		{Kind: clone.MountDevice, Target: "/dev/mynull", Mode: unix.S_IFCHR | 0o600, Dev: unix.Mkdev(1, 3)}, // there: left as it is
	}
	spec := inRoot(root, `stat -c '%n %t:%T %a %u:%g %F' /dev/mynull /dev/sub/zero; echo hi > /dev/mynull && head -c 3 /dev/sub/zero | wc -c`)
	spec.Mounts = devs
	out, st := run(t, spec)
	if want := "/dev/mynull 1:3 666 1000:1001 character special file\n/dev/sub/zero 1:5 640 0:0 character special file\n3\n"; out != want || st.ExitCode() != 0 {
		t.Errorf("mknod: got %q, %v; want %q", out, st, want)
	}
	// A user namespace: the host's /dev/null and /dev/zero, bound.
	spec = inRoot(root, `stat -c '%n %t:%T' /dev/mynull /dev/sub/zero; echo hi > /dev/mynull && head -c 3 /dev/sub/zero | wc -c`)
	spec.Namespaces |= clone.NewUser
	spec.UIDMap = []clone.IDMap{{Inside: 0, Outside: 0, Count: 65536}}
	spec.GIDMap = []clone.IDMap{{Inside: 0, Outside: 0, Count: 65536}}
	spec.Mounts = []clone.Mount{devs[0],
		{Kind: clone.MountDevice, Target: "/dev/mynull", Mode: unix.S_IFCHR | 0o666, Dev: unix.Mkdev(1, 3), Source: "/dev/null"},
		{Kind: clone.MountDevice, Target: "/dev/sub/zero", Mode: unix.S_IFCHR | 0o666, Dev: unix.Mkdev(1, 5), Source: "/dev/zero"},
	}
	out, st = run(t, spec)
	if want := "/dev/mynull 1:3\n/dev/sub/zero 1:5\n3\n"; out != want || st.ExitCode() != 0 {
		t.Errorf("bind in a user namespace: got %q, %v; want %q", out, st, want)
	}
}

// TestTopFlagsAndPropagation: TopFlags reach the top mount of a recursive
// bind only, Flags every mount; Propagation and RootPropagation show in
// mountinfo.
func TestTopFlagsAndPropagation(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	root := testutil.BusyboxRoot(t)
	src := t.TempDir()
	os.Mkdir(filepath.Join(src, "sub"), 0o755)
	spec := inRoot(root, `touch /a/x 2>&1 | grep -c Read-only; touch /a/sub/y && echo sub-rw; touch /b/sub/y 2>&1 | grep -c Read-only;
		grep ' /c ' /proc/self/mountinfo | grep -c shared:; grep -E '^[0-9]+ [0-9]+ [^ ]+ [^ ]+ / ' /proc/self/mountinfo | grep -c shared:`)
	spec.Mounts = []clone.Mount{procMount,
		{Kind: clone.MountBind, Source: src, Target: "/a", Flags: unix.MS_REC, TopFlags: unix.MS_RDONLY},
		{Kind: clone.MountBind, Source: src, Target: "/b", Flags: unix.MS_REC | unix.MS_RDONLY},
		{Kind: clone.MountFS, Type: "tmpfs", Target: "/c", Propagation: unix.MS_SHARED},
	}
	spec.RootPropagation = unix.MS_SHARED | unix.MS_REC
	if refusedBefore512(t, spec) {
		return
	}
	// The binds' source needs a submount: a tmpfs on src/sub, made in a
	// mount namespace of this thread's own, which the clone copies, so
	// that the host's mount table never sees it. The thread is thrown
	// away after (locked, never unlocked), and must not be the main
	// thread: a locked goroutine that exits on it leaves it wedged in the
	// private namespace, which /proc/self (the thread group leader) then
	// shows every later test.
	done := make(chan struct{})
	var out string
	var st clone.ExitStatus
	offMain(func() {
		defer close(done)
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			t.Error(err)
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			t.Error(err)
			return
		}
		if err := unix.Mount("tmpfs", filepath.Join(src, "sub"), "tmpfs", 0, ""); err != nil {
			t.Error(err)
			return
		}
		r, w, _ := os.Pipe()
		defer r.Close()
		spec.Stdio = []int{0, int(w.Fd()), int(w.Fd())}
		clone.PinThread()
		p, err := clone.StartHere(spec)
		w.Close()
		if err != nil {
			t.Error(err)
			return
		}
		st, _ = p.Wait()
		out, _ = readAll(r)
	})
	<-done
	if want := "1\nsub-rw\n1\n1\n1\n"; out != want || st.ExitCode() != 0 {
		t.Errorf("got %q, %v; want %q", out, st, want)
	}
}

func TestMountKindsValidate(t *testing.T) {
	testutil.RequireRoot(t)
	root := testutil.BusyboxRoot(t)
	for _, c := range []struct {
		m    clone.Mount
		want string
	}{
		{clone.Mount{Kind: clone.MountMask, Target: "/x", Source: "/y"}, "takes a Target alone"},
		{clone.Mount{Kind: clone.MountDevice, Target: "/dev/x", Mode: 0o666}, "give the node's type"},
		{clone.Mount{Kind: clone.MountDevice, Target: "/dev/x", Mode: unix.S_IFCHR | 0o666, Dev: unix.Mkdev(5000, 1)}, "major must be below 4096"},
		{clone.Mount{Kind: clone.MountDevice, Target: "/dev/x", Mode: unix.S_IFCHR | 0o666, Source: "/dev/null"}, "made with mknod"},
		{clone.Mount{Kind: clone.MountFS, Type: "tmpfs", Target: "/x", Propagation: unix.MS_REC}, "MS_REC alone"},
		{clone.Mount{Kind: clone.MountFS, Type: "tmpfs", Target: "/x", Propagation: unix.MS_BIND}, "give one of MS_SHARED"},
		{clone.Mount{Kind: clone.MountFS, Type: "tmpfs", Target: "/x", TopFlags: unix.MS_RDONLY}, "TopFlags are for the top mount of a recursive bind"},
		{clone.Mount{Kind: clone.MountReadOnly, Target: "/x", Propagation: unix.MS_SHARED}, "propagation is set on a mount"},
		{clone.Mount{Kind: clone.MountFS, Type: "tmpfs", Target: "/x", Dev: 1}, "Dev, UID and GID are a device's"},
	} {
		spec := inRoot(root, "true")
		spec.Mounts = []clone.Mount{c.m}
		err := spec.Validate()
		if err != nil && !clone.KernelAtLeast(5, 12) && (c.m.Propagation != 0 || c.m.TopFlags != 0 || c.m.Kind == clone.MountReadOnly) &&
			strings.Contains(err.Error(), "mount_setattr(2), Linux 5.12 or later") {
			continue // refused first for the kernel, rightly
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want %q", c.m, err, c.want)
		}
	}
	spec := inRoot(root, "true")
	spec.Namespaces |= clone.NewUser
	spec.Mounts = []clone.Mount{{Kind: clone.MountDevice, Target: "/dev/x", Mode: unix.S_IFCHR | 0o666, Dev: unix.Mkdev(1, 5), Source: "/dev/null"}}
	if err := spec.Validate(); err == nil || !strings.Contains(err.Error(), "is not device 1:5") {
		t.Errorf("a bound device of the wrong number: %v", err)
	}
	spec = inRoot(root, "true")
	spec.Root = ""
	spec.RootPropagation = unix.MS_SHARED
	if err := spec.Validate(); err == nil || !strings.Contains(err.Error(), "give Root") {
		t.Errorf("RootPropagation without Root: %v", err)
	}
}

// offMain runs f in a goroutine locked to a thread that is not the main
// one, and never unlocked: the thread dies with the goroutine. A goroutine
// that finds itself on the main thread stays locked there (so that no
// other goroutine takes it) and starts f from a new one, which the
// runtime must put on another thread.
func offMain(f func()) {
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() != unix.Getpid() {
			f()
			return
		}
		inner := make(chan struct{})
		go func() {
			defer close(inner)
			runtime.LockOSThread()
			f()
		}()
		<-inner
		runtime.UnlockOSThread()
	}()
}

// TestBindAtime: a bind asked noatime (an atime mode, which
// mount_setattr(2) takes only with all of MOUNT_ATTR__ATIME cleared) and
// nosuid shows both in mountinfo.
func TestBindAtime(t *testing.T) {
	testutil.RequireRoot(t)
	if !clone.KernelAtLeast(5, 12) {
		t.Skip("a bind's flags need mount_setattr(2), Linux 5.12; Validate refuses them before (TestMountKinds)")
	}
	testutil.CheckHostUnchanged(t)
	root := testutil.BusyboxRoot(t)
	spec := inRoot(root, `grep ' /mnt ' /proc/self/mountinfo | cut -d' ' -f6`)
	spec.Mounts = []clone.Mount{procMount,
		{Kind: clone.MountBind, Source: t.TempDir(), Target: "/mnt", Flags: unix.MS_NOSUID | unix.MS_NOATIME}}
	if refusedBefore512(t, spec) {
		return
	}
	out, st := run(t, spec)
	if out != "rw,nosuid,noatime\n" || st.ExitCode() != 0 {
		t.Errorf("got %q, %v; want the options rw,nosuid,noatime", out, st)
	}
}
