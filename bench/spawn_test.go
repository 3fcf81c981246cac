package bench

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// The reexec strategy re-executes this test binary; the copy must act as
// the child. An init in a test file runs only in the test binary.
// With RAWNS_BENCH_TEST_MAIN=1 it is rawns-bench itself, for the tests
// that signal a whole rawns bench process.
func init() {
	if len(os.Args) > 1 && os.Args[1] == ReexecArg {
		ReexecChild()
	}
	if os.Getenv("RAWNS_BENCH_TEST_MAIN") == "1" {
		os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
	}
}

func buildCRef(t testing.TB) string {
	t.Helper()
	p, err := BuildCRef(filepath.Join("cref", "spawn.c"), t.TempDir())
	if errors.Is(err, ErrNoCompiler) {
		t.Log("no C compiler: the C reference is left out")
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestEveryStrategySpawns runs each strategy a few times, alone and with
// two workers: they must do the job, whatever it costs.
func TestEveryStrategySpawns(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	cref := buildCRef(t)
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	job := &Job{Path: "/bin/true", Args: []string{"true"}, Env: []string{"PATH=/usr/bin:/bin"},
		Namespaces: clone.NewPID | clone.NewUTS, Hostname: "bench", Null: null}
	for _, name := range StrategyNames() {
		s, err := NewStrategy(name, job, cref)
		if err != nil {
			if cref == "" && strings.HasPrefix(name, "c-") {
				continue
			}
			t.Fatalf("%s: %v", name, err)
		}
		for _, par := range []int{1, 2} {
			ds, err := s.Batch(4, par)
			if err != nil {
				t.Errorf("%s parallel %d: %v", name, par, err)
				continue
			}
			if want := map[bool]int{true: 4, false: 1}[par == 1]; len(ds) != want || ds[0] <= 0 {
				t.Errorf("%s parallel %d: timings %v", name, par, ds)
			}
		}
	}
}

// TestFailingCommandIsAnError: a strategy whose command exits non-zero must
// fail, or a benchmark could time a broken job.
func TestFailingCommandIsAnError(t *testing.T) {
	testutil.RequireRoot(t)
	job := &Job{Path: "/bin/false", Args: []string{"false"}, Namespaces: clone.NewPID}
	for _, name := range []string{"rawns-vfork", "os-exec", "forkexec", "reexec"} {
		s, err := NewStrategy(name, job, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Spawn(); err == nil {
			t.Errorf("%s: /bin/false did not fail", name)
		}
	}
}

// TestMainQuick runs rawns bench end to end, briefly, in every output
// format; only the shape of the output is checked, never a time.
func TestMainQuick(t *testing.T) {
	testutil.RequireRoot(t)
	svg := filepath.Join(t.TempDir(), "c.svg")
	for _, format := range []string{"", "--json", "--csv", "--gobench"} {
		var out, errb bytes.Buffer
		args := []string{"--rounds", "2", "--batch", "2", "--warmup", "1", "--strategies", "rawns-vfork,os-exec", "--svg", svg}
		if format != "" {
			args = append(args, format)
		}
		if code := Main(args, &out, &errb); code != 0 {
			t.Fatalf("Main %s = %d: %s", format, code, errb.String())
		}
		if !strings.Contains(out.String(), "rawns-vfork") {
			t.Errorf("Main %s output lacks rawns-vfork:\n%s", format, out.String())
		}
	}
	if b, err := os.ReadFile(svg); err != nil || !bytes.HasPrefix(b, []byte("<svg")) {
		t.Errorf("SVG: %v", err)
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"--rounds", "1", "--batch", "1", "--warmup", "0", "--ns-sweep", "--rss", "0,16M", "--parallel", "1,2", "--strategies", "rawns-vfork,rawns-fork"}, &out, &errb); code != 0 {
		t.Fatalf("Main dimensions = %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "rss=16M") || !strings.Contains(out.String(), "pid+uts+net") || !strings.Contains(out.String(), "spawns/s") {
		t.Errorf("dimensions output:\n%s", out.String())
	}
}

// Bad input gets one line naming the flag or value and what to give
// instead, exit status 125 and nothing on stdout, before anything runs.
func TestBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--rounds", "abc"}, "--rounds abc: give a whole number of at least 1"},
		{[]string{"--rounds", "0"}, "--rounds 0: give a whole number"},
		{[]string{"--batch", "-3"}, "--batch -3"},
		{[]string{"--warmup", "x"}, "--warmup x"},
		{[]string{"--seed", "-1"}, "--seed -1"},
		{[]string{"--rounds", "3", "--rounds", "4"}, "--rounds given twice"},
		{[]string{"-rounds", "3"}, "unknown flag -rounds"},
		{[]string{"--bogus"}, "unknown flag --bogus"},
		{[]string{"--whole=yes"}, "--whole takes no value"},
		{[]string{"--svg"}, "--svg needs a value"},
		{[]string{"--svg="}, "--svg needs a non-empty value"},
		{[]string{"--json", "--csv"}, "at most one of --json, --csv and --gobench"},
		{[]string{"--strategies", "c-vfork,nope"}, `unknown strategy "nope"; known: c-vfork,`},
		{[]string{"--once", "nope"}, `--once: unknown strategy "nope"`},
		{[]string{"--ns", "pid,bogus"}, `unknown namespace "bogus"`},
		{[]string{"--rss", "5Q"}, `--rss: "5Q": not a size`},
		{[]string{"--whole", "--rss", "1G"}, "--rss applies to the in-process view only"},
		{[]string{"--whole", "--parallel", "2"}, "--parallel applies to the in-process view only"},
		{[]string{"--whole", "--strategies", "rawns-vfork"}, "--strategies applies to the in-process view only"},
		{[]string{"--rawns", "/bin/true"}, "--rawns applies to the whole-process view only; add --whole"},
		{[]string{"--tools", "c-ref"}, "--tools applies to the whole-process view only; add --whole"},
		{[]string{"--parallel", "0"}, "--parallel"},
		{[]string{"--", "/nonexistent/cmd"}, "/nonexistent/cmd: not an executable file"},
		{[]string{"--", "/etc"}, "/etc: not an executable file"},
		{[]string{"--", "no-such-command-here"}, "no-such-command-here: command not found"},
	} {
		var out, errb bytes.Buffer
		code := Main(c.args, &out, &errb)
		msg := errb.String()
		if code != 125 || out.Len() != 0 || !strings.Contains(msg, c.want) || strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "rawns bench: ") {
			t.Errorf("rawns bench %q: exit %d, stdout %q, stderr %q; want 125, nothing, one line with %q", c.args, code, out.String(), msg, c.want)
		}
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "--rounds N") || strings.Contains(out.String(), "KINDS") {
		t.Errorf("--help: exit %d, stdout %q", code, out.String())
	}
}

// TestSIGTERMLeavesNothing: rawns bench --whole stopped by SIGTERM (and
// the in-process view by SIGINT) removes what it made: the whole view's
// directory in $TMPDIR, with an OCI bundle and a root filesystem, was left
// behind when the signal's default action killed it (issue 25, bug 7).
// It exits 128+N after one line saying so.
func TestSIGTERMLeavesNothing(t *testing.T) {
	testutil.RequireRoot(t)
	for _, c := range []struct {
		sig  syscall.Signal
		args []string
	}{
		{syscall.SIGTERM, []string{"--whole"}},
		{syscall.SIGINT, []string{"--strategies", "rawns-vfork,rawns-vfork-cgroup"}},
	} {
		tmp := t.TempDir()
		cmd := exec.Command(os.Args[0], append(c.args, "--rounds", "100000", "--batch", "1", "--warmup", "0", "--no-progress", "--", "/bin/true")...)
		cmd.Env = append(os.Environ(), "RAWNS_BENCH_TEST_MAIN=1", "TMPDIR="+tmp)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Signalled once it spawns (its signal handling is in place by
		// then) and, for the whole view, has made its files.
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			m, _ := filepath.Glob(filepath.Join(tmp, "rawns-bench-*", "*", "bundle", "config.json"))
			if len(testutil.Children(cmd.Process.Pid)) > 0 && (c.args[0] != "--whole" || len(m) > 0) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond)
		cmd.Process.Signal(c.sig)
		err := cmd.Wait()
		code := -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		name := unix.SignalName(c.sig)
		if code != 128+int(c.sig) || stdout.Len() != 0 || !strings.HasPrefix(stderr.String(), "rawns bench: stopped by "+name) {
			t.Errorf("%v stopped by %s: exit %d, stdout %q, stderr %q", c.args, name, code, stdout.String(), stderr.String())
		}
		if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
			t.Errorf("%v stopped by %s left in TMPDIR: %v", c.args, name, ents)
		}
	}
}
