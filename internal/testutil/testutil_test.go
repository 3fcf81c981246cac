package testutil

import (
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestDefaultSignals: with SIGHUP ignored, as under nohup, a child started
// while DefaultSignals is in force gets SIG_DFL, and after the test the
// process ignores it again, for a second test to do the same.
func TestDefaultSignals(t *testing.T) {
	signal.Ignore(syscall.SIGHUP)
	defer signal.Reset(syscall.SIGHUP)
	childIgnores := func() bool {
		out, err := exec.Command("sh", "-c", "grep SigIgn /proc/self/status").Output()
		if err != nil {
			t.Fatal(err)
		}
		m, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(string(out), "SigIgn:")), 16, 64)
		return m&(1<<(syscall.SIGHUP-1)) != 0
	}
	if !childIgnores() {
		t.Fatal("with SIGHUP ignored, the child does not ignore it: the test tests nothing")
	}
	for i := 0; i < 2; i++ {
		t.Run("", func(t *testing.T) {
			DefaultSignals(t, syscall.SIGHUP)
			if childIgnores() {
				t.Errorf("round %d: the child ignores SIGHUP under DefaultSignals", i)
			}
		})
		if !childIgnores() {
			t.Errorf("round %d: after the test, SIGHUP is no longer ignored", i)
		}
	}
}
