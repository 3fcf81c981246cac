package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
)

// envPrivate marks the re-exec of this test binary in a mount namespace of
// its own, where TestMountCheckCanFail may stack mounts on the host's mount
// points without touching the host.
const envPrivate = "RAWNS_TESTUTIL_PRIVATE_MNT"

func TestMain(m *testing.M) {
	if os.Getenv(envPrivate) == "1" {
		os.Exit(m.Run())
	}
	os.Exit(Run(m))
}

func TestMountChanges(t *testing.T) {
	e := func(id int, point, rest string) MountEntry {
		return MountEntry{ID: id, Point: point, Line: point + " " + rest}
	}
	before := MountTable{
		e(1, "/", "shared:1"), e(2, "/proc", "-"), e(3, "/tmp/other", "tmpfs"),
		e(4, "/tmp/own/a", "tmpfs"), e(5, "/sys/kernel/tracing", "tracefs"),
	}
	for _, c := range []struct {
		name string
		now  MountTable
		own  []string
		want []string // a substring of each change, in order
	}{
		{"nothing", before, []string{"/tmp/own"}, nil},
		{"others come and go under /tmp, and elsewhere",
			MountTable{before[0], before[1], before[3], before[4], e(6, "/tmp/other", "tmpfs again"), e(7, "/tmp/x y", "tmpfs"), e(8, "/run/netns/n", "nsfs")},
			[]string{"/tmp/own"}, nil},
		{"another program unmounts outside the test's directories",
			MountTable{before[0], before[1], before[3]}, []string{"/tmp/own"}, nil},
		{"a mount left below an own directory",
			append(append(MountTable{}, before...), e(9, "/tmp/own/b/c", "tmpfs")), []string{"/tmp/own"}, []string{"added:   /tmp/own/b/c"}},
		{"a mount removed below an own directory",
			MountTable{before[0], before[1], before[2], before[4]}, []string{"/tmp/own"}, []string{"removed: /tmp/own/a"}},
		{"a mount changed below an own directory",
			MountTable{before[0], before[1], before[2], e(4, "/tmp/own/a", "tmpfs ro"), before[4]}, []string{"/tmp/own"}, []string{"changed: /tmp/own/a"}},
		{"a mount stacked on the host's /proc",
			append(append(MountTable{}, before...), e(9, "/proc", "proc")), []string{"/tmp/own"}, []string{"added:   /proc proc"}},
		{"the propagation of / changed",
			MountTable{e(1, "/", "-"), before[1], before[2], before[3], before[4]}, []string{"/tmp/own"}, []string{"changed: / shared:1"}},
		{"an id reused at another place below an own directory",
			MountTable{before[0], before[1], e(3, "/tmp/own/z", "tmpfs"), before[3], before[4]}, []string{"/tmp/own"}, []string{"added:   /tmp/own/z"}},
		{"a place the test names",
			append(append(MountTable{}, before...), e(9, "/mnt", "tmpfs")), []string{"/tmp/own", "/mnt"}, []string{"added:   /mnt"}},
		{"the same place, not named", append(append(MountTable{}, before...), e(9, "/mnt", "tmpfs")), []string{"/tmp/own"}, nil},
	} {
		got := before.Changes(c.now, c.own...)
		ok := len(got) == len(c.want)
		for i := 0; ok && i < len(got); i++ {
			ok = strings.Contains(got[i], c.want[i])
		}
		if !ok {
			t.Errorf("%s: changes %q, want %q", c.name, got, c.want)
		}
	}
}

// recorder is a testing.TB whose errors and cleanups the test keeps.
type recorder struct {
	testing.TB
	errs     []string
	cleanups []func()
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recorder) finish() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

// runMount runs mount(8) with args as rawns runs a command, in a new UTS
// namespace only: its mounts land in this process's mount namespace, as a
// rawns that forgot the mount namespace would leave them.
func runMount(t *testing.T, args ...string) {
	t.Helper()
	p, err := clone.Start(&clone.Spec{Path: "/usr/bin/mount", Args: append([]string{"mount"}, args...), Namespaces: clone.NewUTS, Stdio: []int{0, 1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := p.Wait(); err != nil || st.ExitCode() != 0 {
		t.Fatalf("mount %q: %v %v", args, st, err)
	}
}

// TestMountCheckCanFail: the no-leak mount check fails a test whose rawns
// run left a mount in each part of its territory (below its own
// directories, stacked on a mount point of the host, at a place it names,
// a changed propagation of /), and fails no test for what another program
// does under /tmp. The host's mount points are only touched in a re-exec
// of this test in a mount namespace of its own.
func TestMountCheckCanFail(t *testing.T) {
	RequireRoot(t)
	if os.Getenv(envPrivate) != "1" {
		// Below the own directory, in the host's mount namespace.
		r := &recorder{TB: t}
		CheckHostUnchanged(r)
		dir := t.TempDir()
		runMount(t, "-t", "tmpfs", "rawns-leak", dir)
		r.finish()
		if len(r.errs) != 1 || !strings.Contains(r.errs[0], "added:") || !strings.Contains(r.errs[0], dir) {
			t.Errorf("a tmpfs left at %s: the check said %q", dir, r.errs)
		}
		if m, _ := ReadMounts(0); m.has(dir) {
			unix.Unmount(dir, unix.MNT_DETACH)
			t.Errorf("the check did not take away the mount it reported")
		}

		// Another program's mount under /tmp, outside the test's own
		// directories, while the check runs: not the test's.
		other, err := os.MkdirTemp(hostTempDir, "rawns-testutil-other-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.Remove(other)
		r = &recorder{TB: t}
		CheckHostUnchanged(r)
		if out, err := exec.Command("mount", "-t", "tmpfs", "rawns-other", other).CombinedOutput(); err != nil {
			t.Fatalf("mount: %v %s", err, out)
		}
		r.finish()
		unix.Unmount(other, unix.MNT_DETACH)
		if len(r.errs) != 0 {
			t.Errorf("another program's tmpfs at %s failed the test: %q", other, r.errs)
		}

		cmd := exec.Command(os.Args[0], "-test.run=^TestMountCheckCanFail$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), envPrivate+"=1")
		// Go's child makes every mount of the new namespace private
		// (syscall/exec_linux.go): nothing propagates back to the host.
		cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestMountCheckCanFail") {
			t.Fatalf("in a mount namespace of its own: %v\n%s", err, out)
		}
		return
	}

	// Here in a mount namespace of this process's own: the host's mount
	// points are copies.
	m, err := ReadMounts(0)
	if err != nil {
		t.Fatal(err)
	}
	var point string
	for _, p := range []string{"/dev/shm", "/dev", "/sys", "/run"} {
		if m.has(p) {
			point = p
			break
		}
	}
	if point == "" {
		t.Fatalf("none of /dev/shm, /dev, /sys, /run is a mount point here:\n%v", m)
	}
	for _, c := range []struct {
		what string
		own  []string
		args []string
		want string
	}{
		{"a tmpfs stacked on " + point, nil, []string{"-t", "tmpfs", "rawns-leak", point}, "added:"},
		{"/ made shared", nil, []string{"--make-shared", "/"}, "changed:"},
		{"a tmpfs at /mnt, which the test names", []string{"/mnt"}, []string{"-t", "tmpfs", "rawns-leak", "/mnt"}, "added:"},
	} {
		r := &recorder{TB: t}
		CheckHostUnchanged(r, c.own...)
		runMount(t, c.args...)
		r.finish()
		if len(r.errs) != 1 || !strings.Contains(r.errs[0], c.want) {
			t.Errorf("%s: the check said %q, want one error with %q", c.what, r.errs, c.want)
		}
		if c.args[0] == "-t" {
			unix.Unmount(c.args[len(c.args)-1], unix.MNT_DETACH)
		}
	}
}

func (m MountTable) has(point string) bool {
	for _, e := range m {
		if e.Point == point {
			return true
		}
	}
	return false
}

// TestDefaultSignals: with SIGHUP ignored, as under nohup, a child started
// while DefaultSignals is in force gets SIG_DFL, and after the test the
// process ignores it again, for a second test to do the same.
func TestDefaultSignals(t *testing.T) {
	signal.Ignore(syscall.SIGHUP)
	defer signal.Reset(syscall.SIGHUP)
	childIgnores := func() bool {
		out, err := exec.Command("sh", "-c", "grep SigIgn /proc/self/status").Output()
		if err != nil {
			t.Fatal(err)
		}
		m, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(string(out), "SigIgn:")), 16, 64)
		return m&(1<<(syscall.SIGHUP-1)) != 0
	}
	if !childIgnores() {
		t.Fatal("with SIGHUP ignored, the child does not ignore it: the test tests nothing")
	}
	for i := 0; i < 2; i++ {
		t.Run("", func(t *testing.T) {
			DefaultSignals(t, syscall.SIGHUP)
			if childIgnores() {
				t.Errorf("round %d: the child ignores SIGHUP under DefaultSignals", i)
			}
		})
		if !childIgnores() {
			t.Errorf("round %d: after the test, SIGHUP is no longer ignored", i)
		}
	}
}
