// Package testutil holds what rawns's tests share: the root gate and the
// host-state snapshot every namespace test compares before and after.
package testutil

import (
	"bytes"
	"os"
	"sync"
	"testing"
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
	Mounts     []byte // /proc/self/mountinfo
	Loopback   []byte // /sys/class/net/lo/flags
	Namespaces map[string]string
}

// SnapshotHost reads the host state of the calling process.
func SnapshotHost(t testing.TB) HostState {
	t.Helper()
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
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
// fails t if the hostname, mount table, loopback state or the process's own
// namespaces differ at the end.
func CheckHostUnchanged(t testing.TB) {
	t.Helper()
	before := SnapshotHost(t)
	t.Cleanup(func() {
		after := SnapshotHost(t)
		if after.Hostname != before.Hostname {
			t.Errorf("host hostname changed: %q -> %q", before.Hostname, after.Hostname)
		}
		if !bytes.Equal(after.Mounts, before.Mounts) {
			t.Errorf("host mount table changed:\nbefore:\n%s\nafter:\n%s", before.Mounts, after.Mounts)
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
