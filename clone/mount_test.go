//go:build linux && (amd64 || arm64)

package clone_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// inRoot is a shell command in a fresh busybox root with pid, uts and mnt.
func inRoot(root, script string) *clone.Spec {
	return &clone.Spec{
		Path:       "/bin/sh",
		Args:       []string{"sh", "-c", script},
		Namespaces: clone.NewPID | clone.NewUTS | clone.NewMount,
		Hostname:   "box",
		Root:       root,
		Env:        []string{"PATH=/bin"},
	}
}

var procMount = clone.Mount{Kind: clone.MountFS, Type: "proc", Target: "/proc", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC}

func TestRootPivot(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	root := testutil.BusyboxRoot(t)
	for _, s := range testutil.CloneStyles {
		t.Run(s.Name, func(t *testing.T) {
			spec := inRoot(root, `pwd; ls /; cat /proc/self/mountinfo | wc -l; test -e /usr || echo no-usr`)
			spec.Mounts = []clone.Mount{procMount}
			spec.Mode, spec.Syscall = s.Mode, s.Syscall
			out, st := run(t, spec)
			// The root and its proc: the host's mounts are gone.
			want := "/\nbin\ndev\netc\nmnt\nproc\nroot\nsys\ntmp\n2\nno-usr\n"
			if out != want || st.ExitCode() != 0 {
				t.Fatalf("got %q, %v; want %q", out, st, want)
			}
		})
	}
}

func TestMountKinds(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	root := testutil.BusyboxRoot(t)
	data := t.TempDir()
	os.WriteFile(filepath.Join(data, "f"), []byte("hello\n"), 0o644)
	os.Mkdir(filepath.Join(data, "sub"), 0o755)
	file := filepath.Join(t.TempDir(), "hostfile")
	os.WriteFile(file, []byte("from the host\n"), 0o644)
	spec := inRoot(root, `
		cat /mnt/a/b/data/f; echo rw >/mnt/a/b/data/w && cat /mnt/a/b/data/w
		cat /etc/hostfile; echo x 2>/dev/null >/etc/hostfile || echo hostfile-ro
		echo x 2>/dev/null >/ro/sub/x || echo sub-ro
		stat -c %a /tmp; df -k /tmp | grep -c 1024
		readlink /lnk; ls /newdir >/dev/null && stat -c %a /newdir`)
	spec.Mounts = []clone.Mount{
		procMount,
		{Kind: clone.MountBind, Source: data, Target: "/mnt/a/b/data", Flags: unix.MS_REC},
		{Kind: clone.MountBind, Source: file, Target: "/etc/hostfile", Flags: unix.MS_RDONLY},
		{Kind: clone.MountFS, Type: "tmpfs", Target: "/tmp", Data: "size=1m,mode=0700", Flags: unix.MS_NOSUID | unix.MS_NODEV},
		{Kind: clone.MountFS, Type: "tmpfs", Target: "/mnt/a/b/data/sub"},
		// data again, read-only and recursive: its sub, a tmpfs mounted
		// by the step before, must be read-only too.
		{Kind: clone.MountBind, Source: data, Target: "/ro", Flags: unix.MS_REC | unix.MS_RDONLY},
		{Kind: clone.MountSymlink, Source: "/tmp", Target: "/lnk"},
		{Kind: clone.MountDir, Target: "/newdir", Mode: 0o700},
	}
	if refusedBefore512(t, spec) {
		return
	}
	out, st := run(t, spec)
	want := "hello\nrw\nfrom the host\nhostfile-ro\nsub-ro\n700\n1\n/tmp\n700\n"
	if out != want || st.ExitCode() != 0 {
		t.Fatalf("got %q, %v; want %q", out, st, want)
	}
	if _, err := os.Stat(filepath.Join(root, "mnt/a/b/data")); err != nil {
		t.Errorf("the missing mount point was not created in the root: %v", err)
	}
}

func TestSymlinkedTargetsStayInside(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	root := testutil.BusyboxRoot(t)
	marker := fmt.Sprintf("rawns-escape-%d", os.Getpid())
	// Absolute and relative links that point out of the root when
	// followed on the host.
	os.Symlink("/", filepath.Join(root, "abs"))
	os.Symlink("../../../../../../../../tmp", filepath.Join(root, "rel"))
	os.Symlink("/etc", filepath.Join(root, "etclink"))
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "passwd"), []byte("bound\n"), 0o644)
	spec := inRoot(root, `ls -d /`+marker+` /tmp/`+marker+`; cat /etc/passwd`)
	spec.Mounts = []clone.Mount{
		{Kind: clone.MountFS, Type: "tmpfs", Target: "/abs/" + marker},
		{Kind: clone.MountFS, Type: "tmpfs", Target: "/rel/" + marker},
		{Kind: clone.MountBind, Source: filepath.Join(src, "passwd"), Target: "/etclink/passwd"},
	}
	out, st := run(t, spec)
	want := "/" + marker + "\n/tmp/" + marker + "\nbound\n"
	if out != want || st.ExitCode() != 0 {
		t.Fatalf("got %q, %v; want %q", out, st, want)
	}
	for _, p := range []string{"/" + marker, "/tmp/" + marker} {
		if _, err := os.Lstat(p); err == nil {
			os.Remove(p)
			t.Errorf("%s was created on the host: a symlink was followed outside the root", p)
		}
		if _, err := os.Lstat(filepath.Join(root, p)); err != nil {
			t.Errorf("%s was not created inside the root: %v", p, err)
		}
	}
	if b, _ := os.ReadFile("/etc/passwd"); string(b) == "bound\n" {
		t.Errorf("the host's /etc/passwd was covered")
	}
}

func TestOverlayLeavesRootUnchanged(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	root := testutil.BusyboxRoot(t)
	before := testutil.TreeSum(t, root)
	script := `echo new >/new && cat /new; echo changed >/etc/passwd; rm /bin/ls; mkdir -p /a/b; touch /bin/busybox; ls /bin/ls 2>/dev/null || echo ls-gone`
	for _, c := range []struct {
		name string
		dir  bool
	}{{"tmpfs", false}, {"dir", true}} {
		t.Run(c.name, func(t *testing.T) {
			spec := inRoot(root, script)
			spec.Overlay = true
			var upper string
			if c.dir {
				upper = t.TempDir()
				os.Mkdir(filepath.Join(upper, "upper"), 0o755)
				os.Mkdir(filepath.Join(upper, "work"), 0o755)
				spec.OverlayDir = upper
			}
			if !c.dir && !clone.KernelAtLeast(6, 5) {
				// Before 6.5 overlayfs resolves its layers at create time,
				// after the tmpfs covered the root: refused, not wrong.
				if err := spec.Validate(); err == nil || !strings.Contains(err.Error(), "needs Linux 6.5") {
					t.Fatalf("an overlay on a tmpfs before Linux 6.5: Validate %v, want a refusal", err)
				}
				return
			}
			out, st := run(t, spec)
			if out != "new\nls-gone\n" || st.ExitCode() != 0 {
				t.Fatalf("got %q, %v", out, st)
			}
			if after := testutil.TreeSum(t, root); after != before {
				t.Errorf("the root changed under the overlay")
			}
			if c.dir {
				if b, err := os.ReadFile(filepath.Join(upper, "upper/new")); err != nil || string(b) != "new\n" {
					t.Errorf("the upper layer on disk lacks /new: %q, %v", b, err)
				}
			}
		})
	}
}

// refusedBefore512 checks, on a kernel older than 5.12, that spec is
// refused for want of mount_setattr(2) (and reports true: nothing more to
// test there); on a newer one it reports false.
func refusedBefore512(t *testing.T, spec *clone.Spec) bool {
	t.Helper()
	if clone.KernelAtLeast(5, 12) {
		return false
	}
	if err := spec.Validate(); err == nil || !strings.Contains(err.Error(), "mount_setattr(2), Linux 5.12 or later") {
		t.Fatalf("before Linux 5.12: Validate %v, want a refusal naming mount_setattr", err)
	}
	return true
}

func TestReadOnlyRoot(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	root := testutil.BusyboxRoot(t)
	spec := inRoot(root, `touch /x 2>/tmp/err || echo ro; touch /tmp/x && echo tmp-rw`)
	spec.Mounts = []clone.Mount{{Kind: clone.MountFS, Type: "tmpfs", Target: "/tmp"}}
	spec.ReadOnlyRoot = true
	if refusedBefore512(t, spec) {
		return
	}
	out, st := run(t, spec)
	if out != "ro\ntmp-rw\n" || st.ExitCode() != 0 {
		t.Fatalf("got %q, %v", out, st)
	}
	if _, err := os.Stat(filepath.Join(root, "x")); err == nil {
		t.Errorf("/x was written to the root")
	}
}

// TestChdirCannotReachHostFD: a working directory through /proc/self/fd/0,
// where fd 0 is a directory of the host, is refused (RESOLVE_NO_MAGICLINKS),
// and so is one that climbs with "..".
func TestChdirCannotReachHostFD(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	root := testutil.BusyboxRoot(t)
	dir, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	spec := inRoot(root, `pwd`)
	spec.Mounts = []clone.Mount{procMount}
	spec.Stdio = []int{int(dir.Fd()), 1, 2}
	spec.Dir = "/proc/self/fd/0"
	_, err = clone.Start(spec)
	var ce *clone.ChildError
	if !errors.As(err, &ce) || ce.Stage != clone.StageChdir || ce.Errno != syscall.ELOOP {
		t.Fatalf("Start with Dir %s: %v; want a StageChdir ELOOP", spec.Dir, err)
	}
	spec = inRoot(root, `pwd`)
	spec.Dir = "../../../../bin"
	out, st := run(t, spec)
	if out != "/bin\n" || st.ExitCode() != 0 {
		t.Fatalf("Dir %s: got %q, %v; want /bin", spec.Dir, out, st)
	}
}

// buildStatic builds a static Go program of testdata into dir.
func buildStatic(t *testing.T, pkg, out string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, "./testdata/"+pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
}

// TestChrootEscapeFails: the classic escape (chroot into a subdirectory
// while the working directory stays out of it, climb with "..", chroot
// ".") ends at the root it was given, because the host's tree is detached,
// not merely out of sight. The same program run on the host's tree, as a
// chroot-based runtime would leave it, does see the host's file.
func TestChrootEscapeFails(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	root := testutil.BusyboxRoot(t)
	buildStatic(t, "escape", filepath.Join(root, "bin/escape"))
	marker := filepath.Join(t.TempDir(), "host-marker")
	os.WriteFile(marker, []byte("host\n"), 0o644)
	spec := inRoot(root, "")
	spec.Path, spec.Args = "/bin/escape", []string{"escape", marker}
	spec.Overlay = true
	if out, st := run(t, spec); out != "escape-failed\n" || st.ExitCode() != 0 {
		t.Fatalf("in the root: got %q, %v; want escape-failed", out, st)
	}
	// The control: chroot(2) into the root instead of pivot_root, which is
	// what the program escapes from.
	spec = &clone.Spec{Path: filepath.Join(root, "bin/escape"), Args: []string{"escape", marker}, Namespaces: clone.NewMount, Dir: t.TempDir()}
	if out, _ := run(t, spec); out != "escaped\n" {
		t.Fatalf("on the host: got %q; want escaped (the test cannot tell otherwise)", out)
	}
}

func TestMountErrorsNameTheMount(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	root := testutil.BusyboxRoot(t)
	before := strings.Join(testutil.FDs(os.Getpid()), ",")
	for _, s := range testutil.CloneStyles {
		t.Run(s.Name, func(t *testing.T) {
			spec := inRoot(root, `true`)
			spec.Mode, spec.Syscall = s.Mode, s.Syscall
			spec.Mounts = []clone.Mount{
				{Kind: clone.MountFS, Type: "tmpfs", Target: "/tmp"},
				{Kind: clone.MountFS, Type: "nosuchfs", Target: "/mnt/x"},
			}
			_, err := clone.Start(spec)
			var ce *clone.ChildError
			if !errors.As(err, &ce) || ce.Stage != clone.StageMount || ce.List != "Mounts" || ce.Index != 1 || ce.Errno != syscall.ENODEV || ce.Syscall != "fsopen nosuchfs" {
				t.Fatalf("got %v (%#v); want mount 1's fsopen failing with ENODEV", err, ce)
			}
			if !strings.Contains(err.Error(), "nosuchfs on /mnt/x") {
				t.Errorf("error %q does not name the mount", err)
			}
		})
	}
	for _, c := range []struct {
		name string
		edit func(*clone.Spec)
		want string
	}{
		{"missing root", func(s *clone.Spec) { s.Root = root + "/nonexistent" }, "no such file"},
		{"root not a dir", func(s *clone.Spec) { s.Root = root + "/bin/busybox" }, "not a directory"},
		{"missing bind source", func(s *clone.Spec) {
			s.Mounts = []clone.Mount{{Kind: clone.MountBind, Source: "/nonexistent-src", Target: "/x"}}
		}, "/nonexistent-src"},
		{"relative target", func(s *clone.Spec) { s.Mounts = []clone.Mount{{Kind: clone.MountFS, Type: "tmpfs", Target: "tmp"}} }, "absolute"},
		{"no mnt", func(s *clone.Spec) { s.Namespaces = clone.NewPID | clone.NewUTS }, "mount namespace"},
		{"shared", func(s *clone.Spec) { s.Propagation = clone.PropagationShared }, "reach the host"},
	} {
		spec := inRoot(root, "true")
		c.edit(spec)
		if _, err := clone.Start(spec); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v; want an error with %q", c.name, err, c.want)
		}
	}
	if after := strings.Join(testutil.FDs(os.Getpid()), ","); after != before {
		t.Errorf("fds leaked: before %s, after %s", before, after)
	}
}

// TestFileMountPointCreatedOrFound: a bind of a file creates its mount
// point and mounts on that very fd; a second bind on the same path under a
// tmpfs of the list finds the file there (EEXIST) and looks it up instead.
func TestFileMountPointCreatedOrFound(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	root := testutil.BusyboxRoot(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a"), []byte("a\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b"), []byte("b\n"), 0o644)
	spec := inRoot(root, `cat /x/f; cat /proc/self/mountinfo | grep -c ' /x/f '`)
	spec.Mounts = []clone.Mount{
		procMount,
		{Kind: clone.MountFS, Type: "tmpfs", Target: "/x"},
		{Kind: clone.MountBind, Source: filepath.Join(dir, "a"), Target: "/x/f"},
		{Kind: clone.MountBind, Source: filepath.Join(dir, "b"), Target: "/x/f"},
	}
	out, st := run(t, spec)
	if out != "b\n2\n" || st.ExitCode() != 0 {
		t.Fatalf("got %q, %v; want b on top of a", out, st)
	}
}

// TestMountOrder: /proc/self/mountinfo lists the root first and then the
// mounts in the list's order, binds and new filesystems interleaved. Since
// Linux 6.8 mountinfo lists a namespace's mounts by the order the kernel
// made them (their unique id), not attached them: a bind's source taken
// before the new filesystems listed ahead of it came first
// (runtime-tools' mounts test).
func TestMountOrder(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	root := testutil.BusyboxRoot(t)
	src := t.TempDir()
	spec := inRoot(root, `cut -d' ' -f5 /proc/self/mountinfo`)
	var want []string
	spec.Mounts = []clone.Mount{procMount}
	for i, k := range []clone.MountKind{clone.MountFS, clone.MountBind, clone.MountFS, clone.MountBind, clone.MountBind, clone.MountFS} {
		m := clone.Mount{Kind: k, Target: fmt.Sprintf("/mnt/m%d", i)}
		if k == clone.MountFS {
			m.Type = "tmpfs"
		} else {
			m.Source = src
		}
		if i == 4 {
			m.Flags = unix.MS_REC
		}
		spec.Mounts = append(spec.Mounts, m)
		want = append(want, m.Target)
	}
	out, st := run(t, spec)
	want = append([]string{"/", "/proc"}, want...)
	if st.ExitCode() != 0 || out != strings.Join(want, "\n")+"\n" {
		t.Fatalf("mountinfo's mount points: %q, %v; want %q", out, st, want)
	}
}

// TestHostMountNSValidate: HostMountNS is for a spec with a Root and no
// mount namespace of its own or joined; without it, mounts without a
// mount namespace are refused. ChrootFD (exec into such a container) goes
// with neither a Root nor a mount namespace.
func TestHostMountNSValidate(t *testing.T) {
	root := t.TempDir()
	for _, c := range []struct {
		spec clone.Spec
		want string
	}{
		{clone.Spec{Root: root}, "need a new mount namespace"},
		{clone.Spec{Root: root, HostMountNS: true, Namespaces: clone.NewMount}, "creates or joins one"},
		{clone.Spec{HostMountNS: true, Mounts: []clone.Mount{procMount}}, "give Root"},
		{clone.Spec{Root: root, HostMountNS: true, Overlay: true}, "needs a mount namespace"},
		{clone.Spec{Root: root, HostMountNS: true, Mounts: []clone.Mount{procMount}}, ""},
		{clone.Spec{Root: root, ChrootFD: 3}, "ChrootFD enters a root"},
		{clone.Spec{ChrootFD: -1}, "ChrootFD enters a root"},
		{clone.Spec{ChrootFD: 3, Namespaces: clone.NewMount}, "ChrootFD enters a root"},
	} {
		c.spec.Path = "/bin/true"
		err := c.spec.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: %v; want %q", c.spec, err, c.want)
		}
	}
}
