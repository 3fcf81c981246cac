package security_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// TestNoStartupWork builds a program that links security and
// security/seccomp and checks that neither has an init function: rawns
// links them into every run, and a run that uses none of it must not pay
// for them (a package-level map, or a slice of a table in a package-level
// value, each makes one).
func TestNoStartupWork(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed: %v", err)
	}
	dir := t.TempDir()
	src := `package main

import (
	"os"

	"github.com/rawns/rawns/security"
	"github.com/rawns/rawns/security/seccomp"
)

func main() {
	if len(os.Args) > 5 {
		p, _ := seccomp.ParseProfile(nil)
		seccomp.Compile(p, seccomp.Native(), seccomp.Options{})
		seccomp.Compile(seccomp.Default(), seccomp.Native(), seccomp.Options{})
		security.ParseCaps("")
		security.ParseRlimit("")
		security.User("/", "", nil, false)
	}
}
`
	// The program must be inside the module to import it, but nothing is
	// written there: go build's -overlay shows it a main.go in a
	// directory that does not exist, whose text is a file in dir.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/main.go", []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	pkg := filepath.Join(wd, "noinit-overlay-"+strconv.Itoa(os.Getpid()))
	overlay := `{"Replace":{` + strconv.Quote(pkg+"/main.go") + `:` + strconv.Quote(dir+"/main.go") + `}}`
	if err := os.WriteFile(dir+"/overlay.json", []byte(overlay), 0o644); err != nil {
		t.Fatal(err)
	}
	exe := dir + "/noinit"
	if out, err := exec.Command(goTool, "build", "-overlay", dir+"/overlay.json", "-o", exe, pkg).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if _, err := os.Stat(pkg); err == nil {
		t.Errorf("the build left %s in the source tree", pkg)
	}
	out, err := exec.Command(goTool, "tool", "nm", exe).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool nm: %v\n%s", err, out)
	}
	if m := regexp.MustCompile(`(?m) T (github.com/rawns/rawns/security\S*\.init(\.\S+)?)$`).FindAllString(string(out), -1); len(m) > 0 {
		t.Errorf("init functions, run at every start-up: %q", m)
	}
	if !regexp.MustCompile(`seccomp\.Compile`).Match(out) {
		t.Fatalf("the program did not link the compiler; the test proves nothing")
	}
}
