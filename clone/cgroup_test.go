//go:build linux && (amd64 || arm64)

package clone_test

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// cgroup2Mount returns where the cgroup v2 hierarchy is mounted (here
// /sys/fs/cgroup/unified, in the vmtest's kernels /sys/fs/cgroup), or "".
func cgroup2Mount(t *testing.T) string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - FSTYPE SOURCE SUPER
		l := sc.Text()
		pre, post, ok := strings.Cut(l, " - ")
		if !ok || !strings.HasPrefix(post, "cgroup2 ") {
			continue
		}
		if fs := strings.Fields(pre); len(fs) >= 5 && fs[3] == "/" {
			return fs[4]
		}
	}
	return ""
}

// The child is born in the cgroup given by Spec.CgroupFD: the program, read
// from inside, is there at exec, for both clone styles.
func TestCloneIntoCgroup(t *testing.T) {
	testutil.RequireRoot(t)
	mnt := cgroup2Mount(t)
	if mnt == "" {
		t.Fatal("no cgroup2 mount in /proc/self/mountinfo")
	}
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	var own string
	for _, l := range strings.Split(string(self), "\n") {
		if p, ok := strings.CutPrefix(l, "0::"); ok {
			own = p
		}
	}
	for _, s := range testutil.CloneStyles {
		if s.Syscall != clone.SyscallClone3 {
			continue
		}
		t.Run(s.Name, func(t *testing.T) {
			rel := filepath.Join(own, "clone-test-"+strconv.Itoa(os.Getpid())+"-"+s.Name)
			dir := filepath.Join(mnt, rel)
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := os.Remove(dir); err != nil {
					t.Errorf("removing %s: %v", dir, err)
				}
			}()
			fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd)
			spec := &clone.Spec{Path: "/bin/cat", Args: []string{"cat", "/proc/self/cgroup"},
				UseCgroupFD: true, CgroupFD: int32(fd), Mode: s.Mode, Syscall: s.Syscall}
			out, st := run(t, spec)
			if st.Code != 0 || !strings.Contains(out, "0::"+rel+"\n") {
				t.Fatalf("status %v, /proc/self/cgroup of the child:\n%s\nwant a line 0::%s", st, out, rel)
			}
		})
	}
}

func TestCgroupFDValidate(t *testing.T) {
	for _, c := range []struct {
		spec clone.Spec
		want string
	}{
		{clone.Spec{Path: "/bin/true", UseCgroupFD: true, CgroupFD: -1}, "CgroupFD is -1"},
		{clone.Spec{Path: "/bin/true", UseCgroupFD: true, CgroupFD: 3, Syscall: clone.SyscallClone}, "only in clone3"},
	} {
		err := c.spec.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want an error with %q", c.spec, err, c.want)
		}
	}
	// An fd that is no cgroup directory: clone3 refuses it, nothing runs.
	testutil.RequireRoot(t)
	f, err := os.Open("/")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = clone.Start(&clone.Spec{Path: "/bin/true", UseCgroupFD: true, CgroupFD: int32(f.Fd()), Syscall: clone.SyscallClone3})
	var ce *clone.CloneError
	if !errors.As(err, &ce) {
		t.Fatalf("Start into a non-cgroup fd: %v, want a *CloneError", err)
	}
}
