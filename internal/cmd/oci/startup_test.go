package oci

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rawns/rawns/internal/testutil"
)

// The start-up of rawns-oci: engines run it three or four times per
// container (create, start, state, delete), so what it links and does
// before the verb runs is on every container's path. Held by a count, as
// TestStartupBudget holds rawns run's (root package): the minor page
// faults of `rawns-oci --root EMPTY list` (start-up, the flags, one
// directory read, the table's header) over those of /bin/true alone.
//
// Measured when the budget was set (2026-12-07, Linux 6.18, Go 1.26, the
// binary as make build makes it: CGO_ENABLED=0, -s -w): 190-196 (median
// of 31, in 5 tries); `state` of a missing container 201-203. 24 package
// inits run (GODEBUG=inittrace=1), the largest runtime-spec's one
// fmt.Sprintf.
const ociStartupFaultBudget = 210

func TestOCIStartupBudget(t *testing.T) {
	testutil.RequireRoot(t)
	bin := filepath.Join(t.TempDir(), "rawns-oci")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "github.com/rawns/rawns/cmd/rawns-oci")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building rawns-oci: %v\n%s", err, out)
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	root := t.TempDir()
	faults := func(path string, args ...string) int64 {
		return testutil.MedianMinorFaults(t, 31, []uintptr{0, null.Fd(), null.Fd()}, path, args...)
	}
	own := faults(bin, "--root", root, "list") - faults("/bin/true")
	t.Logf("rawns-oci list: %d minor page faults of its own (budget %d)", own, ociStartupFaultBudget)
	if own > ociStartupFaultBudget {
		t.Errorf("rawns-oci --root EMPTY list takes %d minor page faults of its own (median of 31, /bin/true's subtracted), over the budget of %d: "+
			"something new is linked or runs before the verb (a package-level var, an init). Find it with GODEBUG=inittrace=1 %s list "+
			"and perf record -e page-faults -g, and keep it off the verbs that do not use it", own, ociStartupFaultBudget, bin)
	}
}
