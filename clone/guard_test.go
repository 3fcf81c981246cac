//go:build linux && (amd64 || arm64)

package clone

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// allowedInChildPath are the only functions the child path may call: this
// package's assembly and the runtime's fork hooks. Between
// runtime_BeforeFork and execve anything else could grow the stack (the
// child would die of "stack growth after fork", and the parent would read
// EOF on the error pipe, a false success), allocate, run a write barrier, call
// the race detector, or panic on an index: each a call the compiler emits.
// Not even x/sys/unix's RawSyscall: in a -race build it reaches the race
// detector through package syscall's ABI0 wrapper (trampoline_amd64.s).
var allowedInChildPath = map[string]bool{
	"github.com/rawns/rawns/clone.rawVfork.abi0":     true,
	"github.com/rawns/rawns/clone.cloneOnStack.abi0": true,
	"github.com/rawns/rawns/clone.rawSyscall.abi0":   true,
	"github.com/rawns/rawns/clone.rawSyscall6.abi0":  true,
	"syscall.runtime_BeforeFork":                     true,
	"syscall.runtime_AfterForkInChild":               true,
}

// childPathRoots are where the child path starts, each with the number of
// stack checks (runtime.morestack) it may have: cloneExec's prologue runs
// at entry, before runtime_BeforeFork. Every function of this package
// that the path calls is followed and checked the same way, with no stack
// check allowed (it must be nosplit); mustReach are functions the walk
// must find, so that a change in the disassembly's format cannot make it
// check nothing.
var (
	childPathRoots = map[string]int{"cloneExec": 1}
	mustReach      = []string{"childMain", "childSetup", "childNamespaces", "runSteps", "childFDs",
		"childConsole", "consoleMount", "childPrivilege", "childCaps", "childGate", "childSeccomp", "childExec", "childFail",
		"initHideNow", "initPrepare", "initCommand", "initReap"}
)

const pkgPrefix = "github.com/rawns/rawns/clone."

// TestChildPathCallsOnlyRawSyscalls builds this package's test binary the
// way it is being tested (with -race under -race; `go test` strips the binary
// it runs, so it cannot be read directly), disassembles each function of the
// child path, following every call into this package, and fails on any
// call but the allowed ones and the package's own nosplit helpers.
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
	// One disassembly of the whole package: its TEXT blocks by name.
	out, err := exec.Command(goTool, "tool", "objdump", "-s", `^github.com/rawns/rawns/clone\.`, exe).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool objdump: %v\n%s", err, out)
	}
	text := map[string]string{}
	for _, block := range strings.Split(string(out), "TEXT ")[1:] {
		name, _, _ := strings.Cut(block, "(SB)")
		text[name] = block
	}
	call := regexp.MustCompile(`\s(CALL|BL)\s+(\S+)\(SB\)`)
	indirect := regexp.MustCompile(`\sCALL\s+[A-Z0-9]+\s*$|\sCALL\s+\(|\sBL\s+\(`)
	seen := map[string]bool{}
	var queue []string
	for r := range childPathRoots {
		queue = append(queue, r)
	}
	calls := 0
	for len(queue) > 0 {
		f := queue[0]
		queue = queue[1:]
		if seen[f] {
			continue
		}
		seen[f] = true
		body, ok := text[pkgPrefix+f]
		if !ok {
			t.Fatalf("%s not found in %s's disassembly", f, exe)
		}
		morestack := 0
		for _, c := range call.FindAllStringSubmatch(body, -1) {
			sym := c[2]
			calls++
			switch {
			case allowedInChildPath[sym]:
			case strings.HasPrefix(sym, "runtime.morestack"):
				morestack++
			case strings.HasPrefix(sym, pkgPrefix) && !strings.Contains(sym, ".abi0") && !strings.Contains(sym[len(pkgPrefix):], "."):
				queue = append(queue, sym[len(pkgPrefix):]) // a helper of the package: follow it
			default:
				t.Errorf("%s calls %s: the child path may call only %v and this package's nosplit helpers", f, sym, keys(allowedInChildPath))
			}
		}
		if morestack > childPathRoots[f] {
			t.Errorf("%s has %d stack checks; %d allowed (a helper of the child path must be //go:nosplit)", f, morestack, childPathRoots[f])
		}
		if ind := indirect.FindAllString(body, -1); len(ind) > 0 {
			t.Errorf("%s makes indirect calls: %q", f, ind)
		}
	}
	for _, f := range mustReach {
		if !seen[f] {
			t.Errorf("the walk from cloneExec never reached %s (reached %v): the disassembly format may have changed, or the child's order did", f, keys(seen))
		}
	}
	if calls < 20 {
		t.Errorf("found only %d calls on the child path; the disassembly format may have changed", calls)
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

// TestTrampolineFrames holds, in the assembly's text, the two rules of
// trampoline_*.s that the running tests catch only by luck (tried on arm64
// under qemu: with either broken, the suite passed at least once):
//
//   - rawVfork has no frame: the assembler then saves no return address
//     or frame pointer on the stack, which the vfork-style child shares
//     and overwrites before the parent resumes.
//   - cloneOnStack's child reserves 16 bytes below its new stack's top
//     before it calls childMain, whose argument spill slot they are; without
//     them childMain writes over initData, which lies right above.
func TestTrampolineFrames(t *testing.T) {
	for _, c := range []struct {
		file, vfork, reserve, call string
	}{
		{"trampoline_amd64.s", `TEXT ·rawVfork(SB),NOSPLIT|NOFRAME,$0-48`, "SUBQ\t$16, SP", "CALL\tR12"},
		{"trampoline_arm64.s", `TEXT ·rawVfork(SB),NOSPLIT,$0-48`, "SUB\t$16, RSP", "BL\t(R19)"},
	} {
		b, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if !strings.Contains(s, c.vfork+"\n") {
			t.Errorf("%s: rawVfork must be declared %q (no frame on the shared stack)", c.file, c.vfork)
		}
		i := strings.Index(s, "TEXT ·cloneOnStack(SB)")
		if i < 0 {
			t.Fatalf("%s: no cloneOnStack", c.file)
		}
		body := s[i:]
		if j := strings.Index(body[1:], "\nTEXT "); j >= 0 {
			body = body[:j+1]
		}
		child := strings.Index(body, "\nchild:\n")
		if child < 0 {
			t.Fatalf("%s: cloneOnStack has no child: label", c.file)
		}
		r, k := strings.Index(body[child:], c.reserve), strings.Index(body[child:], c.call)
		if r < 0 || k < 0 || r > k {
			t.Errorf("%s: cloneOnStack's child must %q before %q", c.file, c.reserve, c.call)
		}
	}
}
