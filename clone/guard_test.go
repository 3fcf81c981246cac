//go:build linux && (amd64 || arm64)

package clone

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// allowedInChildPath are the only functions cloneExec may call. Between
// runtime_BeforeFork and execve anything else could grow the stack (the
// child would die of "stack growth after fork", and the parent would read
// EOF on the error pipe, a false success), allocate, run a write barrier, call
// the race detector, or panic on an index: each a call the compiler emits.
var allowedInChildPath = map[string]bool{
	"github.com/rawns/rawns/clone.rawVfork.abi0": true,
	"golang.org/x/sys/unix.RawSyscall.abi0":      true,
	"golang.org/x/sys/unix.RawSyscall6.abi0":     true,
	"syscall.runtime_BeforeFork":                 true,
	"syscall.runtime_AfterForkInChild":           true,
}

// TestChildPathCallsOnlyRawSyscalls builds this package's test binary the
// way it is being tested (with -race under -race; `go test` strips the binary
// it runs, so it cannot be read directly), disassembles cloneExec and fails on any call
// but the allowed ones. The function prologue's stack check
// (runtime.morestack_noctxt) runs at entry, before runtime_BeforeFork, and
// is the one other call allowed, once.
func TestChildPathCallsOnlyRawSyscalls(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to disassemble the child path: %v", err)
	}
	exe := t.TempDir() + "/clone.test"
	args := []string{"test", "-c", "-o", exe}
	if raceEnabled {
		args = append(args, "-race")
	}
	if out, err := exec.Command(goTool, append(args, ".")...).CombinedOutput(); err != nil {
		t.Fatalf("go %v: %v\n%s", args, err, out)
	}
	out, err := exec.Command(goTool, "tool", "objdump", "-s", `^github.com/rawns/rawns/clone\.cloneExec$`, exe).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool objdump: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "TEXT github.com/rawns/rawns/clone.cloneExec(SB)") {
		t.Fatalf("cloneExec not found in %s; objdump said:\n%s", exe, out)
	}
	call := regexp.MustCompile(`\s(CALL|BL)\s+(\S+)\(SB\)`)
	calls := call.FindAllStringSubmatch(string(out), -1)
	if len(calls) < 10 {
		t.Fatalf("found only %d calls in cloneExec; the disassembly format may have changed:\n%s", len(calls), out)
	}
	morestack := 0
	for _, c := range calls {
		sym := c[2]
		switch {
		case allowedInChildPath[sym]:
		case strings.HasPrefix(sym, "runtime.morestack"):
			morestack++
		default:
			t.Errorf("cloneExec calls %s: the child path may call only %v", sym, keys(allowedInChildPath))
		}
	}
	if morestack > 1 {
		t.Errorf("cloneExec has %d stack checks; only the prologue's is allowed", morestack)
	}
	if indirect := regexp.MustCompile(`\sCALL\s+[A-Z0-9]+\s*$|\sCALL\s+\(`).FindAllString(string(out), -1); len(indirect) > 0 {
		t.Errorf("cloneExec makes indirect calls: %q", indirect)
	}
}

func keys(m map[string]bool) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// raceEnabled is set by race_test.go in -race builds.
var raceEnabled bool
