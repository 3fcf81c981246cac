package oci

import (
	"fmt"
	"os"
	"path/filepath"
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
