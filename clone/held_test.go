//go:build linux && (amd64 || arm64)

package clone_test

import (
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// TestHeldNamespace: during Hold the child's namespaces exist and can be
// opened, through the pidfd or /proc, and they are the ones the command
// then runs in; the pidfd is the Process's.
func TestHeldNamespace(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	var held clone.Held
	var inode [2]uint64 // net, uts namespaces seen during Hold
	spec := sh(`for n in net uts; do readlink /proc/self/ns/$n; done`)
	spec.Namespaces = clone.NewPID | clone.NewNet | clone.NewUTS
	spec.Hold = func(h clone.Held) error {
		held = h
		for i, k := range []clone.Namespaces{clone.NewNet, clone.NewUTS} {
			fd, err := h.Namespace(k)
			if err != nil {
				return err
			}
			var st unix.Stat_t
			err = unix.Fstat(fd, &st)
			unix.Close(fd)
			if err != nil {
				return err
			}
			inode[i] = st.Ino
		}
		if _, err := h.Namespace(clone.NewNet | clone.NewUTS); err == nil {
			t.Error("Namespace(net|uts) did not refuse two kinds")
		}
		return nil
	}
	out, st := run(t, spec)
	if st.ExitCode() != 0 {
		t.Fatalf("%v: %s", st, out)
	}
	want := "net:[" + strconv.FormatUint(inode[0], 10) + "]\nuts:[" + strconv.FormatUint(inode[1], 10) + "]\n"
	if out != want {
		t.Errorf("the command is in %q; Hold opened %q", out, want)
	}
	host, _ := os.Readlink("/proc/self/ns/net")
	if host == "net:["+strconv.FormatUint(inode[0], 10)+"]" {
		t.Error("Hold opened the host's network namespace")
	}
	if held.Pid <= 0 || held.PidFD < 3 {
		t.Errorf("Held = %+v; want a pid and a pidfd", held)
	}
}
