package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rawns/rawns/internal/testutil"
)

// TestUnsafeOnlyInUnsafeFiles holds the rule that gVisor's checkunsafe
// enforces: a file that imports unsafe says so in its name (*_unsafe.go,
// or *_unsafe_test.go), so that a reviewer finds every place where Go's
// memory safety is set aside by listing files, and a new one shows up as
// a new file name in the diff.
func TestUnsafeOnlyInUnsafeFiles(t *testing.T) {
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "bin" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "unsafe" &&
				!strings.HasSuffix(path, "_unsafe.go") && !strings.HasSuffix(path, "_unsafe_test.go") {
				t.Errorf("%s imports unsafe: move what needs it into a file named *_unsafe.go (or *_unsafe_test.go)", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("checked only %d Go files; the walk missed the tree", checked)
	}
}

// TestLibrariesImportNoCLI: the libraries under rawns run (cgroup, rootfs,
// security) speak of their own fields and leave the wording to their
// callers (issue 20): rawns run names its flags, the OCI layer its JSON
// paths. Neither they nor anything they import, directly or through other
// packages of this module, may import the CLI's packages or its exit
// codes. The walk stops at clone, which holds the same rule (and more) in
// clone/imports_test.go.
func TestLibrariesImportNoCLI(t *testing.T) {
	const module = "github.com/rawns/rawns/"
	forbidden := []string{"internal/cli", "internal/cmd/", "internal/exitcode"}
	for _, lib := range []string{"cgroup", "rootfs", "security", "security/seccomp"} {
		// Every package of this module reachable from lib, with the path
		// it is reached by.
		seen := map[string]string{lib: lib}
		for queue := []string{lib}; len(queue) > 0; queue = queue[1:] {
			p := queue[0]
			if p == "clone" {
				continue
			}
			for _, im := range testutil.Imports(t, p) {
				im, ok := strings.CutPrefix(im, module)
				if _, done := seen[im]; ok && !done {
					seen[im] = seen[p] + " -> " + im
					queue = append(queue, im)
				}
			}
		}
		if len(seen) < 2 {
			t.Fatalf("%s imports nothing of this module: the walk is broken", lib)
		}
		for p, via := range seen {
			for _, bad := range forbidden {
				if strings.HasPrefix(p+"/", bad) {
					t.Errorf("%s imports %s (%s)", lib, p, via)
				}
			}
		}
	}
}
