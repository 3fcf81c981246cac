//go:build linux && (amd64 || arm64)

package clone_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// TestManyMounts: the table takes an OCI-sized list and more: 300 mounts,
// binds (each holding a slot from before anything is mounted) and tmpfs
// mounts alternating, all made and seen by the command.
func TestManyMounts(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	root := testutil.BusyboxRoot(t)
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644)
	spec := inRoot(root, `grep -c ' /m/' /proc/self/mountinfo; cat /m/b0/f /m/b298/f`)
	spec.Mounts = append(spec.Mounts, procMount, clone.Mount{Kind: clone.MountFS, Type: "tmpfs", Target: "/m"})
	for i := range 300 {
		if i%2 == 0 {
			spec.Mounts = append(spec.Mounts, clone.Mount{Kind: clone.MountBind, Source: src, Target: fmt.Sprintf("/m/b%d", i)})
		} else {
			spec.Mounts = append(spec.Mounts, clone.Mount{Kind: clone.MountFS, Type: "tmpfs", Target: fmt.Sprintf("/m/t%d", i)})
		}
	}
	out, st := run(t, spec)
	if strings.TrimSpace(out) != "300\nxx" || st.ExitCode() != 0 {
		t.Fatalf("got %q, %v; want 300 mounts under /m and both binds readable", out, st)
	}
	spec.Mounts = make([]clone.Mount, clone.MaxMounts+1)
	if err := spec.Validate(); err == nil || !strings.Contains(err.Error(), "at most 1024") {
		t.Errorf("Validate with %d mounts: %v", len(spec.Mounts), err)
	}
}
