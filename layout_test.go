package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
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
