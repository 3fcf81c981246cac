//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/testutil"
)

// sb is the run stage's sandbox: set by runStage before m.Run.
var sb *sandbox

// sandbox holds what the tests of one run share: the temporary directory,
// the cgroup parent every engine is given, the daemons started so far (each
// at most once, on first use), and the stage times printed at the end.
type sandbox struct {
	tmp    string
	repo   string
	cgroup string // "/rawns-e2e-XXXX": the cgroup parent of every engine
	env    []string

	mu       sync.Mutex
	daemons  []*daemon
	once     map[string]*onceResult
	stages   []stageTime
	results  map[string]map[string]string // engine -> runtime -> PASS/FAIL
	notes    map[string]string            // engine -> why rawns is not among its default runtimes
	testDirs map[string]bool              // cgroups (test.slice) that did not exist before the run

	critestPipe *os.File // fd 3: the host stage writes the critest build's outcome

	// Each engine's end-of-run checks: before its daemons stop (what the
	// engine still lists is a leak of the tests), and after (its own
	// mounts, which it keeps for its lifetime and does not undo).
	beforeStop []func() []string
	afterStop  []func() []string
}

type onceResult struct {
	done chan struct{}
	err  error
}

type stageTime struct {
	name string
	d    time.Duration
}

func newSandbox(tmp string) *sandbox {
	s := &sandbox{
		tmp:      tmp,
		repo:     repoRoot(),
		cgroup:   "/" + filepath.Base(tmp),
		once:     make(map[string]*onceResult),
		results:  make(map[string]map[string]string),
		notes:    make(map[string]string),
		testDirs: make(map[string]bool),
	}
	home := filepath.Join(tmp, "home")
	os.MkdirAll(filepath.Join(tmp, "tmp"), 0o1777)
	os.MkdirAll(home, 0o700)
	// HOME, XDG_* and TMPDIR inside the run: no client writes its
	// configuration or temporary files under /root or /tmp.
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "HOME", "TMPDIR", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "DOCKER_HOST", "CONTAINER_HOST",
			"CONTAINERD_ADDRESS", "CONTAINERD_NAMESPACE", stageEnv:
			continue
		}
		s.env = append(s.env, kv)
	}
	s.env = append(s.env, "HOME="+home, "TMPDIR="+filepath.Join(tmp, "tmp"),
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_DATA_HOME="+filepath.Join(home, ".local/share"))
	if os.Getenv(testSliceEnv) == "new" {
		s.testDirs["test.slice"] = true
	}
	return s
}

// do runs f once per key for the whole run; later callers wait for it and
// get its error. Engines start this way, on first use by any test.
func (s *sandbox) do(key string, f func() error) error {
	s.mu.Lock()
	o, ok := s.once[key]
	if !ok {
		o = &onceResult{done: make(chan struct{})}
		s.once[key] = o
		s.mu.Unlock()
		t0 := time.Now()
		o.err = f()
		s.stage("setup "+key, time.Since(t0))
		close(o.done)
		return o.err
	}
	s.mu.Unlock()
	<-o.done
	return o.err
}

func (s *sandbox) stage(name string, d time.Duration) {
	s.mu.Lock()
	s.stages = append(s.stages, stageTime{name, d})
	s.mu.Unlock()
}

// timeStage records how long a test took, for the summary.
func timeStage(t *testing.T) {
	t0 := time.Now()
	t.Cleanup(func() { sb.stage(t.Name(), time.Since(t0)) })
}

// parallel makes a subtest run beside its siblings: the engines' commands
// spend most of their time waiting.
func parallel(f func(*testing.T)) func(*testing.T) {
	return func(t *testing.T) {
		t.Parallel()
		f(t)
	}
}

// record notes a runtime's verdict on an engine, for the table at the end.
func record(t *testing.T, engine, runtime string) {
	t.Cleanup(func() {
		v := "PASS"
		if t.Failed() {
			v = "FAIL"
		}
		sb.mu.Lock()
		if sb.results[engine] == nil {
			sb.results[engine] = make(map[string]string)
		}
		sb.results[engine][runtime] = v
		sb.mu.Unlock()
	})
}

func (s *sandbox) printStages() {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Println("e2e: stage times (the tests of different engines overlap):")
	for _, st := range s.stages {
		fmt.Printf("e2e:   %-40s %6.1fs\n", st.name, st.d.Seconds())
	}
	if len(s.results) > 0 {
		var engines []string
		rts := map[string]bool{}
		for e, m := range s.results {
			engines = append(engines, e)
			for r := range m {
				rts[r] = true
			}
		}
		sort.Strings(engines)
		var names []string
		for r := range rts {
			names = append(names, r)
		}
		sort.Strings(names)
		fmt.Printf("e2e: %-12s", "engine")
		for _, r := range names {
			fmt.Printf(" %-6s", r)
		}
		fmt.Println()
		for _, e := range engines {
			fmt.Printf("e2e: %-12s", e)
			for _, r := range names {
				v := s.results[e][r]
				if v == "" {
					v = "-"
				}
				fmt.Printf(" %-6s", v)
			}
			fmt.Println()
		}
		var keys []string
		for k := range s.notes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if strings.HasPrefix(k, "cri ") {
				// A critest spec: run with rawns, its result not held to
				// runc's.
				fmt.Printf("e2e: %s: rawns not held to runc's result by default (RAWNS_E2E_RUNTIMES=rawns,runc holds it): %s\n", k, s.notes[k])
				continue
			}
			fmt.Printf("e2e: %s: not run with rawns by default (RAWNS_E2E_RUNTIMES=rawns,runc runs it): %s\n", k, s.notes[k])
		}
	}
}

// path names a file or directory in the run's temporary directory.
func (s *sandbox) path(elem ...string) string {
	return filepath.Join(append([]string{s.tmp}, elem...)...)
}

// daemon is an engine process the sandbox started and stops at the end.
type daemon struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// startDaemon starts name with args, its output in TMP/logs/NAME.log, and
// waits until ready returns nil (at most 60 s, or until it exits).
func (s *sandbox) startDaemon(name string, ready func() error, bin string, args ...string) (*daemon, error) {
	os.MkdirAll(s.path("logs"), 0o755)
	logPath := s.path("logs", name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = s.env
	cmd.Dir = s.tmp
	cmd.Stdout, cmd.Stderr = f, f
	// Its own process group: a ^C on the terminal reaches the tests, which
	// stop the daemons in order, not every process at once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	f.Close()
	d := &daemon{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { d.err = cmd.Wait(); close(d.done) }()
	s.mu.Lock()
	s.daemons = append(s.daemons, d)
	s.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := ready()
		if err == nil {
			return d, nil
		}
		select {
		case <-d.done:
			return nil, fmt.Errorf("%s exited: %v; its log (%s) ends:\n%s", name, d.err, logPath, tail(logPath, 20))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s not ready after 60 s: %v; its log (%s) ends:\n%s", name, err, logPath, tail(logPath, 20))
		}
	}
}

// stop sends SIGTERM and waits 30 s for the daemon to exit; a daemon that
// does not is killed and reported.
func (d *daemon) stop() error {
	select {
	case <-d.done:
		return fmt.Errorf("%s had exited before the end: %v; its log (%s) ends:\n%s", d.name, d.err, d.log, tail(d.log, 20))
	default:
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		return nil
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
		return fmt.Errorf("%s did not exit within 30 s of SIGTERM; killed", d.name)
	}
}

// teardown stops the daemons, last started first, then checks that no
// process of the engines is left in the sandbox and no container cgroup in
// the run's cgroup parent. It returns false on any leak.
func (s *sandbox) teardown() bool {
	t0 := time.Now()
	ok := true
	var leaks []string
	for _, f := range s.beforeStop {
		leaks = append(leaks, f()...)
	}
	for i := len(s.daemons) - 1; i >= 0; i-- {
		if err := s.daemons[i].stop(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: teardown:", err)
			ok = false
		}
	}
	// The runc shims exit when containerd deletes their task; conmon when
	// its container exits. Give the last ones a moment.
	var left []string
	for i := 0; i < 50; i++ {
		if left = processesExcept(1, os.Getpid()); len(left) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, p := range left {
		fmt.Fprintln(os.Stderr, "e2e: LEAK in the sandbox: process", p, "outlived its engine")
		ok = false
	}
	for _, f := range s.afterStop {
		leaks = append(leaks, f()...)
	}
	keep := func(rel string) bool {
		switch rel {
		case "podman", "podman/conmon", "ctr", "docker":
			return true
		}
		return false
	}
	leaks = append(leaks, cgroupTreeLeaks(s.cgroup, keep)...)
	if s.testDirs["test.slice"] {
		leaks = append(leaks, cgroupTreeLeaks("/test.slice", func(string) bool { return false })...)
	}
	for _, l := range leaks {
		fmt.Fprintln(os.Stderr, "e2e: LEAK:", l)
		ok = false
	}
	s.stage("teardown (stop engines, check)", time.Since(t0))
	return ok
}

// hook adds an end-of-run check (see sandbox.beforeStop).
func (s *sandbox) hook(before bool, f func() []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if before {
		s.beforeStop = append(s.beforeStop, f)
	} else {
		s.afterStop = append(s.afterStop, f)
	}
}

// listLeft runs a listing command at the end of the run and returns one
// leak per line it prints.
func listLeft(what string, env []string, name string, args ...string) []string {
	r := run(silent{}, time.Minute, env, name, args...)
	if r.code != 0 {
		return []string{fmt.Sprintf("%s: cannot list: %s", what, r)}
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if l != "" {
			out = append(out, what+" "+l+" is left (the tests remove every one they make)")
		}
	}
	return out
}

// unmountLeft lazily unmounts an engine's own mount at the end (after the
// engine stopped), if it is there.
func unmountLeft(target string) []string {
	ms, _ := readMounts()
	for _, m := range ms {
		if m.target == target {
			if err := unix.Unmount(target, unix.MNT_DETACH); err != nil {
				return []string{fmt.Sprintf("unmount %s: %v", target, err)}
			}
		}
	}
	return nil
}

// silent is a testing.TB for commands run outside any test.
type silent struct{ testing.TB }

func (silent) Helper()                      {}
func (silent) Logf(format string, a ...any) {}

// result is what a command did.
type result struct {
	cmdline string
	stdout  string
	stderr  string
	code    int // -1 when it could not start or timed out
	err     error
	dur     time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("$ %s\n  exit %d after %.2fs (%v)\n  stdout: %q\n  stderr: %q", r.cmdline, r.code, r.dur.Seconds(), r.err, trim(r.stdout), trim(r.stderr))
}

func trim(s string) string {
	if len(s) > 2000 {
		return s[:1000] + "\n...\n" + s[len(s)-1000:]
	}
	return s
}

// run runs a command in the sandbox's environment plus env, with a timeout,
// and logs it in t (shown when the test fails, or with -v).
func run(t testing.TB, timeout time.Duration, env []string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(append([]string{}, sb.env...), env...)
	cmd.Dir = sb.tmp // conmon writes an "oom" file in its working directory
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 5 * time.Second
	t0 := time.Now()
	err := cmd.Run()
	r := result{cmdline: name + " " + strings.Join(args, " "), stdout: out.String(), stderr: errb.String(), err: err, dur: time.Since(t0)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		r.code = -1
		r.err = fmt.Errorf("timed out after %v", timeout)
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.code = 128 + int(ws.Signal())
		}
	default:
		r.code = -1
	}
	logCmd(t, fmt.Sprintf("$ %s -> %d (%.2fs)", r.cmdline, r.code, r.dur.Seconds()))
	return r
}

// cmdLogs holds each test's commands, shown only when it fails (or at
// once with RAWNS_E2E_VERBOSE=1): a passing run's output stays a list of
// tests and times.
var cmdLogs sync.Map // testing.TB -> *cmdLog

type cmdLog struct {
	mu    sync.Mutex
	lines []string
}

func logCmd(t testing.TB, line string) {
	if _, ok := t.(silent); ok {
		return
	}
	if os.Getenv("RAWNS_E2E_VERBOSE") == "1" {
		t.Log(line)
		return
	}
	v, loaded := cmdLogs.LoadOrStore(t, &cmdLog{})
	l := v.(*cmdLog)
	if !loaded {
		t.Cleanup(func() {
			if t.Failed() {
				l.mu.Lock()
				t.Log("its commands:\n" + strings.Join(l.lines, "\n"))
				l.mu.Unlock()
			}
			cmdLogs.Delete(t)
		})
	}
	l.mu.Lock()
	l.lines = append(l.lines, time.Now().Format("15:04:05.00")+" "+line)
	l.mu.Unlock()
}

// must fails t unless r exited 0.
func must(t testing.TB, r result) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("command failed:\n%s", r)
	}
	return r
}

// wantCode fails t unless r exited with code.
func wantCode(t testing.TB, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Errorf("want exit %d:\n%s", code, r)
	}
}

// wantOut fails t unless r's stdout, trimmed, is want.
func wantOut(t testing.TB, r result, want string) {
	t.Helper()
	if strings.TrimSpace(r.stdout) != want {
		t.Errorf("want stdout %q:\n%s", want, r)
	}
}

// onPTY runs a command on a new pseudo-terminal of rows x cols as its
// controlling terminal, as an interactive shell would (pty(7)), and returns
// what the terminal showed and the exit code.
func onPTY(t testing.TB, rows, cols uint16, env []string, name string, args ...string) (string, int) {
	t.Helper()
	tt, ok := t.(*testing.T)
	if !ok {
		t.Fatal("onPTY needs a *testing.T")
	}
	m, s := testutil.OpenPTY(tt)
	if err := unix.IoctlSetWinsize(int(m.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(append([]string{}, sb.env...), env...)
	cmd.Dir = sb.tmp
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				close(done)
				return
			}
		}
	}()
	timer := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	err := cmd.Wait()
	timer.Stop()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
	}
	logCmd(t, fmt.Sprintf("$ %s %s (on a %dx%d pty) -> %d (%.2fs): %q", name, strings.Join(args, " "), rows, cols, code, time.Since(t0).Seconds(), out.String()))
	return out.String(), code
}

// waitFor polls cond every 100 ms until it returns nil or timeout passes.
func waitFor(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dialUnix is a readiness check: the socket accepts connections.
func dialUnix(path string) func() error {
	return func() error {
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// writeFile writes a configuration file, creating its directory.
func writeFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), 0o644)
}
