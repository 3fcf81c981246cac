//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The container's cgroups, whichever runtime made them. runc puts a
// container in a cgroup of its own in every hierarchy; rawns-oci on this
// hybrid host puts it in a cgroup v2 one and joins a v1 hierarchy only for a
// limit the config asks for (docs/oci.md), and pauses through cgroup v2's
// cgroup.freeze. So the tests do not look in a fixed v1 hierarchy: they
// take the cgroups the container's first process is in and its parent (conmon
// or the shim) is not, in every hierarchy mounted in the sandbox.

// cgroupDirsOf maps each hierarchy of /proc/PID/cgroup to the directory of
// pid's cgroup in it, below the hierarchy's mount in the sandbox. A line's
// controllers ("memory", "name=systemd", "" for v2) name the mount whose
// superblock options hold them all; a hierarchy not mounted here (cgroup2
// under make e2e-bench) is left out.
func cgroupDirsOf(pid string) (map[string]string, error) {
	b, err := os.ReadFile("/proc/" + pid + "/cgroup")
	if err != nil {
		return nil, err
	}
	ms, err := readMounts()
	if err != nil {
		return nil, err
	}
	out := make(map[string]string)
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) != 3 {
			continue
		}
		for _, m := range ms {
			if !strings.HasPrefix(m.target, "/sys/fs/cgroup/") && m.target != "/sys/fs/cgroup" {
				continue
			}
			if f[1] == "" && m.fstype == "cgroup2" || f[1] != "" && m.fstype == "cgroup" && hasAll(m.super, f[1]) {
				out[f[0]+":"+f[1]] = filepath.Join(m.target, f[2])
				break
			}
		}
	}
	return out, nil
}

// hasAll: every comma-separated item of want is one of opts's.
func hasAll(opts, want string) bool {
	set := make(map[string]bool)
	for _, o := range strings.Split(opts, ",") {
		set[o] = true
	}
	for _, w := range strings.Split(want, ",") {
		if !set[w] {
			return false
		}
	}
	return true
}

// ownCgroups are the directories of the cgroups pid is in and its parent
// is not: the ones its runtime made for the container. A container an
// engine made has at least one; none fails t.
func ownCgroups(t testing.TB, pid string) []string {
	t.Helper()
	mine, err := cgroupDirsOf(pid)
	if err != nil {
		t.Fatalf("cgroups of %s: %v", pid, err)
	}
	parent, err := cgroupDirsOf(ppid(pid))
	if err != nil {
		t.Fatalf("cgroups of %s's parent: %v", pid, err)
	}
	var out []string
	for h, d := range mine {
		if parent[h] != d {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		t.Fatalf("pid %s is in no cgroup of its own: every one is its parent's %v", pid, parent)
	}
	return out
}

// ppid is pid's parent, from /proc/PID/stat (proc(5): the field after the
// state, which follows the command's closing parenthesis).
func ppid(pid string) string {
	b, _ := os.ReadFile("/proc/" + pid + "/stat")
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		if f := strings.Fields(s[i+1:]); len(f) >= 2 {
			return f[1]
		}
	}
	return "0"
}

// freezeState is "FROZEN" when one of pid's own cgroups is frozen (v1
// freezer.state FROZEN, or v2 cgroup.events "frozen 1"), "THAWED" when it
// has a freezer and none is; a container without any freezer fails t.
func freezeState(t testing.TB, pid string) string {
	t.Helper()
	found := false
	for _, d := range ownCgroups(t, pid) {
		if b, err := os.ReadFile(filepath.Join(d, "freezer.state")); err == nil {
			found = true
			if strings.TrimSpace(string(b)) == "FROZEN" {
				return "FROZEN"
			}
		}
		if b, err := os.ReadFile(filepath.Join(d, "cgroup.events")); err == nil {
			found = true
			for _, l := range strings.Split(string(b), "\n") {
				if l == "frozen 1" {
					return "FROZEN"
				}
			}
		}
	}
	if !found {
		t.Errorf("pid %s has no freezer in its own cgroups %v", pid, ownCgroups(t, pid))
		return ""
	}
	return "THAWED"
}

// cgroupInEvery is path in every cgroup hierarchy mounted in the sandbox:
// where a runtime given that cgroupsPath may have made it.
func cgroupInEvery(t testing.TB, path string) []string {
	t.Helper()
	ms, err := readMounts()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		if m.fstype == "cgroup" || m.fstype == "cgroup2" {
			out = append(out, filepath.Join(m.target, path))
		}
	}
	return out
}
