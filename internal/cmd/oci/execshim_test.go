package oci

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/kernel"
)

// heldShim reports how the gated process pid holds the exec shim: an fd of
// the file file (bound read-only), or of a copy on a tmpfs.
func heldShim(t *testing.T, pid int, file *unix.Stat_t) (fromFile, fromTmpfs bool) {
	t.Helper()
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	size := int64(len(clone.ExecShim()))
	for _, e := range ents {
		name := filepath.Join(dir, e.Name())
		var st unix.Stat_t
		var fs unix.Statfs_t
		if unix.Stat(name, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size != size {
			continue
		}
		switch {
		case file != nil && st.Dev == file.Dev && st.Ino == file.Ino:
			fromFile = true
		case unix.Statfs(name, &fs) == nil && fs.Type == unix.TMPFS_MAGIC:
			fromTmpfs = true
		}
	}
	return fromFile, fromTmpfs
}

// TestExecShimBesideBinary: a created container's process, waiting at the
// start gate, holds the exec shim it will exec (CVE-2019-5736,
// clone/execshim.go) as the file beside rawns-oci, bound read-only, not a
// tmpfs made for it (Linux 5.12+: mount_setattr(2); before, the tmpfs);
// a rawns-oci with no shim beside it (go install alone) uses the tmpfs.
func TestExecShimBesideBinary(t *testing.T) {
	e := newEnv(t, nil)
	var file unix.Stat_t
	if err := unix.Stat(filepath.Join(filepath.Dir(ociBin), clone.ShimFileName), &file); err != nil {
		t.Fatal(err)
	}
	alone := filepath.Join(t.TempDir(), "rawns-oci")
	data, err := os.ReadFile(ociBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(alone, data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, bin string
		file      bool
	}{{"beside", ociBin, kernel.AtLeast(5, 12)}, {"alone", alone, false}} {
		id := newID("shim-" + c.name)
		out := filepath.Join(t.TempDir(), "stdio")
		f, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(c.bin, "--root", e.root, "create", "--bundle", e.bundle, id)
		cmd.Stdout, cmd.Stderr = f, f
		err = cmd.Run()
		f.Close()
		if err != nil {
			msg, _ := os.ReadFile(out)
			t.Fatalf("%s: create: %v: %s", c.name, err, msg)
		}
		fromFile, fromTmpfs := heldShim(t, e.state(t, id).Pid, &file)
		if fromFile != c.file || fromTmpfs == c.file {
			t.Errorf("%s: the created container's process holds the shim beside rawns-oci: %v, a tmpfs copy: %v; want %v, %v",
				c.name, fromFile, fromTmpfs, c.file, !c.file)
		}
		if r := e.run(t, "start", id); r.code != 0 {
			t.Errorf("%s: start: %+v", c.name, r)
		}
		if r := e.run(t, "delete", "--force", id); r.code != 0 {
			t.Fatalf("%s: delete: %+v", c.name, r)
		}
	}
}
