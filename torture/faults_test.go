//go:build linux && (amd64 || arm64)

package torture_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// defaultSignals, as a runOpts.ignore value, starts rawns with every signal
// at SIG_DFL whatever the test process inherited (a CI shell may have
// started it with SIGINT ignored).
var defaultSignals = []syscall.Signal{}

// oneLine fails t unless s is exactly one line containing every want.
func oneLine(t *testing.T, what, s string, want ...string) {
	t.Helper()
	if strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") {
		t.Errorf("%s: stderr is not one line: %q", what, s)
	}
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s: stderr %q lacks %q", what, s, w)
		}
	}
}

// TestClone3ENOSYS: a seccomp filter (as container runtimes' default
// profiles have) answers clone3 with ENOSYS; rawns falls back to clone(2),
// for the init too, and refuses a time namespace it could not create.
func TestClone3ENOSYS(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	o := runOpts{seccomp: "clone3=ENOSYS"}
	for _, args := range [][]string{
		{"run", "-v"},
		{"run", "-v", "--clone", "vfork"},
		{"run", "-v", "--init"},
		{"run", "-v", "--ns", "user,pid,uts", "--map-root-user"},
	} {
		r := rawnsRun(t, o, append(args, "--", "sh", "-c", `echo "pid $$ on $(hostname)"`)...)
		// Under --init the command is a child of the init, whose threads
		// take pids in the namespace too: not 1, but which one varies.
		want := "pid 1 on container\n"
		if slicesContains(args, "--init") && r.stdout != want && strings.HasSuffix(r.stdout, " on container\n") {
			want = r.stdout
		}
		if r.code != 0 || r.stdout != want || !strings.Contains(r.stderr, "rawns: clone, ") {
			t.Errorf("%q under clone3=ENOSYS: %v; want %q, exit 0 and -v naming clone", args, r, want)
		}
	}
	// Control: without the filter, -v names clone3; so the line above
	// really tells the system call apart.
	if r := rawnsRun(t, runOpts{}, "run", "-v", "--", "true"); !strings.Contains(r.stderr, "rawns: clone3, ") {
		t.Errorf("without a filter -v does not name clone3: %v", r)
	}
	r := rawnsRun(t, o, "run", "--ns", "time,pid", "--", "true")
	if r.code != 125 {
		t.Errorf("--ns time without clone3: %v; want exit 125", r)
	}
	oneLine(t, "--ns time without clone3", r.stderr, "time namespace needs clone3", "ENOSYS")
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestCloneEPERM: clone3 and clone refused with EPERM (what an unprivileged
// caller, a seccomp profile or a security module gets): exit 125, a message
// that names the privilege, and nothing started.
func TestCloneEPERM(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	marker := filepath.Join(t.TempDir(), "ran")
	for _, c := range []struct{ rules, syscall string }{
		{"clone3=EPERM,clone=EPERM", "clone3"},
		{"clone3=ENOSYS,clone=EPERM", "clone"},
	} {
		for _, extra := range [][]string{nil, {"--init"}, {"--clone", "fork"}} {
			args := append(append([]string{"run"}, extra...), "--", "touch", marker)
			r := rawnsRun(t, runOpts{seccomp: c.rules}, args...)
			what := fmt.Sprintf("%s: rawns %q", c.rules, args)
			if r.code != 125 || r.stdout != "" {
				t.Errorf("%s: %v; want exit 125", what, r)
			}
			oneLine(t, what, r.stderr, c.syscall+" with namespaces pid,uts: operation not permitted", "root or CAP_SYS_ADMIN")
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the command ran although the clone was refused")
	}
}

// TestCloneEPERMInProcess: the same through the API, in a child test
// process that carries the filter.
func TestCloneEPERMInProcess(t *testing.T) {
	testutil.RequireRoot(t)
	if !inChild(t) {
		testutil.CheckHostUnchanged(t)
		runChild(t, t.Name())
		return
	}
	// clone3 says ENOSYS, not EPERM: under -race this binary uses cgo, and
	// glibc creates threads with clone3, whose flags a filter cannot read;
	// on ENOSYS glibc falls back to clone, where CLONE_THREAD is let
	// through. (The CLI test above covers clone3's own EPERM: rawns does
	// not use cgo.)
	if err := testutil.InstallSeccomp("clone3=ENOSYS,clone=EPERM"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ns   clone.Namespaces
		hint string
	}{
		{clone.NewPID | clone.NewUTS, "needs root or CAP_SYS_ADMIN"},
		{clone.NewUser, "user namespaces may be disabled"},
	} {
		for _, sc := range []clone.Syscall{clone.SyscallAuto, clone.SyscallClone} {
			_, err := clone.Start(&clone.Spec{Path: "/bin/true", Namespaces: c.ns, Syscall: sc})
			var ce *clone.CloneError
			if !errors.As(err, &ce) || ce.Errno != unix.EPERM || ce.Syscall != "clone" || !errors.Is(err, os.ErrPermission) {
				t.Fatalf("%v %v: got %v, want a CloneError with EPERM", c.ns, sc, err)
			}
			if !strings.Contains(err.Error(), c.hint) || !strings.Contains(err.Error(), c.ns.String()) {
				t.Errorf("%v: message %q lacks %q or the namespaces", c.ns, err, c.hint)
			}
		}
	}
	testutil.AssertNoChildren(t)
}

// pidsCgroup makes a fresh pids cgroup, cgroup v1 or v2, and removes it at
// the end of t. It returns its directory.
func pidsCgroup(t *testing.T) string {
	t.Helper()
	var root string
	switch {
	case fileExists("/sys/fs/cgroup/pids/cgroup.procs"):
		root = "/sys/fs/cgroup/pids"
	case strings.Contains(readString("/sys/fs/cgroup/cgroup.subtree_control"), "pids"):
		root = "/sys/fs/cgroup"
	case strings.Contains(readString("/sys/fs/cgroup/unified/cgroup.subtree_control"), "pids"):
		root = "/sys/fs/cgroup/unified"
	default:
		t.Skip("no pids cgroup controller here (neither v1 nor enabled in v2)")
	}
	dir := filepath.Join(root, fmt.Sprintf("rawns-torture-%d-%d", os.Getpid(), time.Now().UnixNano()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The last task may take a moment to leave after it is reaped.
		var err error
		for i := 0; i < 200; i++ {
			if err = unix.Rmdir(dir); err == nil || err == unix.ENOENT {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Errorf("removing cgroup %s: %v (procs %q)", dir, err, readString(dir+"/cgroup.procs"))
	})
	return dir
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func readString(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func writeString(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0); err != nil {
		t.Fatalf("writing %q to %s: %v", s, p, err)
	}
}

// TestPidsMaxEAGAIN: the clone fails with EAGAIN because the cgroup's
// pids.max is reached; the error must name the limit. In a child test
// process that joins a fresh pids cgroup and lowers pids.max to its own
// pids.current (the spawner thread already exists then).
func TestPidsMaxEAGAIN(t *testing.T) {
	testutil.RequireRoot(t)
	if !inChild(t) {
		testutil.CheckHostUnchanged(t)
		dir := pidsCgroup(t)
		runChild(t, t.Name(), "RAWNS_TORTURE_CGROUP="+dir)
		return
	}
	dir := os.Getenv("RAWNS_TORTURE_CGROUP")
	writeString(t, dir+"/cgroup.procs", strconv.Itoa(os.Getpid()))
	// Warm up: the spawner thread, and a few idle threads for the runtime
	// to use while the limit is in force.
	done := make(chan bool)
	for i := 0; i < 6; i++ {
		go func() {
			var ts unix.Timespec
			ts.Nsec = 50e6
			unix.Nanosleep(&ts, nil)
			done <- true
		}()
	}
	for i := 0; i < 6; i++ {
		<-done
	}
	p, err := clone.Start(&clone.Spec{Path: "/bin/true", Namespaces: clone.NewPID})
	if err != nil {
		t.Fatal(err)
	}
	p.Wait()
	for _, style := range []clone.Mode{clone.ModeVfork, clone.ModeFork} {
		cur := strings.TrimSpace(readString(dir + "/pids.current"))
		writeString(t, dir+"/pids.max", cur)
		_, err = clone.Start(&clone.Spec{Path: "/bin/true", Namespaces: clone.NewPID | clone.NewUTS, Mode: style})
		writeString(t, dir+"/pids.max", "max")
		var ce *clone.CloneError
		if !errors.As(err, &ce) || ce.Errno != unix.EAGAIN {
			t.Fatalf("%v with pids.max = pids.current = %s: got %v, want a CloneError with EAGAIN", style, cur, err)
		}
		if !strings.Contains(err.Error(), "pids.max") {
			t.Errorf("the EAGAIN message does not name pids.max: %q", err)
		}
	}
	// The limit lifted, spawning works again: nothing was left half-done.
	p, err = clone.Start(&clone.Spec{Path: "/bin/true", Namespaces: clone.NewPID})
	if err != nil {
		t.Fatalf("after lifting pids.max: %v", err)
	}
	if st, err := p.Wait(); err != nil || st.ExitCode() != 0 {
		t.Fatalf("after lifting pids.max: %v %v", st, err)
	}
	testutil.AssertNoChildren(t)
}

// TestPidsMaxEAGAINCLI: rawns itself in a pids cgroup. How many threads the
// Go runtime of rawns starts before the clone varies, so pids.max is raised
// from 1: too low, the runtime cannot start (it says so and exits 2); the
// first limit at which rawns reaches the clone must make the clone fail,
// with exit 125 and a message naming pids.max.
func TestPidsMaxEAGAINCLI(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	dir := pidsCgroup(t)
	marker := filepath.Join(t.TempDir(), "ran")
	script := `echo $$ > "$1/cgroup.procs" && exec "$2" run -- touch "$3"`
	var seen []string
	for attempt := 0; attempt < 5; attempt++ {
		for limit := 1; limit <= 64; limit++ {
			writeString(t, dir+"/pids.max", strconv.Itoa(limit))
			cmd := exec.Command("sh", "-c", script, "sh", dir, rawnsBin, marker)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			stop := watchdog(t, cmd, 30*time.Second)
			err := cmd.Run()
			stop()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			switch {
			case code == 2 && strings.Contains(stderr.String(), "failed to create new OS thread"):
				continue // the Go runtime of rawns could not start: higher
			case code == 125:
				oneLine(t, fmt.Sprintf("pids.max %d", limit), stderr.String(), "resource temporarily unavailable", "pids.max")
				if _, err := os.Stat(marker); err == nil {
					t.Errorf("the command ran although the clone failed")
				}
				writeString(t, dir+"/pids.max", "max")
				return
			case code == 0:
				// rawns needed fewer threads this time than at the last
				// limit that failed: start over.
				seen = append(seen, fmt.Sprintf("limit %d: ran", limit))
				os.Remove(marker)
			default:
				t.Fatalf("pids.max %d: exit %d, stderr %q; want 125 naming pids.max (or the runtime failing to start)", limit, code, stderr.String())
			}
			break
		}
	}
	writeString(t, dir+"/pids.max", "max")
	t.Fatalf("never saw the clone fail on pids.max: %v", seen)
}

// TestExecFailures: execve fails in the child; the exit code and the
// message the user sees, for each errno.
func TestExecFailures(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	dir := t.TempDir()
	file := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noX := file("nox", "#!/bin/sh\ntrue\n", 0o644)
	badInterp := file("badinterp", "#!/nonexistent/interpreter\n", 0o755)
	garbage := file("garbage", "\x7fELF but not really, and no #! line", 0o755)
	cases := []struct {
		name string
		args []string
		o    runOpts
		code int
		want []string
	}{
		{"ENOENT path", []string{dir + "/missing"}, runOpts{}, 127, []string{"cannot execute " + dir + "/missing: no such file or directory", "does not exist"}},
		{"ENOENT interpreter", []string{badInterp}, runOpts{}, 127, []string{"cannot execute " + badInterp + ": no such file or directory", "interpreter named on its #! line"}},
		{"ENOTDIR", []string{"/etc/passwd/x"}, runOpts{}, 127, []string{"cannot execute /etc/passwd/x: not a directory"}},
		{"EACCES mode", []string{noX}, runOpts{}, 126, []string{"cannot execute " + noX + ": permission denied", "no execute permission"}},
		{"EACCES directory", []string{dir}, runOpts{}, 126, []string{"cannot execute " + dir + ": permission denied"}},
		{"ENOEXEC", []string{garbage}, runOpts{}, 126, []string{"cannot execute " + garbage + ": exec format error", "not a binary"}},
		{"E2BIG injected", []string{"/bin/true"}, runOpts{seccomp: "execve=E2BIG"}, 126, []string{"cannot execute /bin/true: argument list too long", "getconf ARG_MAX"}},
		{"EACCES under --init", []string{noX}, runOpts{}, 126, []string{"permission denied"}},
	}
	for _, c := range cases {
		args := []string{"run", "--"}
		if strings.HasSuffix(c.name, "--init") {
			args = []string{"run", "--init", "--"}
		}
		r := rawnsRun(t, c.o, append(args, c.args...)...)
		if r.code != c.code || r.stdout != "" {
			t.Errorf("%s: %v; want exit %d", c.name, r, c.code)
		}
		oneLine(t, c.name, r.stderr, c.want...)
	}
}

// TestExecE2BIGReal: a real E2BIG from the kernel, through the CLI. rawns
// passes the command's arguments on, so whatever rawns could be started
// with, the command gets no more... unless the command is a script: the
// kernel adds the interpreter and the script's path to its arguments. With
// a long script path and a long #! line, the arguments are sized (by
// bisection) so that rawns itself starts and the script's exec does not.
func TestExecE2BIGReal(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	// A script path of about 2000 bytes.
	dir := t.TempDir()
	for i := 0; i < 8; i++ {
		dir = filepath.Join(dir, strings.Repeat(string(rune('a'+i)), 240))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "script")
	// An interpreter path of 200 bytes: /////...///bin/true.
	if err := os.WriteFile(script, []byte("#!"+strings.Repeat("/", 192)+"bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Lower the limit (a quarter of RLIMIT_STACK, at least 128 KiB) to
	// 256 KiB to keep the arguments small.
	wrap := []string{"prlimit", "--stack=1048576:1048576", "--"}
	fixed := strings.Repeat("f", 100<<10)
	probe := func(n int) result {
		return rawnsRun(t, runOpts{wrap: wrap, env: []string{"PATH=" + clone.DefaultPath}}, "run", "--", script, fixed, fixed, strings.Repeat("v", n))
	}
	rawnsTooBig := func(r result) bool {
		return r.code != 0 && !strings.HasPrefix(r.stderr, "rawns run:")
	}
	lo, hi := 0, 127<<10 // probe(lo) starts rawns, probe(hi) does not
	if r := probe(lo); rawnsTooBig(r) {
		t.Fatalf("rawns does not start even with the smallest arguments: %v", r)
	}
	if r := probe(hi); !rawnsTooBig(r) {
		t.Fatalf("rawns started with 327 KiB of arguments under a 256 KiB limit: %v", r)
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if rawnsTooBig(probe(mid)) {
			hi = mid
		} else {
			lo = mid
		}
	}
	r := probe(lo)
	if r.code != 126 {
		t.Errorf("largest arguments rawns accepts (%d bytes more): %v; want exit 126", lo, r)
	}
	oneLine(t, "E2BIG", r.stderr, "cannot execute "+script+": argument list too long", "getconf ARG_MAX")
	if r := probe(0); r.code != 0 {
		t.Errorf("the same script with small arguments: %v; want exit 0", r)
	}
}

// commonSignals are the signals whose death the exit code must report.
var commonSignals = []syscall.Signal{
	syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGILL, syscall.SIGTRAP,
	syscall.SIGABRT, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGKILL, syscall.SIGUSR1,
	syscall.SIGSEGV, syscall.SIGUSR2, syscall.SIGPIPE, syscall.SIGALRM, syscall.SIGTERM,
	syscall.SIGXCPU, syscall.SIGSYS,
}

// TestKilledBySignal: the command killed by each common signal; rawns exits
// 128+N. The command kills itself, which needs it not to be PID 1 of its
// namespace: no PID namespace, or --init.
func TestKilledBySignal(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	o := runOpts{ignore: defaultSignals}
	for _, sig := range commonSignals {
		for _, mode := range [][]string{{"--ns", "uts"}, {"--init"}} {
			args := append(append([]string{"run"}, mode...), "--", "sh", "-c", fmt.Sprintf("kill -%d $$; sleep 5", int(sig)))
			r := rawnsRun(t, o, args...)
			if r.code != 128+int(sig) || r.stderr != "" {
				t.Errorf("%v with %q: %v; want exit %d and nothing on stderr", sig, mode, r, 128+int(sig))
			}
		}
	}
}

// TestKilledBySignalInProcess: the same through the API, the signal sent
// from outside with Process.Signal.
func TestKilledBySignalInProcess(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	// The child inherits what this process ignores (under nohup, SIGHUP).
	for _, sig := range commonSignals {
		testutil.DefaultSignals(t, sig)
	}
	for _, sig := range commonSignals {
		// Not PID 1: a fresh PID namespace's init ignores signals it has
		// no handler for; only SIGKILL reaches it from outside.
		p, err := clone.Start(&clone.Spec{Path: "/bin/sleep", Args: []string{"sleep", "30"}, Namespaces: clone.NewUTS})
		if err != nil {
			t.Fatal(err)
		}
		// Let sleep exec: a signal sent before would hit the same
		// disposition anyway (SIG_DFL), so this is not a race either way.
		if err := p.Signal(sig); err != nil {
			t.Fatal(err)
		}
		st, err := p.Wait()
		if err != nil || st.Signal != sig || st.ExitCode() != 128+int(sig) {
			t.Errorf("%v: %v, %v; want death by the signal, exit code %d", sig, st, err, 128+int(sig))
		}
	}
	testutil.AssertNoChildren(t)
}

// TestRawnsSIGKILLed: rawns dies by SIGKILL while the command runs; the
// command is gone within a second, and with a PID namespace everything the
// command started with it.
func TestRawnsSIGKILLed(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	cases := []struct {
		name   string
		o      runOpts
		args   []string
		pidNS  bool
		script string
	}{
		{"uts only", runOpts{}, []string{"--ns", "uts"}, false, "echo ready; exec sleep 100"},
		{"default", runOpts{}, nil, true, "sleep 100 & echo ready; wait"},
		{"fork", runOpts{}, []string{"--clone", "fork"}, true, "sleep 100 & echo ready; wait"},
		{"init", runOpts{}, []string{"--init"}, true, "sleep 100 & echo ready; wait"},
		{"user", runOpts{}, []string{"--ns", "user,pid,uts", "--map-root-user"}, true, "sleep 100 & echo ready; wait"},
		{"clone fallback", runOpts{seccomp: "clone3=ENOSYS"}, nil, true, "sleep 100 & echo ready; wait"},
		{"command ignores every signal", runOpts{}, []string{"--ns", "uts"}, false, "trap '' HUP INT QUIT TERM USR1 USR2; echo ready; exec sleep 100"},
	}
	for _, c := range cases {
		args := append(append([]string{"run"}, c.args...), "--", "sh", "-c", c.script)
		b := startRawns(t, c.o, args...)
		all := append([]int{b.pid}, testutil.Descendants(b.pid)...)
		if c.pidNS && len(all) < 2 {
			t.Fatalf("%s: the command has no child: %v", c.name, all)
		}
		if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		b.wait(t)
		for _, pid := range all {
			if !waitGone(pid, time.Second) {
				t.Errorf("%s: process %d still runs a second after rawns was SIGKILLed", c.name, pid)
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

// waitComm waits until process pid, or one below it (the command under
// --init), runs the program named comm.
func waitComm(t *testing.T, pid int, comm string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, p := range append([]int{pid}, testutil.Descendants(pid)...) {
			if strings.TrimSpace(readString(fmt.Sprintf("/proc/%d/comm", p))) == comm {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d never became %s", pid, comm)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestSIGTERMAndSIGINTForwarded: sent to rawns, they reach the command, and
// rawns's exit status is the command's: 128+N when the signal kills it, its
// own code when it handles the signal.
func TestSIGTERMAndSIGINTForwarded(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	o := runOpts{ignore: defaultSignals}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		for _, c := range []struct {
			name   string
			args   []string
			script string
			code   int
		}{
			{"uts only, default action", []string{"--ns", "uts"}, "echo ready; exec sleep 100", 128 + int(sig)},
			{"init, default action", []string{"--init"}, "echo ready; exec sleep 100", 128 + int(sig)},
			{"pid 1 with a handler", nil, fmt.Sprintf("trap 'exit 33' %d; echo ready; while :; do sleep 0.05; done", int(sig)), 33},
			{"init, command with a handler", []string{"--init"}, fmt.Sprintf("trap 'exit 34' %d; echo ready; while :; do sleep 0.05; done", int(sig)), 34},
			{"fork, uts only", []string{"--ns", "uts", "--clone", "fork"}, "echo ready; exec sleep 100", 128 + int(sig)},
		} {
			args := append(append([]string{"run"}, c.args...), "--", "sh", "-c", c.script)
			b := startRawns(t, o, args...)
			if strings.Contains(c.script, "exec sleep") {
				waitComm(t, b.pid, "sleep")
			}
			b.cmd.Process.Signal(sig)
			if code := b.wait(t); code != c.code {
				t.Errorf("%v, %s: rawns exit %d, want %d (stderr %q)", sig, c.name, code, c.code, b.errb.String())
			}
			if !waitGone(b.pid, time.Second) {
				t.Errorf("%v, %s: the command still runs", sig, c.name)
			}
		}
		// PID 1 without a handler: the kernel drops the signal (that is
		// what --init is for); rawns forwards it and keeps waiting.
		b := startRawns(t, o, "run", "--", "sh", "-c", "echo ready; exec sleep 100")
		// sh -c catches SIGINT and exits 130 on it: signal sleep, not sh.
		waitComm(t, b.pid, "sleep")
		b.cmd.Process.Signal(sig)
		time.Sleep(200 * time.Millisecond)
		if !testutil.ProcessAlive(b.pid) || !testutil.ProcessAlive(b.cmd.Process.Pid) {
			t.Errorf("%v to rawns whose command is PID 1 without a handler: the command (alive %v) or rawns (alive %v) died; stderr %q",
				sig, testutil.ProcessAlive(b.pid), testutil.ProcessAlive(b.cmd.Process.Pid), b.errb.String())
		}
		b.cmd.Process.Signal(syscall.SIGKILL)
		b.wait(t)
		if !waitGone(b.pid, time.Second) {
			t.Errorf("%v: the command outlived rawns", sig)
		}
	}
}

// TestErrorPipeClosedEarly: the child dies before exec without writing a
// report: a seccomp filter kills it at sethostname(2). The kernel closes
// the error pipe as it would after a successful exec, but the exec marker
// (one byte written right before execve) never came, so rawns knows
// nothing ran: exit 125 and one line naming the signal.
func TestErrorPipeClosedEarly(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	marker := filepath.Join(t.TempDir(), "ran")
	o := runOpts{seccomp: "sethostname=KILL"}
	for _, args := range [][]string{
		{"run"},
		{"run", "--clone", "fork"},
		{"run", "--clone", "vfork"},
		{"run", "-v"},
	} {
		r := rawnsRun(t, o, append(args, "--", "touch", marker)...)
		if r.code != 125 || r.stdout != "" || !strings.Contains(r.stderr, "killed by signal 31 (bad system call) before it could execute") || !strings.HasSuffix(r.stderr, "nothing ran (a seccomp filter that kills, or the OOM killer?)\n") {
			t.Errorf("%q, child killed at sethostname: %v; want exit 125 and one line naming signal 31", args, r)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the command ran although its child was killed before exec")
	}
	// Without a new UTS namespace there is no sethostname: the same filter
	// lets the command run, so the failure above was the filter's.
	if r := rawnsRun(t, o, "run", "--ns", "pid", "--", "touch", marker); r.code != 0 {
		t.Errorf("--ns pid under the same filter: %v; want exit 0", r)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("control: the command did not run: %v", err)
	}
}

// TestErrorPipeClosedEarlyInProcess: the same through the API, every clone
// style; the parent survives, Start reports the death with its signal, and
// the child is reaped.
func TestErrorPipeClosedEarlyInProcess(t *testing.T) {
	testutil.RequireRoot(t)
	if !inChild(t) {
		testutil.CheckHostUnchanged(t)
		runChild(t, t.Name())
		return
	}
	if err := testutil.InstallSeccomp("sethostname=KILL"); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "ran")
	for _, mode := range []clone.Mode{clone.ModeVfork, clone.ModeFork} {
		for _, sc := range []clone.Syscall{clone.SyscallClone3, clone.SyscallClone} {
			p, err := clone.Start(&clone.Spec{Path: "/usr/bin/touch", Args: []string{"touch", marker},
				Namespaces: clone.NewPID | clone.NewUTS, Hostname: "h", Mode: mode, Syscall: sc})
			var ce *clone.ChildError
			if !errors.As(err, &ce) || ce.Signal != syscall.SIGSYS || ce.Stage != clone.StageNone || p != nil {
				t.Errorf("%v %v: Start = %v, %v; want a ChildError with Signal SIGSYS", mode, sc, p, err)
			}
		}
	}
	testutil.AssertNoChildren(t)
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the command ran")
	}
	// The parent is unharmed and spawns on.
	p, err := clone.Start(&clone.Spec{Path: "/bin/true", Namespaces: clone.NewPID})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := p.Wait(); err != nil || st.ExitCode() != 0 {
		t.Fatalf("after: %v %v", st, err)
	}
	testutil.AssertNoChildren(t)
}
