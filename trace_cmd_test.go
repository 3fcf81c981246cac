package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

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
