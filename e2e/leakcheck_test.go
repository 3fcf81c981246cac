//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestLeakCheck proves that the end-of-run checks can fail: it leaves one
// thing of each kind they look for (a cgroup, a container cgroup under an
// engine's parent, a mount, a named network namespace, a process, a veth,
// an iptables rule, a runtime state directory), sees each one reported,
// and removes it. It runs in the sandbox, where the same checks look at
// the sandbox's own namespaces (and at the host's cgroups, which are
// shared).
func TestLeakCheck(t *testing.T) {
	timeStage(t)
	tmp := sb.tmp
	base := filepath.Base(tmp)
	expect := func(what string, leaks []string, want string) {
		t.Helper()
		for _, l := range leaks {
			if strings.Contains(l, want) {
				return
			}
		}
		t.Errorf("%s: the check did not report %q; it reported %q", what, want, leaks)
	}
	sh := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", args, err, out)
		}
	}

	t.Run("cgroup", func(t *testing.T) {
		before := cgroupDirs(cgroupMarkers(tmp))
		probe := filepath.Join("/sys/fs/cgroup/pids", base+"-probe")
		if err := os.Mkdir(probe, 0o755); err != nil {
			t.Fatal(err)
		}
		defer unix.Rmdir(probe)
		expect("cgroup", newOnes("cgroup", before, cgroupDirs(cgroupMarkers(tmp))), "pids/"+base+"-probe")
	})
	t.Run("container-cgroup", func(t *testing.T) {
		parent := "/" + base + "-probe2"
		dir := filepath.Join("/sys/fs/cgroup/pids", parent, "podman", "libpod-0123")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		leaks := cgroupTreeLeaks(parent, func(rel string) bool { return rel == "podman" })
		expect("container cgroup", leaks, "podman/libpod-0123 (a container's")
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/pids", parent)); err == nil {
			t.Errorf("cgroupTreeLeaks left %s", parent)
		}
	})
	t.Run("mount", func(t *testing.T) {
		target := filepath.Join(tmp, "probe-mount")
		os.Mkdir(target, 0o755)
		baseline, _ := readMounts()
		if err := unix.Mount("probe", target, "tmpfs", 0, ""); err != nil {
			t.Fatal(err)
		}
		defer unix.Unmount(target, unix.MNT_DETACH)
		ms, _ := readMounts()
		expect("mount under the run's directory", mountLeaks(ms, tmp, sandboxNS{}), target)
		expect("mount in the sandbox", newMounts(baseline, ms), target)
	})
	t.Run("netns", func(t *testing.T) {
		sh("ip", "netns", "add", "e2e-probe")
		defer exec.Command("ip", "netns", "del", "e2e-probe").Run()
		var st unix.Stat_t
		if err := unix.Stat("/run/netns/e2e-probe", &st); err != nil {
			t.Fatal(err)
		}
		ms, _ := readMounts()
		expect("network namespace mount", mountLeaks(ms, tmp, sandboxNS{net: st.Ino}), "/run/netns/e2e-probe")
		f, err := os.Open("/run/netns/e2e-probe")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if !netnsAlive(st.Ino) {
			t.Errorf("netnsAlive: the namespace held by fd %d is not seen", f.Fd())
		}
	})
	t.Run("process", func(t *testing.T) {
		cmd := exec.Command("sleep", "100")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		var st unix.Stat_t
		unix.Stat("/proc/self/ns/net", &st)
		expect("process in the sandbox's network namespace", processLeaks(sandboxNS{net: st.Ino}, tmp, 1), fmt.Sprintf("process %d (sleep)", cmd.Process.Pid))
		expect("process of the sandbox", processesExcept(1, os.Getpid()), fmt.Sprintf("%d (sleep)", cmd.Process.Pid))
	})
	t.Run("link", func(t *testing.T) {
		before := links()
		sh("ip", "link", "add", "e2e-probe0", "type", "veth", "peer", "name", "e2e-probe1")
		defer exec.Command("ip", "link", "del", "e2e-probe0").Run()
		expect("veth", newOnes("link", before, links()), "link e2e-probe0")
	})
	t.Run("iptables", func(t *testing.T) {
		before := rules()
		rule := []string{"INPUT", "-m", "comment", "--comment", "rawns-e2e-probe", "-j", "ACCEPT"}
		sh(append([]string{"iptables", "-w", "-A"}, rule...)...)
		defer exec.Command("iptables", append([]string{"-w", "-D"}, rule...)...).Run()
		expect("iptables rule", newOnes("rule", before, rules()), "rawns-e2e-probe")
	})
	t.Run("state", func(t *testing.T) {
		before := stateEntries(tmp)
		dir := "/run/runc/e2e-probe" // the sandbox's /run: TMP/run
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(dir)
		expect("runtime state directory", newOnes("state", before, stateEntries(tmp)), dir)
	})
}
