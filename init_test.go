package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rawns/rawns/internal/testutil"
)

// TestRawnsInit: `rawns init -- PATH ARGV0 [ARG...]`, the init for other
// tools (package nsinit; rawns run --init does not use it): the command's
// exit status, 128+N for a death by signal N, 127 for a program not found,
// 125 and one line of usage without a command; a signal sent to the init
// reaches the command; as PID 1 of a PID namespace it reaps the orphans
// reparented to it.
func TestRawnsInit(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.DefaultSignals(t, syscall.SIGTERM, syscall.SIGUSR1)
	for _, c := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"init", "--", "/bin/sh", "sh", "-c", "exit 3"}, 3, ""},
		{[]string{"init", "/bin/sh", "sh", "-c", "exit 4"}, 4, ""},
		{[]string{"init", "--", "/bin/sh", "sh", "-c", "kill -TERM $$"}, 128 + int(syscall.SIGTERM), ""},
		{[]string{"init", "--", "/nonexistent-rawns", "x"}, 127, "rawns init: "},
		{[]string{"init"}, 125, "rawns init: usage: rawns init -- PATH ARGV0 [ARG...]\n"},
		{[]string{"init", "--", "/bin/true"}, 125, "rawns init: usage: rawns init -- PATH ARGV0 [ARG...]\n"},
	} {
		r := rawnsRun(t, c.args...)
		if r.code != c.code || !strings.HasPrefix(r.stderr, c.stderr) || strings.Count(r.stderr, "\n") > 1 {
			t.Errorf("rawns %q: %+v; want exit %d and stderr %q", c.args, r, c.code, c.stderr)
		}
	}

	cmd, out, _ := startRawns(t, nil, "init", "--", "/bin/sh", "sh", "-c", `trap 'echo got USR1; exit 7' USR1; echo ready; while :; do sleep 0.05; done`)
	cmd.Process.Signal(syscall.SIGUSR1)
	line, err := readLine(out, 30*time.Second)
	if err != nil {
		cmd.Process.Kill()
	}
	err = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); strings.TrimSpace(line) != "got USR1" || code != 7 {
		t.Errorf("SIGUSR1 to rawns init: the command printed %q, rawns init ended with %v; want \"got USR1\" and exit 7", line, err)
	}

	// As PID 1: the inner sh leaves a sleep behind, reparented to the
	// init, which must reap it when it exits; a zombie would stay.
	r := rawnsRun(t, "run", "--ns", "pid", "--mount-proc", "--", rawnsBin, "init", "--", "/bin/sh", "sh", "-c",
		`sh -c 'sleep 0.1 &'; sleep 1; echo "pid1 $(cat /proc/1/comm)"; grep -l '^State:.*Z' /proc/[0-9]*/status | wc -l`)
	if r.code != 0 || r.stdout != "pid1 rawns\n0\n" {
		t.Errorf("rawns init as PID 1: %+v; want it PID 1 and no zombie", r)
	}
}
