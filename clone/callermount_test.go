//go:build linux && (amd64 || arm64)

package clone_test

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// detachedTmpfs makes a tmpfs, detached, holding the file hello ("made by
// the caller"), as rawns-oci's tmpcopyup does before the clone.
func detachedTmpfs(t *testing.T) int {
	t.Helper()
	fs, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fs)
	if err := unix.FsconfigSetString(fs, "mode", "0750"); err != nil {
		t.Fatal(err)
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		t.Fatal(err)
	}
	mnt, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NODEV)
	if err != nil {
		t.Fatal(err)
	}
	f, err := unix.Openat(mnt, "hello", unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	if err != nil {
		unix.Close(mnt)
		t.Fatal(err)
	}
	unix.Write(f, []byte("made by the caller\n"))
	unix.Close(f)
	return mnt
}

// TestCallerMadeMount: a MountFS with FD is the caller's detached mount,
// attached where the list says (its missing mount point made), with the
// attributes and options the caller gave it; the child makes no
// filesystem of its own for it. The same
// fd serves every clone style: the child attaches its copy of it, and
// each style gets a fresh mount here.
func TestCallerMadeMount(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	root := testutil.BusyboxRoot(t)
	for _, s := range testutil.CloneStyles {
		t.Run(s.Name, func(t *testing.T) {
			mnt := detachedTmpfs(t)
			defer unix.Close(mnt)
			spec := inRoot(root, `cat /mnt/made/deep/hello; stat -c %a /mnt/made/deep; grep ' /mnt/made/deep ' /proc/self/mountinfo | grep -c 'nodev.* - tmpfs .*mode=750'`)
			spec.Mode, spec.Syscall = s.Mode, s.Syscall
			spec.Mounts = []clone.Mount{procMount,
				{Kind: clone.MountFS, Type: "tmpfs", Target: "/mnt/made/deep", FD: mnt},
			}
			out, st := run(t, spec)
			if want := "made by the caller\n750\n1\n"; out != want || st.ExitCode() != 0 {
				t.Errorf("got %q, %v; want %q", out, st, want)
			}
		})
	}
}

// TestCallerMadeMountValidate: FD is for a MountFS, 3 or more, open.
func TestCallerMadeMountValidate(t *testing.T) {
	for _, c := range []struct {
		m    clone.Mount
		want string
	}{
		{clone.Mount{Kind: clone.MountBind, Source: "/tmp", Target: "/mnt", FD: 9}, "with Kind MountFS"},
		{clone.Mount{Kind: clone.MountFS, Type: "tmpfs", Target: "/mnt", FD: 2}, "3 or more"},
		{clone.Mount{Kind: clone.MountFS, Type: "tmpfs", Target: "/mnt", FD: 1 << 20}, "give an open fd"},
	} {
		spec := &clone.Spec{Path: "/bin/true", Namespaces: clone.NewMount, Root: "/", Mounts: []clone.Mount{c.m}}
		if err := spec.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v; want %q", c.m, err, c.want)
		}
	}
}
