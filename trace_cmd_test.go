package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rawns/rawns/internal/testutil"
)

func TestRunTrace(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	for _, set := range []string{"pid,uts", "all", "net", "user", "time"} {
		for _, init := range []bool{false, true} {
			args := []string{"run", "--trace", "--ns", set}
			if init {
				if !strings.Contains(set, "pid") && set != "all" {
					continue // --init needs a PID namespace
				}
				args = append(args, "--init")
			}
			r := rawnsRun(t, append(args, "--", "/bin/true")...)
			if r.code != 0 || !strings.Contains(r.stderr, "trace: OK") || strings.Contains(r.stderr, "MISMATCH") {
				t.Errorf("rawns %q: exit %d\n%s", args, r.code, r.stderr)
			}
		}
	}
	r := rawnsRun(t, "run", "--trace=json", "--hostname", "traced", "--", "/bin/true")
	var got map[string]any
	if err := json.Unmarshal([]byte(r.stderr), &got); err != nil || r.code != 0 {
		t.Fatalf("--trace=json: exit %d, %v:\n%s", r.code, err, r.stderr)
	}
	if got["nodename"] != "traced" || got["ok"] != true || got["ns-pid"] != float64(1) {
		t.Errorf("--trace=json: nodename %v ok %v ns-pid %v", got["nodename"], got["ok"], got["ns-pid"])
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"run", "--trace=xml", "--", "true"}, "unknown format"},
		{[]string{"run", "--trace", "--clone", "vfork", "--", "true"}, "drop --clone vfork"},
		{[]string{"run", "--trace", "--ns", "time", "--boottime", "1", "--", "true"}, "drop --monotonic/--boottime or --trace"},
	} {
		r := rawnsRun(t, c.args...)
		if r.code != 125 || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("rawns %q: %+v; want 125 and %q", c.args, r, c.msg)
		}
	}
	// Without BPF privilege: a clear message, and nothing started.
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", rawnsBin,
		"run", "--ns", "user", "--map-root-user", "--trace", "--", "true")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 125 || !strings.Contains(string(out), "CAP_BPF") {
		t.Errorf("--trace as nobody: %v %s; want exit 125 and a message naming CAP_BPF", err, out)
	}
}

// TestTraceCommandExecsHelper: `rawns trace` replaces itself with
// `rawns-trace watch`, found next to rawns.
func TestTraceCommandExecsHelper(t *testing.T) {
	r := rawnsRun(t, "trace", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "usage: rawns trace") || r.stderr != "" {
		t.Fatalf("rawns trace --help: %+v", r)
	}
	r = rawnsRun(t, "trace", "--bogus")
	if r.code != 125 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "rawns trace --help") {
		t.Fatalf("rawns trace --bogus: %+v; want 125 and one line", r)
	}
}

// TestTraceHelperMissing: a rawns without rawns-trace beside it (nor on
// PATH) says so in one line, names the fix, and starts nothing.
func TestTraceHelperMissing(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(rawnsBin)
	if err != nil {
		t.Fatal(err)
	}
	alone := filepath.Join(dir, "rawns")
	if err := os.WriteFile(alone, b, 0o755); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, "ran")
	for _, args := range [][]string{
		{"run", "--trace", "--", "/bin/sh", "-c", "touch " + marker},
		{"trace", "--help"},
	} {
		cmd := exec.Command(alone, args...)
		cmd.Env = append(os.Environ(), "PATH=/nonexistent")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 125 {
			t.Errorf("%q: %v, want exit 125", args, err)
		}
		msg := stderr.String()
		if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, filepath.Join(dir, "rawns-trace")) || !strings.Contains(msg, "make build") {
			t.Errorf("%q: want one line naming %s and make build, got %q", args, filepath.Join(dir, "rawns-trace"), msg)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the command ran although --trace could not be set up")
	}
}

// TestRunTraceNoLeak: after run --trace the exec helper is reaped and no
// pipe leaks into the command.
func TestRunTraceNoLeak(t *testing.T) {
	testutil.RequireRoot(t)
	r := rawnsRun(t, "run", "--trace", "--ns", "pid", "--", "/bin/sh", "-c", "ls /proc/self/fd")
	if r.code != 0 || !strings.Contains(r.stderr, "trace: OK") {
		t.Fatalf("%+v", r)
	}
	// 0, 1, 2 and ls's own directory fd.
	if fds := strings.Fields(r.stdout); len(fds) > 4 {
		t.Errorf("the command inherited fds %q", fds)
	}
	// While a command that outlives the check runs, rawns's only child is
	// the command: the helper has been reaped.
	cmd := exec.Command(rawnsBin, "run", "--trace", "--ns", "pid", "--", "sleep", "2")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	var children []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		children = nil
		tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/task/*/children")
		for _, f := range tasks {
			b, _ := os.ReadFile(f)
			for _, c := range strings.Fields(string(b)) {
				comm, _ := os.ReadFile("/proc/" + c + "/comm")
				children = append(children, strings.TrimSpace(string(comm)))
			}
		}
		if len(children) == 1 && children[0] == "sleep" {
			return
		}
	}
	t.Errorf("rawns's children while the command runs: %q, want only sleep", children)
}
