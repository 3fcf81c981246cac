//go:build linux && (amd64 || arm64)

package clone_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// TestUserNamespaceRoot: root makes a user namespace whose 0 is host uid
// and gid 1000 (what the OCI suite and podman's --userns configs ask).
// The child becomes the namespace's root before anything else: the
// command runs as 0 inside, and a directory it makes on a tmpfs of its
// own is owned by 0 there (without the switch the child is uid 65534
// inside, unmapped, and the mkdir fails with EOVERFLOW).
func TestUserNamespaceRoot(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	root := testutil.BusyboxRoot(t)
	// t.TempDir's own directory is 0700: the namespace's root, host uid
	// 1000, must be able to reach the root to bind it.
	if err := os.Chmod(filepath.Dir(root), 0o755); err != nil {
		t.Fatal(err)
	}
	spec := inRoot(root, `grep -E '^(Uid|Gid):' /proc/self/status; mkdir /tmp/d && stat -c '%u:%g' /tmp/d`)
	spec.Namespaces |= clone.NewUser
	spec.UIDMap = []clone.IDMap{{Inside: 0, Outside: 1000, Count: 1000}}
	spec.GIDMap = []clone.IDMap{{Inside: 0, Outside: 1000, Count: 1000}}
	spec.Mounts = []clone.Mount{procMount, {Kind: clone.MountFS, Type: "tmpfs", Target: "/tmp"}}
	out, st := run(t, spec)
	if want := "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n0:0\n"; out != want || st.ExitCode() != 0 {
		t.Errorf("got %q, %v; want %q", out, st, want)
	}
	testutil.AssertNoChildren(t)
}
