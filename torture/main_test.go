//go:build linux && (amd64 || arm64)

// Package torture_test is rawns's torture suite: load, injected
// faults, bad input, host safety and leaks into the command. It tests the
// rawns binary a user runs (built once in TestMain) and the clone API in
// process. See docs/reliability.md.
//
// The default run is short enough for CI under -race; RAWNS_TORTURE=long
// (make torture-long) runs the full counts of the issue.
package torture_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/testutil"
)

// rawnsBin is the rawns binary built once for the CLI tests; spawnloopBin
// the load helper of TestSpawnsInARow.
var rawnsBin, spawnloopBin string

// long is set by RAWNS_TORTURE=long: the full counts of the issue.
var long = os.Getenv("RAWNS_TORTURE") == "long"

// count returns short in the default run and full under RAWNS_TORTURE=long.
func count(short, full int) int {
	if long {
		return full
	}
	return short
}

// Environment variables by which the test binary runs as a helper instead
// of as tests. They are stripped before the helper execs anything.
const (
	envHelper  = "RAWNS_TORTURE_HELPER"  // "exec": set up, then exec os.Args[1:]
	envSeccomp = "RAWNS_TORTURE_SECCOMP" // rules for testutil.InstallSeccomp
	envIgnore  = "RAWNS_TORTURE_IGNORE"  // signal numbers to set to SIG_IGN, comma-separated
	envChild   = "RAWNS_TORTURE_CHILD"   // name of the test a re-exec'd child test binary runs
	envProbe   = "RAWNS_TORTURE_PROBE"   // a host pid to probe from inside a namespace
)

func TestMain(m *testing.M) {
	if os.Getenv(envHelper) == "exec" {
		os.Exit(execHelper())
	}
	if s := os.Getenv(envProbe); s != "" {
		pid, _ := strconv.Atoi(s)
		os.Exit(probeHostPID(pid))
	}
	// A command killed by SIGQUIT, SIGSEGV or SIGSYS must not leave core
	// files behind: no core dumps from anything this process starts.
	unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	if os.Getenv(envChild) != "" {
		// A re-exec'd child test: it uses the clone API only.
		os.Exit(testutil.Run(m))
	}
	dir, err := os.MkdirTemp("", "rawns-torture")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Chmod(dir, 0o755)
	rawnsBin = filepath.Join(dir, "rawns")
	spawnloopBin = filepath.Join(dir, "spawnloop")
	// Both without -race, whatever this test binary was built with: they
	// are what users run, and the race detector's bookkeeping would hide
	// the RSS that spawnloop measures.
	for _, b := range [][2]string{{rawnsBin, ".."}, {spawnloopBin, "./spawnloop"}} {
		build := exec.Command("go", "build", "-o", b[0], b[1])
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n%s", b[1], err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := testutil.Run(m)
	os.RemoveAll(dir)
	// Nothing the suite started may outlive its test: no child, running
	// or zombie, of this process.
	if kids := testutil.Children(os.Getpid()); len(kids) != 0 {
		fmt.Fprintf(os.Stderr, "torture: processes left behind by the suite: %v\n", kids)
		for _, k := range kids {
			fmt.Fprintf(os.Stderr, "  %d: %s\n", k, readString(fmt.Sprintf("/proc/%d/cmdline", k)))
		}
		code = 1
	}
	os.Exit(code)
}

// execHelper runs in a re-exec'd test binary: it installs the seccomp
// filter and the signal dispositions the environment asks for, then execs
// os.Args[1:] with the helper's variables removed. The filter and the
// ignored dispositions survive execve.
func execHelper() int {
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "torture helper: %v\n", err)
		return 99
	}
	if len(os.Args) < 2 {
		return fail(fmt.Errorf("no program to exec"))
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RAWNS_TORTURE_") {
			env = append(env, kv)
		}
	}
	if s := os.Getenv(envIgnore); s != "" || os.Getenv(envIgnore+"_SET") == "1" {
		var ign []syscall.Signal
		for _, f := range strings.Split(s, ",") {
			if f == "" {
				continue
			}
			n, err := strconv.Atoi(f)
			if err != nil {
				return fail(err)
			}
			ign = append(ign, syscall.Signal(n))
		}
		if err := setDispositions(ign); err != nil {
			return fail(err)
		}
	}
	if s := os.Getenv(envSeccomp); s != "" {
		// The filter may refuse thread creation under cgo (-race), where
		// glibc makes threads with clone3: keep the runtime from needing
		// a new thread between the filter and the exec.
		runtime.GOMAXPROCS(1)
		debug.SetGCPercent(-1)
		if err := testutil.InstallSeccomp(s); err != nil {
			return fail(err)
		}
	}
	// The filter may deny execve: exec with execveat(2), which no rule names.
	err := execveat(os.Args[1], os.Args[1:], env)
	return fail(fmt.Errorf("exec %s: %w", os.Args[1], err))
}

// result is how a rawns run ended.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
}

// runOpts are the ways a test starts rawns.
type runOpts struct {
	env     []string // nil: the test's environment
	seccomp string   // rules for the helper, e.g. "clone3=ENOSYS"
	ignore  []syscall.Signal
	dir     string
	wrap    []string // a program (and args) that execs rawns, e.g. prlimit
	extra   []*os.File
	timeout time.Duration
}

// rawnsCmd builds the command that starts rawns with args, through the
// helper when faults or dispositions are asked for.
func rawnsCmd(t testing.TB, o runOpts, args ...string) *exec.Cmd {
	t.Helper()
	argv := append(append(append([]string{}, o.wrap...), rawnsBin), args...)
	env := o.env
	if env == nil {
		env = os.Environ()
	}
	env = append([]string{}, env...)
	if o.seccomp != "" || o.ignore != nil {
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		env = append(env, envHelper+"=exec", envSeccomp+"="+o.seccomp)
		if o.ignore != nil {
			var s []string
			for _, sig := range o.ignore {
				s = append(s, strconv.Itoa(int(sig)))
			}
			env = append(env, envIgnore+"="+strings.Join(s, ","), envIgnore+"_SET=1")
		}
		argv = append([]string{self}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Dir = o.dir
	cmd.ExtraFiles = o.extra
	return cmd
}

// rawnsRun runs rawns with args to the end and returns how it ended.
func rawnsRun(t testing.TB, o runOpts, args ...string) result {
	t.Helper()
	cmd := rawnsCmd(t, o, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	timeout := o.timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	stop := watchdog(t, cmd, timeout)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting rawns %q: %v", args, err)
	}
	err := cmd.Wait()
	stop()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	} else if err != nil {
		t.Fatalf("running rawns %q: %v", args, err)
	}
	return result{stdout.String(), stderr.String(), code}
}

// background is a rawns run in progress whose command said "ready".
type background struct {
	cmd  *exec.Cmd
	out  *bufio.Reader
	pid  int // the command's host pid
	errb *bytes.Buffer
}

// startRawns starts rawns with a command that prints "ready" on stdout once
// set up, waits for that line, and finds the command's host pid (the only
// child of rawns).
func startRawns(t *testing.T, o runOpts, args ...string) *background {
	t.Helper()
	cmd := rawnsCmd(t, o, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	br := bufio.NewReader(out)
	lines := make(chan string, 1)
	go func() {
		l, _ := br.ReadString('\n')
		lines <- l
	}()
	select {
	case l := <-lines:
		if strings.TrimSpace(l) != "ready" {
			t.Fatalf("rawns %q: waiting for ready, got %q (stderr %q)", args, l, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("rawns %q: no ready line within 30 s", args)
	}
	kids := testutil.Children(cmd.Process.Pid)
	if len(kids) != 1 {
		t.Fatalf("rawns has children %v, want exactly one", kids)
	}
	return &background{cmd: cmd, out: br, pid: kids[0], errb: &errb}
}

// wait waits for rawns to end (at most 30 s) and returns its exit code,
// 128+N if it was killed by signal N.
func (b *background) wait(t *testing.T) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- b.cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		b.cmd.Process.Kill()
		<-done
		t.Fatalf("rawns did not end within 30 s")
	}
	if err == nil {
		return 0
	}
	ee, ok := err.(*exec.ExitError)
	if !ok {
		t.Fatalf("rawns: %v", err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ee.ExitCode()
}

// waitGone waits up to d for pid to be gone (or a zombie) and reports
// whether it went.
func waitGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for testutil.ProcessAlive(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// runChild re-runs the test binary for test name alone, with envChild set,
// so that the test can change what cannot be undone (a seccomp filter, the
// process's cgroup) in a process of its own. It returns the child's output,
// and fails t if the child failed.
func runChild(t *testing.T, name string, extraEnv ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.v", "-test.count=1")
	cmd.Env = append(append(os.Environ(), envChild+"="+name), extraEnv...)
	timer := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child test %s: %v\n%s", name, err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+name) {
		t.Fatalf("child test %s did not pass:\n%s", name, out)
	}
	return string(out)
}

// watchdog kills cmd's whole process group if it is still running after d,
// and then fails t with what was running: a hang becomes a failure that
// says where, not a test binary timeout. cmd must not have started yet;
// the returned stop must be called after cmd.Wait.
func watchdog(t testing.TB, cmd *exec.Cmd, d time.Duration) (stop func()) {
	t.Helper()
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	reports := make(chan string, 1)
	timer := time.AfterFunc(d, func() {
		var b strings.Builder
		if cmd.Process != nil {
			for _, p := range append([]int{cmd.Process.Pid}, testutil.Descendants(cmd.Process.Pid)...) {
				fmt.Fprintf(&b, "  %d %s: %s\n", p, strings.TrimSpace(readString(fmt.Sprintf("/proc/%d/wchan", p))),
					strings.ReplaceAll(readString(fmt.Sprintf("/proc/%d/cmdline", p)), "\x00", " "))
				for _, l := range strings.Split(readString(fmt.Sprintf("/proc/%d/status", p)), "\n") {
					if strings.HasPrefix(l, "State") || strings.HasPrefix(l, "Sig") || strings.HasPrefix(l, "NSpid") || strings.HasPrefix(l, "Threads") {
						fmt.Fprintf(&b, "    %s\n", l)
					}
				}
				for _, task := range childrenTasks(p) {
					fmt.Fprintf(&b, "    task %s\n", task)
				}
			}
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		reports <- b.String()
	})
	return func() {
		t.Helper()
		if !timer.Stop() {
			t.Fatalf("%s did not end within %v; it was running:\n%s", cmd.Path, d, <-reports)
		}
	}
}

// childrenTasks describes the threads of pid: tid, wchan, syscall.
func childrenTasks(pid int) []string {
	var out []string
	dirs, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	for _, d := range dirs {
		out = append(out, fmt.Sprintf("%s %s [%s]", filepath.Base(d), strings.TrimSpace(readString(d+"/wchan")), strings.TrimSpace(readString(d+"/syscall"))))
	}
	return out
}

// inChild reports whether this process is the re-exec'd child for t.
func inChild(t *testing.T) bool {
	return os.Getenv(envChild) == t.Name()
}
