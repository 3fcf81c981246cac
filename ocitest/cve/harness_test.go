package cve

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/testutil"
)

// TestFailedCheckLeavesNothing: a check that ends in t.Fatal after making
// containers (one running /bin/sleep 60, one created and waiting at its
// start gate) must still leave no container, process or cgroup behind:
// forEachRuntime deletes them in a t.Cleanup. The failing check runs in
// a child test process (this binary again, OCITEST_FATAL_CHILD=1) against
// the runtimes of this run; the parent then looks for anything named
// after the child's container ids.
func TestFailedCheckLeavesNothing(t *testing.T) {
	if os.Getenv("OCITEST_FATAL_CHILD") == "1" {
		forEachRuntime(t, "none", func(t *testing.T, r *runner) error {
			_, b := r.sleeper()
			if _, _, err := r.create(b); err != nil {
				t.Fatal(err)
			}
			t.Fatal("OCITEST_FATAL_CHILD: failing on purpose with two containers made")
			return nil
		})
		return
	}
	testutil.RequireRoot(t)
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	var list []string
	for _, rt := range runtimes {
		list = append(list, rt.name+"="+rt.path)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFailedCheckLeavesNothing$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "OCITEST_FATAL_CHILD=1", "OCITEST_RUNTIMES="+strings.Join(list, ","), "OCITEST_REOPEN=")
	out, err := cmd.CombinedOutput()
	if err == nil || strings.Count(string(out), "failing on purpose") != len(runtimes) {
		t.Fatalf("the child test did not fail on purpose once per runtime (%v):\n%s", err, out)
	}
	if strings.Contains(string(out), "still runs in") || strings.Contains(string(out), "rawns-oci left cgroups behind") {
		t.Errorf("the child's cleanup found what its runtime left:\n%s", out)
	}
	prefix := fmt.Sprintf("ocitest-cve-%d-", cmd.Process.Pid)
	var left []string
	dirs := cgroupsNamed(func(name string) bool { return strings.HasPrefix(name, prefix) })
	for _, p := range dirs {
		left = append(left, p)
		if b, err := os.ReadFile(filepath.Join(p, "cgroup.procs")); err == nil {
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil {
					left = append(left, fmt.Sprintf("process %d in it (killed)", pid))
					unix.Kill(pid, unix.SIGKILL)
				}
			}
		}
	}
	if len(left) > 0 {
		time.Sleep(100 * time.Millisecond)
		for _, p := range dirs {
			unix.Rmdir(p)
		}
		t.Errorf("a failed check left behind: %s\nthe child's output:\n%s", strings.Join(left, "; "), out)
	}
}
