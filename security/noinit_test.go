package security_test

import (
	"os"
	"os/exec"
	"regexp"
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
	if err := os.MkdirAll("testdata/noinit", 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll("testdata")
	if err := os.WriteFile("testdata/noinit/main.go", []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	exe := dir + "/noinit"
	if out, err := exec.Command(goTool, "build", "-o", exe, "./testdata/noinit").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
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
