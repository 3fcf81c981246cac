package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rawns/rawns/internal/testutil"
)

func TestOverheadFlags(t *testing.T) {
	for _, bad := range [][]string{{"--rounds", "0"}, {"--modes", "default"}, {"--modes", "off,bogus"}, {"extra"}, {"--bogus"}} {
		var out, errb bytes.Buffer
		if code := overheadMain(bad, &out, &errb); code != 125 || strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("%q: exit %d, stderr %q; want 125 and one line", bad, code, errb.String())
		}
	}
}

// TestOverheadRuns runs a tiny measurement for real: the watcher processes
// are this test binary acting as rawns-trace (TestMain).
func TestOverheadRuns(t *testing.T) {
	testutil.RequireRoot(t)
	t.Setenv("RAWNS_TRACE_MAIN", "1")
	var out, errb bytes.Buffer
	code := overheadMain([]string{"--rounds", "2", "--calls", "10000", "--execs", "5", "--events", "5", "--modes", "off,default,raw_tp,no-syscalls"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errb.String(), out.String())
	}
	for _, want := range []string{"default: syscalls ", "raw_tp: syscalls ", "no-syscalls: syscalls ", "event µs p50/p90"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
