package main

import (
	"strings"
	"testing"
)

func TestParseTAP(t *testing.T) {
	for _, c := range []struct {
		name, out string
		want      Outcome
		first     string
	}{
		{"passes", "TAP version 13\nok 1 - a\nok 2 # SKIP b\n1..2\n", Pass, ""},
		{"one not ok", "TAP version 13\nok 1 - a\nnot ok 2 - b\n# expect: 1, actual: 2\n1..2\n", Fail, "not ok 2 - b"},
		// The lifecycle tests print only a diagnostic when they fail.
		{"diagnostic only", "TAP version 13\n  ---\n  {\n    \"error\": \"Hooks MUST be called in the listed order\\nRefer to: x\"\n  }\n  ...\n1..0\n", Fail, "error: Hooks MUST be called in the listed order | Refer to: x"},
		// ... and nothing when they do not.
		{"silent", "TAP version 13\n1..0\n", Silent, ""},
		{"nothing at all", "", Silent, ""},
		// An empty error is hooks_stdin's way of saying none.
		{"empty error", "TAP version 13\nok 3 - c\n  ---\n  {\n    \"error\": \"\",\n  }\n  ...\n", Pass, ""},
		// "ok" inside a diagnostic is not a result line.
		{"indented ok", "TAP version 13\n  ok 1 - nested\n1..0\n", Silent, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var r Run
			r.OK, r.NotOK, r.Errored, r.FirstFailure = parseTAP([]byte(c.out))
			if got := r.Outcome(); got != c.want {
				t.Errorf("outcome %v, want %v (ok %d, not ok %d, errored %v)", got, c.want, r.OK, r.NotOK, r.Errored)
			}
			if r.FirstFailure != c.first {
				t.Errorf("first failure %q, want %q", r.FirstFailure, c.first)
			}
		})
	}
	// A run that exited non-zero or timed out without a line has failed.
	if o := (&Run{Exit: 1}).Outcome(); o != Fail {
		t.Errorf("exit 1 with no output: %v, want fail", o)
	}
	// ok lines, then the program's own Fatal: failed.
	if o := (&Run{OK: 307, Exit: 1}).Outcome(); o != Fail {
		t.Errorf("307 ok, then exit 1: %v, want fail", o)
	}
	if o := (&Run{TimedOut: true}).Outcome(); o != Fail {
		t.Errorf("timed out with no output: %v, want fail", o)
	}
}

func TestResultBestAndFlaky(t *testing.T) {
	r := &Result{Runs: []Run{{Exit: 1}, {OK: 3}}}
	if r.Best() != Pass || !r.Flaky() || cell(r) != "pass (run 2 of 2)" {
		t.Errorf("fail then pass: best %v flaky %v cell %q", r.Best(), r.Flaky(), cell(r))
	}
	r = &Result{Runs: []Run{{OK: 1, NotOK: 1}}}
	if r.Best() != Fail || r.Flaky() || cell(r) != "**fail**" {
		t.Errorf("not ok: best %v flaky %v cell %q", r.Best(), r.Flaky(), cell(r))
	}
}

func TestSupersetProblems(t *testing.T) {
	pass, silent, fail := Run{OK: 1}, Run{}, Run{NotOK: 1, FirstFailure: "not ok 1 - x"}
	rep := &report{
		Runtimes: []Runtime{{Name: "rawns"}, {Name: "runc"}},
		Tests:    []string{"a", "hooks", "pidfile", "d"},
		Results: []*Result{
			{Test: "a", Runtime: "rawns", Runs: []Run{pass}}, {Test: "a", Runtime: "runc", Runs: []Run{fail}},
			{Test: "hooks", Runtime: "rawns", Runs: []Run{fail}}, {Test: "hooks", Runtime: "runc", Runs: []Run{silent}},
			{Test: "pidfile", Runtime: "rawns", Runs: []Run{fail}}, {Test: "pidfile", Runtime: "runc", Runs: []Run{fail}},
			{Test: "d", Runtime: "rawns", Runs: []Run{silent}}, {Test: "d", Runtime: "runc", Runs: []Run{silent}},
		},
	}
	// pidfile: a pass of runc's is the test's race going its way
	// (passTiming), not counted; one of "a" would be.
	timing := *rep
	timing.Results = append([]*Result{{Test: "pidfile", Runtime: "runc", Runs: []Run{pass}}}, rep.Results...)
	if got := strings.Join(timing.supersetProblems("rawns"), "\n"); strings.Contains(got, "pidfile") {
		t.Errorf("a pass by timing counted:\n%s", got)
	}
	got := strings.Join(rep.supersetProblems("rawns"), "\n")
	// hooks: worse than runc. d: no result and no explanation. pidfile:
	// both fail, explained. a: better than runc.
	for _, want := range []string{"hooks: rawns fail, runc no result", "d: rawns no result, and ocitest/validate/explain.go does not say why"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "pidfile") || strings.Contains(got, "a: ") {
		t.Errorf("problems name a test rawns did as well on, explained:\n%s", got)
	}
	if n := len(rep.supersetProblems("rawns")); n != 2 {
		t.Errorf("%d problems, want 2:\n%s", n, got)
	}
}

func TestReplaceGenerated(t *testing.T) {
	out, err := replaceGenerated([]byte("# OCI\n\ntext\n"), "table 1\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "# OCI\n\ntext\n\n## Conformance\n\n" + docBegin + "\ntable 1\n" + docEnd + "\n"
	if string(out) != want {
		t.Fatalf("appended:\n%s\nwant:\n%s", out, want)
	}
	doc := strings.Replace(string(out), "\n"+docEnd, "\nafter the markers is kept\n"+docEnd, 1)
	doc += "\n## Next section\n"
	out, err = replaceGenerated([]byte(doc), "table 2\n")
	if err != nil {
		t.Fatal(err)
	}
	want = "# OCI\n\ntext\n\n## Conformance\n\n" + docBegin + "\ntable 2\n" + docEnd + "\n\n## Next section\n"
	if string(out) != want {
		t.Fatalf("replaced:\n%s\nwant:\n%s", out, want)
	}
	if _, err := replaceGenerated([]byte(docEnd+"\n"+docBegin+"\n"), "x"); err == nil {
		t.Error("markers in the wrong order: no error")
	}
}

func TestContainerIDs(t *testing.T) {
	calls := "create --bundle /tmp/ocitest1 6f1c9d8e-2a1b-4c3d-8e9f-0a1b2c3d4e5f\nstate 6f1c9d8e-2a1b-4c3d-8e9f-0a1b2c3d4e5f\nkill 0b5d0a40-ffff-4aaa-bbbb-123456789abc KILL\nlist -q\n"
	got := containerIDs([]byte(calls))
	if strings.Join(got, " ") != "6f1c9d8e-2a1b-4c3d-8e9f-0a1b2c3d4e5f 0b5d0a40-ffff-4aaa-bbbb-123456789abc" {
		t.Errorf("ids %q", got)
	}
}
