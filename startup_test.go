package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rawns/rawns/internal/testutil"
)

// The start-up budget of `rawns run`: every run pays its start-up, so no
// change may make it grow unnoticed. Held by counts, not times (these
// machines are shared and noisy): the minor page faults of
// `rawns run -- /bin/true` over those of /bin/true alone, and the threads
// rawns runs while the command does. A page fault costs about 12 µs on the
// VMs rawns is measured on (docs/benchmarks.md), a thread more.
//
// Measured when the budget was set (2026-12-01, Linux 6.18, Go 1.26):
// 219-237 faults (median of 31, in 15 tries) and 4 threads, 5 in 2 of 15
// tries (the runtime starts an M when one blocks in a system call at the
// wrong moment). Lowered when the environment stopped going through
// syscall's map (internal/environ): 214-233 in 12 tries, 4 threads, 5 in 2.
// A feature that a plain run does not use must cost it nothing. Since
// 2026-12-07 (session eight) counted with one P, so that the runtime's
// thread starts, which follow the machine's load, are not in it
// (testutil.MedianMinorFaults): 205-206 in 3 tries on the KVM guest.
const (
	startupFaultBudget  = 220
	startupThreadBudget = 5
)

func TestStartupBudget(t *testing.T) {
	testutil.RequireRoot(t)
	// The binary as users get it: make build's flags, no race detector.
	bin := filepath.Join(t.TempDir(), "rawns")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building rawns: %v\n%s", err, out)
	}
	// ru of each run covers the child and the children it reaped: rawns
	// and /bin/true.
	faults := func(path string, args ...string) int64 {
		return testutil.MedianMinorFaults(t, 31, []uintptr{0, 1, 2}, path, args...)
	}
	own := faults(bin, "run", "--", "/bin/true") - faults("/bin/true")
	t.Logf("rawns run -- /bin/true: %d minor page faults of its own (budget %d)", own, startupFaultBudget)
	if own > startupFaultBudget {
		t.Errorf("rawns run -- /bin/true takes %d minor page faults of its own (median of 31, /bin/true's subtracted), over the budget of %d: "+
			"something new runs or is touched at start-up. Find it with perf record -e page-faults -g -- %s run -- /bin/true, "+
			"and keep what a plain run does not use off its path (docs/benchmarks.md)", own, startupFaultBudget, bin)
	}

	cmd := exec.Command(bin, "run", "--", "sh", "-c", "echo ready; exec sleep 10")
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	if line, err := readLine(bufio.NewReader(out), 20*time.Second); err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("the command said %q, %v", line, err)
	}
	threads := 0
	st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	fmt.Sscanf(string(st[strings.Index(string(st), "Threads:"):]), "Threads: %d", &threads)
	t.Logf("rawns run while its command runs: %d threads (budget %d)", threads, startupThreadBudget)
	if threads == 0 || threads > startupThreadBudget {
		t.Errorf("rawns run has %d threads while its command runs, over the budget of %d: something starts a thread (LockOSThread's template thread, os/signal, a goroutine blocked in a syscall); find it with GODEBUG=schedtrace or strace -f -e clone", threads, startupThreadBudget)
	}
}
