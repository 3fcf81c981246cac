package cgroup_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/rawns/rawns/cgroup"
	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// Without clone3 (a kernel before 5.3, or a seccomp profile answering
// ENOSYS, as container runtimes' defaults do) the child is still in its
// cgroup before exec: on v2 through the fork-style hold, on a hybrid host
// through the thread alone. The filter cannot be removed again, so the
// test runs in a child test process.
func TestPlacementWithoutClone3(t *testing.T) {
	testutil.RequireRoot(t)
	if os.Getenv("RAWNS_CGROUP_NOCLONE3") == "1" {
		if err := testutil.InstallSeccomp("clone3=ENOSYS"); err != nil {
			t.Fatal(err)
		}
		for _, s := range styles() {
			spec := &clone.Spec{Path: "/bin/cat", Args: []string{"cat", "/proc/self/cgroup"}, Mode: s.mode}
			r := runIn(t, cgroup.Options{Resources: cgroup.Resources{Pids: cgroup.Pids{Limit: 8}, Memory: cgroup.Memory{Limit: 64 << 20}}}, spec)
			if r.st.Code != 0 {
				t.Fatalf("%s: %v %s", s.name, r.st, r.out)
			}
			name := r.dirs[0][strings.LastIndexByte(r.dirs[0], '/')+1:]
			for _, l := range strings.Split(strings.TrimSpace(r.out), "\n") {
				f := strings.SplitN(l, ":", 3)
				if (f[1] == "memory" || f[1] == "pids" || f[1] == "" && r.pl == cgroup.PlaceHold) && !strings.HasSuffix(f[2], "/"+name) {
					t.Fatalf("%s, placement %s: at exec in %s, not %s", s.name, r.pl, l, name)
				}
			}
			if r.pl != cgroup.PlaceHold && r.pl != cgroup.PlaceThread {
				t.Fatalf("placement %s without clone3", r.pl)
			}
			fmt.Printf("placement %s ok\n", r.pl)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPlacementWithoutClone3$", "-test.v")
	cmd.Env = append(os.Environ(), "RAWNS_CGROUP_NOCLONE3=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "placement") {
		t.Fatalf("child test: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	if left := ours(t); len(left) != 0 {
		t.Fatalf("cgroups left: %v", left)
	}
}
