package bench

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// TestOCIRowsLeaveNothing runs each OCI row's form twice with runc (make
// test-deps installs it): each time a fresh id, the lifecycle form's wait
// on the orphaned container process through the subreaper, and nothing
// left after: no container in the runtime's state, no cgroup named after
// an id, no child of the test's.
func TestOCIRowsLeaveNothing(t *testing.T) {
	testutil.RequireRoot(t)
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Fatalf("runc is not installed (make test-deps installs it): %v", err)
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	job := &Job{Path: "/bin/true", Args: []string{"true"}, Namespaces: clone.NewPID | clone.NewUTS, Hostname: "bench", Null: null}
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle")
	if err := makeBusyboxBundle(bundle, job); err != nil {
		t.Fatal(err)
	}
	if err := setSubreaper(true); err != nil {
		t.Fatal(err)
	}
	defer setSubreaper(false)
	root := filepath.Join(dir, "root")
	files := []uintptr{null.Fd(), null.Fd(), null.Fd()}
	for _, lifecycle := range []bool{false, true} {
		prefix := "rawns-bench-test-" + map[bool]string{false: "run-", true: "lifecycle-"}[lifecycle]
		row := &ociRow{runtime: runc, root: root, bundle: bundle, lifecycle: lifecycle, prefix: prefix}
		for range 2 {
			if err := row.once(files); err != nil {
				t.Fatalf("%s: %v", prefix, err)
			}
		}
		if row.n != 2 {
			t.Errorf("%s: %d ids used, want 2", prefix, row.n)
		}
		out, err := exec.Command(runc, "--root", root, "list", "-q").Output()
		if err != nil || strings.TrimSpace(string(out)) != "" {
			t.Errorf("%s: runc list after the rows: %q, %v; want none", prefix, out, err)
		}
		if left := cgroupsNamed(prefix); len(left) > 0 {
			t.Errorf("%s: cgroups left behind: %v", prefix, left)
		}
	}
	testutil.AssertNoChildren(t)
}

// cgroupsNamed returns the directories under /sys/fs/cgroup, six levels
// deep at most, whose names start with prefix.
func cgroupsNamed(prefix string) []string {
	var found []string
	filepath.WalkDir("/sys/fs/cgroup", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if strings.Count(p, "/") > 9 {
			return filepath.SkipDir
		}
		if strings.HasPrefix(d.Name(), prefix) {
			found = append(found, p)
		}
		return nil
	})
	return found
}
