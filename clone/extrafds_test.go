//go:build linux && (amd64 || arm64)

package clone_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// TestExtraFDs: the program gets ExtraFDs on 3, 4, ... without
// close-on-exec, Stdio on 0-2 though the numbers cross, and nothing else:
// not the parent's other fds, leaked without close-on-exec or not
// (CVE-2024-21626).
func TestExtraFDs(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.WriteFile(in, []byte("from fd 4\n"), 0o644)
	leak, err := unix.Open("/dev/null", unix.O_RDONLY, 0) // no close-on-exec
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(leak)
	for _, s := range testutil.CloneStyles {
		t.Run(s.Name, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			f, err := os.Open(in)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			// Stdout on the pipe, stderr on fd 4's file: the extras are
			// the pipe (as 3), the file (as 4), the pipe again (as 5).
			spec := &clone.Spec{Path: "/bin/sh", Args: []string{"sh", "-c",
				`echo to3 >&3; cat <&4; echo to5 >&5; ls /proc/self/fd | tr '\n' ' '`},
				Namespaces: clone.NewPID, Mode: s.Mode, Syscall: s.Syscall,
				Stdio:    []int{0, int(w.Fd()), 2},
				ExtraFDs: []int{int(w.Fd()), int(f.Fd()), int(w.Fd())},
			}
			p, err := clone.Start(spec)
			w.Close()
			if err != nil {
				t.Fatal(err)
			}
			st, err := p.Wait()
			out, _ := readAll(r)
			if err != nil || st.ExitCode() != 0 {
				t.Fatalf("%v, %v: %s", st, err, out)
			}
			if want := "to3\nfrom fd 4\nto5\n0 1 2 3 4 5 6 "; out != want { // 6: ls's own directory
				t.Errorf("got %q, want %q", out, want)
			}
		})
	}
}

// TestExtraFDsOnLowNumbers: extras whose numbers are targets of one
// another (fd 4 becomes 3, fd 3 becomes 4) are swapped, not clobbered.
// The test binary's own 3 and 4 belong to its runtime (the netpoller's
// epoll and eventfd): replacing them, even for a moment, crashed it in
// the VMs ("epollwait on fd 4 failed with 22"). So a helper process is
// started with the two files on 3 and 4 from its first instruction, and
// does the Start (extraFDsLowHelper).
func TestExtraFDsOnLowNumbers(t *testing.T) {
	testutil.RequireRoot(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var files []*os.File
	for _, n := range []string{"a", "b"} {
		name := filepath.Join(dir, n)
		os.WriteFile(name, []byte(name+"\n"), 0o644)
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files = append(files, f)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "RAWNS_TEST_EXTRAFDS_LOW=1")
	cmd.ExtraFiles = files // a on 3, b on 4
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if want := filepath.Join(dir, "b") + "\n" + filepath.Join(dir, "a") + "\n"; string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

// extraFDsLowHelper is TestExtraFDsOnLowNumbers's helper: with
// RAWNS_TEST_EXTRAFDS_LOW set, this test binary, started with a file on 3
// and another on 4, starts cat on them as ExtraFDs{4, 3} and exits with
// its status.
func init() {
	if os.Getenv("RAWNS_TEST_EXTRAFDS_LOW") == "" {
		return
	}
	p, err := clone.Start(&clone.Spec{Path: "/bin/sh", Args: []string{"sh", "-c", "cat <&3; cat <&4"},
		Stdio: []int{0, 1, 2}, ExtraFDs: []int{4, 3}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(99)
	}
	st, _ := p.Wait()
	os.Exit(st.ExitCode())
}

func TestExtraFDsValidate(t *testing.T) {
	for _, c := range []struct {
		spec clone.Spec
		want string
	}{
		{clone.Spec{Path: "/bin/true", ExtraFDs: []int{-1}}, "ExtraFDs[0] is -1"},
		{clone.Spec{Path: "/bin/true", ExtraFDs: []int{2, 9999}}, "ExtraFDs[1] (fd 9999): bad file descriptor"},
		{clone.Spec{Path: "/bin/true", ExtraFDs: make([]int, clone.MaxExtraFDs+1)}, "at most 1024"},
	} {
		if err := c.spec.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(ExtraFDs %v...) = %v, want %q", c.spec.ExtraFDs[:min(2, len(c.spec.ExtraFDs))], err, c.want)
		}
	}
}

// TestFDStepErrorNamesTheEntry: a Stdio fd that is not open fails its dup3,
// and the error names the entry.
func TestFDStepErrorNamesTheEntry(t *testing.T) {
	testutil.RequireRoot(t)
	_, err := clone.Start(&clone.Spec{Path: "/bin/true", Stdio: []int{0, 1, 999}})
	var ce *clone.ChildError
	if !errors.As(err, &ce) || ce.Stage != clone.StageFDs || ce.List != "Stdio" || ce.Index != 2 || ce.Errno != unix.EBADF || ce.Step < 0 {
		t.Fatalf("got %v (%+v); want Stdio[2]'s dup3 failing with EBADF", err, ce)
	}
	if !strings.Contains(err.Error(), "fd 2 (Stdio[2])") || !strings.Contains(err.Error(), "dup3") {
		t.Errorf("error %q does not name the entry and the call", err)
	}
	if ce.Stage.Phase() != clone.PhaseFDs {
		t.Errorf("Phase of %v = %v", ce.Stage, ce.Stage.Phase())
	}
	testutil.AssertNoChildren(t)
}
