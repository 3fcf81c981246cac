package rootfs

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/testutil"
)

// copyUpTree makes, in a new root, the directory run holding a tree of
// every kind CopyUp copies, and beside the root a host directory that
// the root's symlinks point at (which must never be read).
func copyUpTree(t *testing.T) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root, outside = filepath.Join(base, "root"), filepath.Join(base, "outside")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(outside, "hostdir"), 0o755))
	must(os.WriteFile(filepath.Join(outside, "secret"), []byte("host secret\n"), 0o600))
	must(os.WriteFile(filepath.Join(outside, "hostdir", "hostfile"), []byte("host\n"), 0o644))
	run := filepath.Join(root, "run")
	must(os.MkdirAll(filepath.Join(run, "a", "b", "c"), 0o755))
	must(os.WriteFile(filepath.Join(run, ".containerenv"), nil, 0o644))
	must(os.WriteFile(filepath.Join(run, "a", "f"), []byte("contents of f\n"), 0o644))
	must(os.WriteFile(filepath.Join(run, "a", "b", "c", "deep"), []byte("deep\n"), 0o640))
	must(os.WriteFile(filepath.Join(run, "setuid"), []byte("#!/bin/sh\n"), 0o755))
	must(os.Chown(filepath.Join(run, "setuid"), 12, 34))
	must(unix.Chmod(filepath.Join(run, "setuid"), 0o4755))
	must(os.Chmod(filepath.Join(run, "a"), 0o750))
	must(os.Chown(filepath.Join(run, "a"), 1000, 1001))
	must(unix.Chmod(filepath.Join(run, "a", "b"), 0o1777))
	// Symlinks out of the root, absolute and relative, to a file and a
	// directory of the host: copied as links, never followed.
	must(os.Symlink(filepath.Join(outside, "secret"), filepath.Join(run, "abs-out")))
	must(os.Symlink("../../outside/hostdir", filepath.Join(run, "rel-out")))
	must(os.Symlink("a/f", filepath.Join(run, "in")))
	must(os.Lchown(filepath.Join(run, "in"), 5, 6))
	must(unix.Mkfifo(filepath.Join(run, "fifo"), 0o620))
	must(unix.Mknod(filepath.Join(run, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	must(unix.Chmod(filepath.Join(run, "fifo"), 0o620)) // past the umask
	must(unix.Chmod(filepath.Join(run, "null"), 0o666))
	// The directory's times: a day back, once its entries are made.
	for _, p := range []string{"a/f", "a", "in", "fifo"} {
		ts := []unix.Timespec{unix.NsecToTimespec(oldTime.UnixNano()), unix.NsecToTimespec(oldTime.UnixNano())}
		must(unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(run, p), ts, unix.AT_SYMLINK_NOFOLLOW))
	}
	// The root's /var/run -> /run, absolute: resolved inside the root.
	must(os.MkdirAll(filepath.Join(root, "var"), 0o755))
	must(os.Symlink("/run", filepath.Join(root, "var", "run")))
	return root, outside
}

var oldTime = time.Date(2020, 1, 2, 3, 4, 5, 600, time.UTC)

// lstatAt is fstatat of rel in the detached mount mnt, no symlink followed.
func lstatAt(t *testing.T, mnt int, rel string) *unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstatat(mnt, rel, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		t.Fatalf("%s in the copy: %v", rel, err)
	}
	return &st
}

// TestCopyUp: every kind of entry is copied with its mode, owner, times
// and contents; symlinks out of the root are copied as links and never
// followed; nothing else of the host gets in; no fd stays open.
func TestCopyUp(t *testing.T) {
	testutil.RequireRoot(t)
	root, outside := copyUpTree(t)
	for _, dir := range []string{"/run", "/var/run", "var/../run/"} {
		t.Run(strings.ReplaceAll(dir, "/", "_"), func(t *testing.T) {
			before := testutil.FDs(os.Getpid())
			mnt, err := CopyUp(root, dir, "tmpfs", "mode=0755,nr_inodes=100", 0)
			if err != nil {
				t.Fatal(err)
			}
			checkCopy(t, mnt, outside)
			unix.Close(mnt)
			if after := testutil.FDs(os.Getpid()); !slices.Equal(before, after) {
				t.Errorf("fds before %v, after %v", before, after)
			}
		})
	}
}

func checkCopy(t *testing.T, mnt int, outside string) {
	t.Helper()
	for _, c := range []struct {
		rel, contents string
		mode          uint32
		uid, gid      uint32
	}{
		{".containerenv", "", unix.S_IFREG | 0o644, 0, 0},
		{"a/f", "contents of f\n", unix.S_IFREG | 0o644, 0, 0},
		{"a/b/c/deep", "deep\n", unix.S_IFREG | 0o640, 0, 0},
		{"setuid", "#!/bin/sh\n", unix.S_IFREG | 0o4755, 12, 34},
		{"a", "", unix.S_IFDIR | 0o750, 1000, 1001},
		{"a/b", "", unix.S_IFDIR | 0o1777, 0, 0},
		{"fifo", "", unix.S_IFIFO | 0o620, 0, 0},
		{"null", "", unix.S_IFCHR | 0o666, 0, 0},
		{"in", "", unix.S_IFLNK | 0o777, 5, 6},
	} {
		st := lstatAt(t, mnt, c.rel)
		if st.Mode != c.mode || st.Uid != c.uid || st.Gid != c.gid {
			t.Errorf("%s: mode %#o owner %d:%d; want %#o %d:%d", c.rel, st.Mode, st.Uid, st.Gid, c.mode, c.uid, c.gid)
		}
		if st.Mode&unix.S_IFMT == unix.S_IFREG {
			fd, err := unix.Openat(mnt, c.rel, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
			if err != nil {
				t.Fatal(err)
			}
			b := make([]byte, 100)
			n, _ := unix.Read(fd, b)
			unix.Close(fd)
			if string(b[:n]) != c.contents {
				t.Errorf("%s holds %q; want %q", c.rel, b[:n], c.contents)
			}
		}
	}
	if st := lstatAt(t, mnt, "null"); st.Rdev != unix.Mkdev(1, 3) {
		t.Errorf("null is device %d:%d; want 1:3", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	// The root's times, as copyUpTree set them. Access times: a's
	// stays (O_NOATIME: copying it read the root's a); a/f's copy was
	// read above, and readlinkat(2) sets the root's link's to now.
	old := unix.NsecToTimespec(oldTime.UnixNano())
	for _, rel := range []string{"a/f", "a", "in", "fifo"} {
		if st := lstatAt(t, mnt, rel); st.Mtim != old || (rel == "a" || rel == "fifo") && st.Atim != old {
			t.Errorf("%s: times %v %v; want the root's %v", rel, st.Atim, st.Mtim, old)
		}
	}
	for rel, want := range map[string]string{
		"abs-out": filepath.Join(outside, "secret"),
		"rel-out": "../../outside/hostdir",
		"in":      "a/f",
	} {
		b := make([]byte, 256)
		n, err := unix.Readlinkat(mnt, rel, b)
		if err != nil || string(b[:n]) != want {
			t.Errorf("%s: readlink %q, %v; want the link %q", rel, b[:n], err, want)
		}
	}
	// What the links point at on the host is not in the copy.
	names := walkNames(t, mnt)
	for _, n := range names {
		if n == "hostfile" || n == "secret" || n == "hostdir" {
			t.Errorf("the copy holds %q, a file of the host outside the root: %v", n, names)
		}
	}
	if len(names) < 12 {
		t.Errorf("walked %v; want the whole copy", names)
	}
}

// walkNames lists every name below the directory fd, no symlink followed.
func walkNames(t *testing.T, fd int) []string {
	t.Helper()
	d, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(d)
	c := copier{buf: make([]byte, 4096)}
	names, err := c.names(d)
	if err != nil {
		t.Fatal(err)
	}
	all := names
	for _, n := range names {
		if sub, err := unix.Openat(d, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0); err == nil {
			all = append(all, walkNames(t, sub)...)
			unix.Close(sub)
		}
	}
	return all
}

// TestCopyUpEmpty: a missing directory, or a file where it should be,
// gives an empty tmpfs.
func TestCopyUpEmpty(t *testing.T) {
	testutil.RequireRoot(t)
	root, _ := copyUpTree(t)
	for _, dir := range []string{"/missing", "/run/a/f"} {
		mnt, err := CopyUp(root, dir, "", "", 0)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		names := walkNames(t, mnt)
		unix.Close(mnt)
		if len(names) != 0 {
			t.Errorf("%s: copy holds %v; want nothing", dir, names)
		}
	}
}

// TestCopyUpRefusals: a copy that does not fit the tmpfs fails with the
// path; a bad option names the option; a read-only tmpfs is filled, then
// read-only. No fd stays open after a failure.
func TestCopyUpRefusals(t *testing.T) {
	testutil.RequireRoot(t)
	root, _ := copyUpTree(t)
	if err := os.WriteFile(filepath.Join(root, "run", "a", "big"), make([]byte, 256<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	before := testutil.FDs(os.Getpid())
	for _, c := range []struct{ data, want string }{
		{"size=64k", "/run/a/big does not fit in the tmpfs (its size= or nr_inodes=): copying its contents: no space left on device"},
		{"nr_inodes=4", "does not fit in the tmpfs"},
		{"nosuchoption=1", "tmpfs option nosuchoption=1: invalid argument"},
	} {
		mnt, err := CopyUp(root, "/run", "tmpfs", c.data, 0)
		if err == nil {
			unix.Close(mnt)
			t.Errorf("%s: copied; want %q", c.data, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want %q", c.data, err, c.want)
		}
	}
	if after := testutil.FDs(os.Getpid()); !slices.Equal(before, after) {
		t.Errorf("fds before %v, after the failures %v", before, after)
	}
	// Read-only: the mount (mount_setattr), or before Linux 5.12, where
	// that is ENOSYS, the tmpfs itself.
	for _, enosys := range []bool{false, true} {
		if enosys {
			mountSetattr = func(int, string, uint, *unix.MountAttr) error { return unix.ENOSYS }
		}
		mnt, err := CopyUp(root, "/run", "tmpfs", "", unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NODEV)
		mountSetattr = unix.MountSetattr
		if err != nil {
			t.Fatalf("without mount_setattr %v: %v", enosys, err)
		}
		lstatAt(t, mnt, "a/big")
		if err := unix.Mkdirat(mnt, "new", 0o755); err != unix.EROFS {
			t.Errorf("without mount_setattr %v: mkdir in a read-only copy: %v; want EROFS", enosys, err)
		}
		unix.Close(mnt)
	}
}
