package clone_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLibraryImportsNoCLI: clone speaks of fields, not flags, and keeps
// no policy of the command lines built on it (issue 20): none of its files
// imports the CLI's packages, rawns run's signal relay or its exit codes
// (clone's own numbers are held equal to those by TestExitCodesMatchTheCLI).
func TestLibraryImportsNoCLI(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	forbidden := []string{"/internal/cli", "/internal/cmd/", "/internal/exitcode", "/internal/sigrelay"}
	fset := token.NewFileSet()
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		n++
		for _, im := range af.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			for _, bad := range forbidden {
				if strings.Contains(p+"/", bad) {
					t.Errorf("%s imports %s", f, p)
				}
			}
		}
	}
	if n < 5 {
		t.Fatalf("read only %d files", n)
	}
}
