package oci

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestCgroupParentsRemoved: a relative cgroupsPath whose parents do not
// exist gets them made (a v1 cpuset one with its parent's CPUs, or the
// container could take none), and delete removes them with the
// container's own; a parent that was there stays.
func TestCgroupParentsRemoved(t *testing.T) {
	top := fmt.Sprintf("h5par%d", os.Getpid())
	e := newEnv(t, func(s *specs.Spec) {
		s.Linux.CgroupsPath = top + "/mid/" + newID("parents")
		s.Linux.Resources = &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0"}, Pids: &specs.LinuxPids{Limit: 50}}
		s.Process.Args = []string{"true"}
	})
	r := e.run(t, "run", "--bundle", e.bundle, newID("parents"))
	if r.code != 0 {
		t.Fatalf("run: %+v", r)
	}
	for _, g := range []string{"/sys/fs/cgroup/*/" + top, "/sys/fs/cgroup/" + top, ownCgroupGlob() + top, "/sys/fs/cgroup/*/*/" + top} {
		if left, _ := filepath.Glob(g); len(left) > 0 {
			t.Errorf("parents left: %v", left)
		}
	}
}

// TestSliceFormCgroupsPath: without --systemd-cgroup, containerd 1.6's
// CRI form "test.slice:cri-containerd:ID" is one directory of that name
// below the caller's own cgroup, as runc's cgroupfs manager makes it: the
// container runs in it (with its pids limit), and delete removes it.
func TestSliceFormCgroupsPath(t *testing.T) {
	id := newID("slice")
	name := fmt.Sprintf("h5t%d.slice:cri-containerd:%s", os.Getpid(), id)
	e := newEnv(t, func(s *specs.Spec) {
		s.Linux.CgroupsPath = name
		s.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: 50}}
		s.Process.Args = []string{"sleep", "100"}
	})
	if r, _ := e.detached(t, "run", "-d", "--bundle", e.bundle, id); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	t.Cleanup(func() { e.run(t, "delete", "--force", id) })
	pid := e.state(t, id).Pid
	// The pids hierarchy: v1's on a hybrid host, else cgroup2's.
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	key, mnt := "pids", "/sys/fs/cgroup/pids"
	if !strings.Contains(string(own), ":pids:") {
		key, mnt = "", "/sys/fs/cgroup"
	}
	ownPath, found := "", false
	for _, l := range strings.Split(string(own), "\n") {
		if f := strings.SplitN(l, ":", 3); len(f) == 3 && f[1] == key {
			ownPath, found = strings.TrimSuffix(f[2], "/"), true
		}
	}
	want := ":" + key + ":" + ownPath + "/" + name + "\n"
	if !found || !strings.Contains(string(theirs), want) {
		t.Errorf("container's cgroups:\n%s\nwant the line %q", theirs, want)
	}
	dir := mnt + ownPath + "/" + name
	if b, err := os.ReadFile(dir + "/pids.max"); err != nil || strings.TrimSpace(string(b)) != "50" {
		t.Errorf("%s/pids.max: %q, %v; want 50", dir, b, err)
	}
	if r := e.run(t, "delete", "--force", id); r.code != 0 {
		t.Fatalf("delete: %+v", r)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s after delete: %v; want it gone", dir, err)
	}
}
