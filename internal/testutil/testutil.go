// Package testutil holds what rawns's tests share: the root gate and the
// host-state snapshot every namespace test compares before and after.
package testutil

import (
	"bytes"
	"fmt"
	"go/build"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/rawns/rawns/internal/procfs"
)

// RequireRoot skips t unless the test runs as root. When RAWNS_REQUIRE_ROOT=1
// (CI sets it) the skip is a failure instead: a root test that did not run
// proves nothing.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("RAWNS_REQUIRE_ROOT") == "1" {
		t.Fatalf("this test needs root, and RAWNS_REQUIRE_ROOT=1 forbids skipping it")
	}
	t.Skip("needs root (set RAWNS_REQUIRE_ROOT=1 to make this a failure)")
}

// HostState is what a namespace test must leave as it found it.
type HostState struct {
	Hostname   string
	Mounts     MountTable // /proc/self/mountinfo
	Loopback   []byte     // /sys/class/net/lo/flags
	Namespaces map[string]string
}

// SnapshotHost reads the host state of the calling process.
func SnapshotHost(t testing.TB) HostState {
	t.Helper()
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	mounts, err := ReadMounts(0)
	if err != nil {
		t.Fatal(err)
	}
	lo, _ := os.ReadFile("/sys/class/net/lo/flags")
	ns := make(map[string]string)
	for _, k := range []string{"pid", "uts", "mnt", "ipc", "net", "user", "cgroup", "time"} {
		if l, err := os.Readlink("/proc/self/ns/" + k); err == nil {
			ns[k] = l
		}
	}
	return HostState{Hostname: h, Mounts: mounts, Loopback: lo, Namespaces: ns}
}

// CheckHostUnchanged snapshots the host now and registers a cleanup that
// fails t if the hostname, the loopback state or the process's own
// namespaces differ at the end, or if a mount was left or changed in the
// test's territory (mounts.go): its own directories, dirs (places outside
// them where the test's runs could mount, e.g. /sys/kernel/tracing), and
// the host's mount points that were there before it.
func CheckHostUnchanged(t testing.TB, dirs ...string) {
	t.Helper()
	own := ownDirs(t, dirs)
	before := SnapshotHost(t)
	t.Cleanup(func() {
		after := SnapshotHost(t)
		if after.Hostname != before.Hostname {
			t.Errorf("host hostname changed: %q -> %q", before.Hostname, after.Hostname)
		}
		if c := before.Mounts.Changes(after.Mounts, own...); len(c) != 0 {
			t.Errorf("host mount table changed where this test could have left a mount (%s, and the host's mount points outside %s):\n%s",
				strings.Join(own, " "), strings.Join(sharedTemp(), " "), strings.Join(c, "\n"))
			// Said; now take them away, so that the removal of the
			// temporary directories (which runs after this: ownDirs
			// made the first one) cannot reach through a leaked bind
			// mount into the host's files, and the next test starts
			// clean.
			detachLeft(t, before.Mounts, after.Mounts, own[:ownTemp])
		}
		if !bytes.Equal(after.Loopback, before.Loopback) {
			t.Errorf("host loopback flags changed: %q -> %q", before.Loopback, after.Loopback)
		}
		for k, v := range before.Namespaces {
			if after.Namespaces[k] != v {
				t.Errorf("test process's %s namespace changed: %s -> %s", k, v, after.Namespaces[k])
			}
		}
	})
}

// The environment by which Run hands its directory to the test binaries
// its tests start.
const (
	envScratch  = "RAWNS_TEST_SCRATCH"
	envHostTemp = "RAWNS_TEST_HOST_TMPDIR"
)

// scratch is the directory of this test binary's own that Run makes and
// points TMPDIR at; hostTempDir is the temporary directory it had before.
var scratch, hostTempDir string

// Run runs m's tests with TMPDIR pointing at a new directory of this
// process's own, and removes it afterwards: every t.TempDir, and every
// temporary file of the programs the tests start, is then below one
// directory that no other program on the host uses, which the no-leak
// mount check takes as the test's own (mounts.go). A mount left in it also
// makes the removal, and so the run, fail. Call it from TestMain, after any
// helper dispatch: os.Exit(testutil.Run(m)).
func Run(m *testing.M) int {
	// A test binary that a test of this one started (a helper re-exec, a
	// child test as another user) works in its parent's directory.
	if dir := os.Getenv(envScratch); dir != "" {
		scratch, hostTempDir = dir, os.Getenv(envHostTemp)
		return m.Run()
	}
	hostTempDir = os.TempDir()
	dir, err := os.MkdirTemp("", "rawns-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "testutil:", err)
		return 1
	}
	// The rootless tests' unprivileged users must pass through it to the
	// directories the tests open up for them.
	os.Chmod(dir, 0o755)
	scratch = dir
	os.Setenv("TMPDIR", dir)
	os.Setenv(envScratch, dir)
	os.Setenv(envHostTemp, hostTempDir)
	code := m.Run()
	os.Setenv("TMPDIR", hostTempDir)
	os.Unsetenv(envScratch)
	os.Unsetenv(envHostTemp)
	// Never remove through a mount: below a bind mount lie the host's own
	// files.
	if mounts, err := ReadMounts(0); err == nil {
		var left []string
		for _, e := range mounts {
			if under(e.Point, dir) {
				left = append(left, e.Line)
			}
		}
		if len(left) != 0 {
			fmt.Fprintf(os.Stderr, "testutil: the tests left mounts in %s (kept for inspection):\n%s\n", dir, strings.Join(left, "\n"))
			return 1
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		fmt.Fprintf(os.Stderr, "testutil: removing the tests' scratch directory: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// SyncBuffer is a bytes.Buffer that a test may read while another
// goroutine (exec's copying one) writes it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// DefaultSignals makes the programs that t starts get each of sigs at
// SIG_DFL, as a test that sends them one expects. An ignored disposition
// survives fork and execve (signal(7)): under nohup (SIGHUP) or as a
// shell's background job (SIGINT, SIGQUIT) the test binary would pass it
// on, and a test waiting for a death by that signal would wait in vain.
// While Go's handler is installed for a signal, execve resets it to SIG_DFL
// in the child; Reset at the end of t gives the test binary its inherited
// disposition back. Signals not ignored are left alone.
func DefaultSignals(t testing.TB, sigs ...os.Signal) {
	t.Helper()
	// The kernel's word, not signal.Ignored's: after a Reset that one
	// forgets an inherited SIG_IGN that is in force again.
	mask := sigIgn(t)
	var ignored []os.Signal
	for _, s := range sigs {
		if n, ok := s.(syscall.Signal); ok && n > 0 && n <= 64 && mask&(1<<(n-1)) != 0 {
			ignored = append(ignored, s)
		}
	}
	if len(ignored) == 0 {
		return
	}
	t.Logf("this process ignores %v: its children get SIG_DFL while the test runs", ignored)
	c := make(chan os.Signal, 1)
	signal.Notify(c, ignored...)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-c: // ignored, as it was
			case <-done:
				return
			}
		}
	}()
	t.Cleanup(func() {
		signal.Reset(ignored...)
		close(done)
	})
}

// sigIgn is this process's SigIgn mask from /proc/self/status (proc(5)).
func sigIgn(t testing.TB) uint64 {
	t.Helper()
	var buf [4096]byte
	b, err := procfs.ReadFile(procfs.Path(0, "status"), buf[:])
	if err != nil {
		t.Fatal(err)
	}
	m, ok := procfs.StatusMask(b, "SigIgn")
	if !ok {
		t.Fatal("/proc/self/status has no SigIgn line")
	}
	return m
}

// Imports lists the import paths of the package in dir, as its Go files
// that are not tests import them for this GOOS and GOARCH (go/build's
// reading, which needs no go tool). The layout tests hold rules about who
// imports what with it.
func Imports(t testing.TB, dir string) []string {
	t.Helper()
	p, err := build.ImportDir(dir, 0)
	if err != nil {
		t.Fatalf("reading the package in %s: %v", dir, err)
	}
	return p.Imports
}
