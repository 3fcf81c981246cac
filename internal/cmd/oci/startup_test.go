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
// fmt.Sprintf. Since 2026-12-07 (session eight) counted with one P
// (testutil.MedianMinorFaults says why: the count with two moved by 20
// with the machine's load): 168 in 3 tries on the KVM guest.
const ociStartupFaultBudget = 180

func TestOCIStartupBudget(t *testing.T) {
	testutil.RequireRoot(t)
	bin, faults := madeBinary(t)
	root := t.TempDir()
	own := faults(bin, "--root", root, "list") - faults("/bin/true")
	t.Logf("rawns-oci list: %d minor page faults of its own (budget %d)", own, ociStartupFaultBudget)
	if own > ociStartupFaultBudget {
		t.Errorf("rawns-oci --root EMPTY list takes %d minor page faults of its own (median of 31, /bin/true's subtracted), over the budget of %d: "+
			"something new is linked or runs before the verb (a package-level var, an init). Find it with GODEBUG=inittrace=1 %s list "+
			"and perf record -e page-faults -g, and keep it off the verbs that do not use it", own, ociStartupFaultBudget, bin)
	}
}

// madeBinary builds rawns-oci as make build does (CGO_ENABLED=0, -s -w),
// and returns it with a function that counts the minor page faults of a
// command, median of 31, its output dropped.
func madeBinary(t *testing.T) (string, func(path string, args ...string) int64) {
	t.Helper()
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
	t.Cleanup(func() { null.Close() })
	return bin, func(path string, args ...string) int64 {
		return testutil.MedianMinorFaults(t, 31, []uintptr{0, null.Fd(), null.Fd()}, path, args...)
	}
}

// The verbs after create read the container's state.json, derive its
// status and (state) print it: start, state, kill and delete, three of
// them per container. Held by a count, as the start-up is: the minor page
// faults of `rawns-oci state ID` of a created container over those of
// /bin/true.
//
// Measured when the budget was set (2026-12-07, Linux 6.18, Go 1.26,
// CGO_ENABLED=0, -s -w): 221-223 (three tries) when state.json was
// decoded and printed through encoding/json and the status read through
// os.ReadFile (which starts the runtime's poller); 196-198 with all of it
// by hand (jsontext.Reader, OCIState.AppendJSON, raw reads into the stack).
// With one P (testutil.MedianMinorFaults), session eight: 179-180 in 3
// tries, config.json the lock.
const ociStateFaultBudget = 192

func TestOCIStateFaultBudget(t *testing.T) {
	bin, faults := madeBinary(t)
	e := newEnv(t, nil)
	if r, _ := e.create(t, "budget"); r.code != 0 {
		t.Fatalf("create: %+v", r)
	}
	defer e.run(t, "delete", "--force", "budget")
	own := faults(bin, "--root", e.root, "state", "budget") - faults("/bin/true")
	t.Logf("rawns-oci state ID: %d minor page faults of its own (budget %d)", own, ociStateFaultBudget)
	if own > ociStateFaultBudget {
		t.Errorf("rawns-oci state ID takes %d minor page faults of its own (median of 31, /bin/true's subtracted), over the budget of %d: "+
			"the path of start, state, kill and delete pages in more than it did (encoding/json's decoder, os.File's poller, a new allocation size). "+
			"Find it with perf record -e page-faults -d on an unstripped build, and keep it off that path", own, ociStateFaultBudget)
	}
}
