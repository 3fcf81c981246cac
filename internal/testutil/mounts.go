package testutil

import (
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/procfs"
)

// The no-leak mount check looks at what a test could have left, not at the
// whole host: other programs (other engineers' test suites, container
// engines, a loop mounting tmpfs under /tmp) mount and unmount things on
// the same machine while a test runs, and a byte-for-byte comparison of the
// mount table blamed the test for them. A test's territory is:
//
//   - its own directories: the scratch directory of its test binary (Run
//     points TMPDIR there, so every t.TempDir and every temporary file of
//     the rawns it starts lies below it), else the test's own t.TempDir
//     root, and the places the test names because its run could mount
//     there (CheckHostUnchanged's dirs);
//   - the host's mount points that existed before it, outside the shared
//     temporary directories: a mount stacked on /proc or a changed
//     propagation of / is the test's. A mount that another program makes
//     at a new place, or takes away, is not.
//
// Below its own directories everything counts: a mount added, removed or
// changed. TestMountCheckCanFail proves the check catches a mount that a
// command run by rawns leaves, in each part of the territory.

// MountEntry is one line of /proc/PID/mountinfo (proc_pid_mountinfo(5)).
type MountEntry struct {
	ID    int
	Point string // the mount point, unescaped
	Line  string
}

// MountTable is a snapshot of a mount table, in the kernel's order.
type MountTable []MountEntry

// ReadMounts reads the mount table of pid (0: this process).
func ReadMounts(pid int) (MountTable, error) {
	b, err := procfs.Read(procfs.Path(pid, "mountinfo"), nil)
	if err != nil {
		return nil, err
	}
	ms, err := procfs.Mounts(b)
	if err != nil {
		return nil, err
	}
	m := make(MountTable, len(ms))
	for i, e := range ms {
		m[i] = MountEntry{ID: e.ID, Point: e.Point, Line: e.Line}
	}
	return m, nil
}

// sharedTemp are the directories where any program on the host makes and
// removes things of its own: a mount below them belongs to a test only when
// it is below one of the test's own directories.
func sharedTemp() []string {
	dirs := []string{"/tmp", "/var/tmp"}
	if hostTempDir != "" {
		dirs = append(dirs, hostTempDir)
	}
	return dirs
}

// under reports whether path p is dir or below it.
func under(p, dir string) bool {
	if dir == "/" {
		return true
	}
	return p == dir || strings.HasPrefix(p, dir+"/")
}

func underAny(p string, dirs []string) bool {
	for _, d := range dirs {
		if under(p, d) {
			return true
		}
	}
	return false
}

// Changes lists the differences between before (m) and now that lie in the
// territory of a test whose own directories are own (see the comment at the
// top of this file), one line each, empty if none.
func (m MountTable) Changes(now MountTable, own ...string) []string {
	shared := sharedTemp()
	before := make(map[int]MountEntry, len(m))
	for _, e := range m {
		before[e.ID] = e
	}
	// Mount points of mounts present before and still present now: a new
	// mount there is stacked on a mount the host had.
	kept := make(map[string]bool, len(m))
	present := make(map[int]MountEntry, len(now))
	for _, e := range now {
		present[e.ID] = e
		if b, ok := before[e.ID]; ok && b.Point == e.Point {
			kept[e.Point] = true
		}
	}
	var out []string
	for _, e := range now {
		b, ok := before[e.ID]
		switch {
		case ok && b.Point == e.Point && b.Line == e.Line:
		case ok && b.Point == e.Point:
			if underAny(e.Point, own) || !underAny(e.Point, shared) {
				out = append(out, "changed: "+b.Line+"\n      to: "+e.Line)
			}
		default: // new, or a reused id at another place
			if underAny(e.Point, own) || (kept[e.Point] && !underAny(e.Point, shared)) {
				out = append(out, "added:   "+e.Line)
			}
		}
	}
	for _, b := range m {
		if e, ok := present[b.ID]; (!ok || e.Point != b.Point) && underAny(b.Point, own) {
			out = append(out, "removed: "+b.Line)
		}
	}
	return out
}

// ownTemp is how many of ownDirs's directories are temporary ones, first.
const ownTemp = 1

// ownDirs are the directories a test owns: its binary's scratch directory
// (Run), else its own t.TempDir root, and the extra ones it names, with
// symbolic links resolved as mountinfo shows paths. It calls t.TempDir in
// any case, so that the removal of the test's temporary directories is
// registered before, and so runs after, the mount check's cleanup.
func ownDirs(t testing.TB, extra []string) []string {
	t.Helper()
	tmp := filepath.Dir(t.TempDir())
	if scratch != "" {
		tmp = scratch
	}
	dirs := []string{tmp}
	for _, d := range extra {
		if !filepath.IsAbs(d) {
			t.Fatalf("testutil: own directory %q is not absolute", d)
		}
		dirs = append(dirs, filepath.Clean(d))
	}
	for i, d := range dirs {
		if r, err := filepath.EvalSymlinks(d); err == nil {
			dirs[i] = r
		}
	}
	return dirs
}

// detachLeft lazily unmounts the mounts added below dirs since before,
// newest first.
func detachLeft(t testing.TB, before, now MountTable, dirs []string) {
	t.Helper()
	had := make(map[int]string, len(before))
	for _, e := range before {
		had[e.ID] = e.Point
	}
	for i := len(now) - 1; i >= 0; i-- {
		e := now[i]
		if p, ok := had[e.ID]; (!ok || p != e.Point) && underAny(e.Point, dirs) {
			if err := unix.Unmount(e.Point, unix.MNT_DETACH); err != nil {
				t.Errorf("unmounting what the test left at %s: %v", e.Point, err)
			}
		}
	}
}
