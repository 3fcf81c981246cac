package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// hideUnifiedArg makes the harness's own binary, run as a test's first
// process, cover /sys/fs/cgroup/unified and exec the test (see the package
// doc). It is a word no flag can be.
const hideUnifiedArg = "__hide-unified"

// cgroupTest reports whether a test uses fixed cgroup paths that other
// runs would share: those run one at a time. delete_only_create_resources
// makes /sys/fs/cgroup/pids/cgrouptest itself, the path the others give
// their containers (run beside them, it failed now and then, and they
// seemed to leave that cgroup behind).
func cgroupTest(name string) bool {
	return strings.HasPrefix(name, "linux_cgroups_") || name == "delete_resources" || name == "delete_only_create_resources"
}

func matcher(expr string) (func(string) bool, error) {
	if expr == "" {
		return func(string) bool { return true }, nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	return re.MatchString, nil
}

// Result is one test against one runtime: each run of it, first to last.
type Result struct {
	Test    string `json:"test"`
	Runtime string `json:"runtime"`
	Runs    []Run  `json:"runs"`
}

// Outcome is what one run of a test showed, best last.
type Outcome int

const (
	// Fail: a "not ok" line, an error diagnostic, a crash, a time-out.
	Fail Outcome = iota
	// Silent: exit 0 and no TAP result line at all, and no error
	// diagnostic. Several suite programs (the hook tests,
	// process_rlimits_fail) print a result only when something failed;
	// by the counting rule (at least one "ok") this is not a pass, but it
	// is not a failure the program saw either, and the table says so.
	Silent
	// Pass: at least one "ok" line, no "not ok", and exit 0: a program
	// may print its runtimetest's ok lines and then fail the test itself
	// with util.Fatal, exit 1 (process_capabilities_fail, when the
	// runtime ran a config it should have refused).
	Pass
)

func (o Outcome) String() string {
	return [...]string{"fail", "no result", "pass"}[o]
}

// Outcome of a run.
func (x *Run) Outcome() Outcome {
	switch {
	case x.OK > 0 && x.NotOK == 0 && x.Exit == 0 && !x.TimedOut:
		return Pass
	case x.OK == 0 && x.NotOK == 0 && x.Exit == 0 && !x.TimedOut && !x.Errored:
		return Silent
	}
	return Fail
}

// Best is the best outcome of any run.
func (r *Result) Best() Outcome {
	best := Fail
	for i := range r.Runs {
		best = max(best, r.Runs[i].Outcome())
	}
	return best
}

// Passed reports whether any run passed.
func (r *Result) Passed() bool { return r.Best() == Pass }

// Flaky reports whether a rerun did better than the first run.
func (r *Result) Flaky() bool { return len(r.Runs) > 0 && r.Best() > r.Runs[0].Outcome() }

// Run is one execution of a validation program.
type Run struct {
	Passed bool `json:"passed"`
	OK     int  `json:"ok"`
	NotOK  int  `json:"notOk"`
	Exit   int  `json:"exit"`
	// Errored: the TAP output holds an error diagnostic (a YAML
	// "error" with a value), which the lifecycle tests print instead of
	// a "not ok" line.
	Errored  bool          `json:"errored,omitempty"`
	TimedOut bool          `json:"timedOut,omitempty"`
	Took     time.Duration `json:"took"`
	// Left: container ids the run left in its state directory, deleted
	// by the harness afterwards.
	Left []string `json:"left,omitempty"`
	// LeftCgroups: cgroup directories named after the run's containers
	// (or the suite's fixed cgroup paths) that were still there after it,
	// removed by the harness afterwards.
	LeftCgroups []string `json:"leftCgroups,omitempty"`
	// FirstFailure: the first "not ok" line, or the last line of stderr
	// when the program printed no TAP at all.
	FirstFailure string `json:"firstFailure,omitempty"`
}

type harness struct {
	suite   string
	timeout time.Duration
	keep    bool
	verbose bool

	// strict: the runtimes whose leaks fail the run (-superset's).
	strict map[string]bool

	mu    sync.Mutex
	seq   int
	leaks map[string]int // runs that left something behind, per runtime
}

// runAll runs every test against every runtime, the cgroup tests in a
// lane of their own, then reruns what failed.
func (h *harness) runAll(tests []string, rts []Runtime, jobs, retries int) []*Result {
	var results []*Result
	var serial, parallel []*Result
	for _, t := range tests {
		for _, rt := range rts {
			r := &Result{Test: t, Runtime: rt.Name}
			results = append(results, r)
			if cgroupTest(t) {
				serial = append(serial, r)
			} else {
				parallel = append(parallel, r)
			}
		}
	}
	byName := map[string]Runtime{}
	for _, rt := range rts {
		byName[rt.Name] = rt
	}
	due := func(r *Result, attempt int) bool {
		return attempt == 0 || (attempt <= retries || racy[r.Test]) && worthRerun(r, results)
	}
	for attempt := 0; attempt <= retries+racyRetries; attempt++ {
		var ser, par []*Result
		for _, r := range serial {
			if due(r, attempt) {
				ser = append(ser, r)
			}
		}
		for _, r := range parallel {
			if due(r, attempt) {
				par = append(par, r)
			}
		}
		if len(ser)+len(par) == 0 {
			break
		}
		if attempt > 0 {
			fmt.Fprintf(os.Stderr, "oci-validate: rerun %d of %d failed tests\n", attempt, len(ser)+len(par))
		}
		// The cgroup tests have a worker of their own; the other workers
		// share the rest. With -j 1, one worker takes them all.
		if jobs == 1 {
			par, ser = append(ser, par...), nil
		}
		serQ, parQ := queue(ser), queue(par)
		var wg sync.WaitGroup
		worker := func(q <-chan *Result) {
			defer wg.Done()
			for r := range q {
				r.Runs = append(r.Runs, h.runOne(r.Test, byName[r.Runtime], len(r.Runs)))
			}
		}
		wg.Add(1)
		go worker(serQ)
		for range max(jobs-1, 1) {
			wg.Add(1)
			go worker(parQ)
		}
		wg.Wait()
	}
	return results
}

// racy are the programs whose result hangs on a race of their own, which
// a fast runtime loses more often than a slow one: they get racyRetries
// more runs than the rest, when worthRerun. killsig sends its signal as
// soon as the container is running, before its sh has set the trap (a
// PID namespace's init drops a signal it has no handler for); poststart
// wants the process's line in its file before the poststart hook's, where
// the spec asks only that the hook run after the process has started.
var racy = map[string]bool{"killsig": true, "poststart": true}

const racyRetries = 3

// worthRerun reports whether a failed result could change what the table
// says if run again: another runtime did better on the test, or
// explain.go has no word for the failure. A test every runtime fails the
// same way, for a reason written down, is not run again: that saves about
// a minute per runtime here, and every rerun of it so far failed alike.
func worthRerun(r *Result, all []*Result) bool {
	if r.Best() != Fail {
		return false
	}
	if explain[r.Test] == "" {
		return true
	}
	for _, o := range all {
		if o.Test == r.Test && o.Best() > r.Best() {
			return true
		}
	}
	return false
}

// queue returns a closed channel holding rs.
func queue(rs []*Result) <-chan *Result {
	q := make(chan *Result, len(rs))
	for _, r := range rs {
		q <- r
	}
	close(q)
	return q
}

// runOne runs test against rt once, in a work directory of its own, and
// cleans up after it.
func (h *harness) runOne(test string, rt Runtime, attempt int) Run {
	h.mu.Lock()
	h.seq++
	seq := h.seq
	h.mu.Unlock()
	work := filepath.Join(h.suite, "work", fmt.Sprintf("%s-%s-%d", rt.Name, test, seq))
	logPath := filepath.Join(h.suite, "logs", rt.Name, test+".log")
	run := Run{Exit: -1}
	fail := func(err error) Run {
		run.FirstFailure = "harness: " + err.Error()
		return run
	}
	os.RemoveAll(work)
	root, tmp := filepath.Join(work, "root"), filepath.Join(work, "tmp")
	for _, d := range []string{root, tmp, filepath.Dir(logPath)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fail(err)
		}
	}
	// The wrapper the suite sees as $RUNTIME: the runtime with a state
	// directory of this run's own. Its name is the runtime's, for the
	// suite's messages.
	wrapper := filepath.Join(work, rt.Name)
	// It also records each command line, for the container ids the
	// leak check looks for.
	calls := filepath.Join(work, "calls")
	script := "#!/bin/sh\nprintf '%s\\n' \"$*\" >>" + shellQuote(calls) + "\nexec " + shellQuote(rt.Path) + " --root " + shellQuote(root) + " \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		return fail(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), h.timeout)
	defer cancel()
	prog := filepath.Join(h.suite, "validation", test)
	var cmd *exec.Cmd
	if rt.HideUnified {
		self, err := os.Executable()
		if err != nil {
			return fail(err)
		}
		cmd = exec.CommandContext(ctx, self, hideUnifiedArg, prog)
	} else {
		cmd = exec.CommandContext(ctx, prog)
	}
	cmd.Dir = h.suite // runtimetest and the rootfs tarball are read from ./
	cmd.Env = append(cleanEnv(), "RUNTIME="+wrapper, "TMPDIR="+tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A mount namespace of its own (Go makes / private in it before the
	// exec: syscall/exec_linux.go), and a process group, so that a run past
	// its time is killed with whatever it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS, Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	t0 := time.Now()
	err := cmd.Run()
	run.Took = time.Since(t0).Round(time.Millisecond)
	run.TimedOut = ctx.Err() != nil
	var ee *exec.ExitError
	switch {
	case err == nil:
		run.Exit = 0
	case errors.As(err, &ee):
		run.Exit = ee.ExitCode()
	default:
		return fail(err)
	}
	run.OK, run.NotOK, run.Errored, run.FirstFailure = parseTAP(stdout.Bytes())
	run.Passed = run.Outcome() == Pass
	if run.FirstFailure == "" && run.Outcome() == Fail {
		run.FirstFailure = lastLine(stderr.Bytes())
		if run.TimedOut {
			run.FirstFailure = fmt.Sprintf("timed out after %v; %s", h.timeout, run.FirstFailure)
		}
	}

	run.Left = h.cleanup(wrapper)
	b, _ := os.ReadFile(calls)
	left := findCgroups(containerIDs(b), cgroupTest(test))
	run.LeftCgroups = suiteMade(test, left)
	if stuck := removeCgroups(left); len(stuck) > 0 {
		fmt.Fprintf(os.Stderr, "oci-validate: %s on %s: cannot remove the cgroups it left: %v\n", test, rt.Name, stuck)
	}
	if len(run.Left)+len(run.LeftCgroups) > 0 {
		h.mu.Lock()
		h.leaks[rt.Name]++
		h.mu.Unlock()
		if h.verbose || h.strict[rt.Name] {
			fmt.Fprintf(os.Stderr, "oci-validate: %s on %s left containers %v in its state directory, cgroups %v (removed)\n", test, rt.Name, run.Left, run.LeftCgroups)
		}
	}

	mode := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if attempt > 0 {
		mode = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	if f, err := os.OpenFile(logPath, mode, 0o644); err == nil {
		fmt.Fprintf(f, "=== %s on %s (%s), run %d: exit %d, %d ok, %d not ok, %v, passed=%v\n",
			test, rt.Name, rt.Path, attempt+1, run.Exit, run.OK, run.NotOK, run.Took, run.Passed)
		fmt.Fprintf(f, "--- stdout\n%s--- stderr\n%s", stdout.Bytes(), stderr.Bytes())
		f.Close()
	}
	if !h.keep {
		if err := os.RemoveAll(work); err != nil {
			fmt.Fprintf(os.Stderr, "oci-validate: %s on %s: removing its work directory: %v\n", test, rt.Name, err)
		}
	}
	if h.verbose {
		state := "pass"
		if !run.Passed {
			state = "FAIL: " + run.FirstFailure
		}
		fmt.Fprintf(os.Stderr, "  %-36s %-6s run %d %6v %s\n", test, rt.Name, attempt+1, run.Took, state)
	}
	return run
}

// cleanup deletes whatever containers the run's state directory still
// holds, and returns their ids. The suite deletes its containers itself
// when it gets that far; a test that fails half-way may not.
func (h *harness) cleanup(wrapper string) []string {
	out, err := exec.Command(wrapper, "list", "-q").Output()
	if err != nil {
		return nil
	}
	var left []string
	for _, id := range strings.Fields(string(out)) {
		left = append(left, id)
		exec.Command(wrapper, "kill", id, "KILL").Run()
		exec.Command(wrapper, "delete", "--force", id).Run()
	}
	return left
}

// parseTAP counts the TAP result lines of out, and returns whether it
// holds an error diagnostic and the first failure it shows: a "not ok"
// line, or else the first error diagnostic. A "# SKIP" ok line counts as
// ok, as TAP says.
func parseTAP(out []byte) (ok, notOK int, errored bool, first string) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	var firstErr string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "ok" || strings.HasPrefix(line, "ok "):
			ok++
		case line == "not ok" || strings.HasPrefix(line, "not ok "):
			notOK++
			if first == "" {
				first = line
			}
		default:
			// The suite's diagnostics are JSON-shaped YAML, one key a
			// line: `    "error": "..."`.
			if v, found := strings.CutPrefix(strings.TrimSpace(line), `"error": `); found && v != `""` && v != `"",` {
				errored = true
				if firstErr == "" {
					if u, err := strconv.Unquote(strings.TrimSuffix(v, ",")); err == nil {
						v = u
					}
					firstErr = "error: " + strings.ReplaceAll(strings.TrimSpace(v), "\n", " | ")
				}
			}
		}
	}
	if first == "" {
		first = firstErr
	}
	return ok, notOK, errored, first
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// cleanEnv is the harness's environment without the variables the suite
// reads (RUNTIME, TMPDIR), which each run sets.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RUNTIME=") && !strings.HasPrefix(kv, "TMPDIR=") {
			env = append(env, kv)
		}
	}
	return env
}

// resolve finds the runtime's binary, its version line, and whether its
// runs must hide the cgroup2 mount.
func (r *Runtime) resolve(host hostInfo) error {
	p, err := exec.LookPath(r.Path)
	if err != nil {
		return fmt.Errorf("runtime %s: %v", r.Name, err)
	}
	if p, err = filepath.Abs(p); err != nil {
		return err
	}
	r.Path = p
	out, err := exec.Command(p, "--version").Output()
	if err != nil {
		return fmt.Errorf("runtime %s: %s --version: %v", r.Name, p, err)
	}
	r.Version = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	r.HideUnified = host.Hybrid && filepath.Base(p) == "crun"
	return nil
}

// hideUnifiedAndExec runs as a test's first process, already in its own
// mount namespace with / private: it covers /sys/fs/cgroup/unified with an
// empty tmpfs and execs the test.
func hideUnifiedAndExec(argv []string) {
	if err := unix.Mount("tmpfs", "/sys/fs/cgroup/unified", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=1m"); err != nil {
		fmt.Fprintln(os.Stderr, "oci-validate: covering /sys/fs/cgroup/unified:", err)
		os.Exit(125)
	}
	err := unix.Exec(argv[0], argv, os.Environ())
	fmt.Fprintln(os.Stderr, "oci-validate: exec", argv[0]+":", err)
	os.Exit(125)
}

// hostInfo is what the table says of the machine.
type hostInfo struct {
	Kernel string `json:"kernel"`
	Cgroup string `json:"cgroup"`
	Hybrid bool   `json:"hybrid"`
}

func (h hostInfo) String() string { return "Linux " + h.Kernel + ", " + h.Cgroup }

func describeHost() hostInfo {
	var h hostInfo
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	var a, b unix.Statfs_t
	switch {
	case unix.Statfs("/sys/fs/cgroup", &a) == nil && a.Type == unix.CGROUP2_SUPER_MAGIC:
		h.Cgroup = "cgroup v2"
	case a.Type == unix.TMPFS_MAGIC && unix.Statfs("/sys/fs/cgroup/unified", &b) == nil && b.Type == unix.CGROUP2_SUPER_MAGIC:
		h.Cgroup = "hybrid cgroup v1 + v2"
		h.Hybrid = true
	default:
		h.Cgroup = "cgroup v1"
	}
	return h
}
