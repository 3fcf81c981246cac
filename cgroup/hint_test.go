package cgroup

import (
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestPermHint: a cgroup that may not be made or written says what would
// allow it, and errors.Is finds ErrNotDelegated in it, for the caller to
// say how its user gives a delegated parent; other errors pass unchanged.
func TestPermHint(t *testing.T) {
	for _, errno := range []unix.Errno{unix.EACCES, unix.EPERM, unix.EROFS} {
		err := permHint(&os.PathError{Op: "mkdir", Path: "/x", Err: errno})
		want := "mkdir /x: " + errno.Error() + ": making cgroups needs root, or a cgroup delegated to your user (its directory and cgroup.procs, cgroup.subtree_control owned by you, as systemd's Delegate=yes does)"
		if !errors.Is(err, ErrNotDelegated) || !errors.Is(err, errno) || err.Error() != want {
			t.Errorf("%v: %q (ErrNotDelegated %v)\nwant %q", errno, err, errors.Is(err, ErrNotDelegated), want)
		}
	}
	if err := permHint(unix.ENOENT); err != unix.ENOENT {
		t.Errorf("ENOENT: %v", err)
	}
}
