package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rawns/rawns/internal/testutil"
)

// rawnsBin is the rawns binary built once for the CLI tests: they test the
// program a user runs, exit codes and stderr included.
var rawnsBin string

// runVariants are plain `rawns run` and --init's two ways to start PID 1
// (clone/init_unsafe.go): fork-style, which root with every capability
// gets, and on rawns's own memory, which a bounding set without
// CAP_SYS_PTRACE allows. Tests of --init run each.
var runVariants = [][]string{{}, {"--init"}, {"--init", "--cap-drop", "sys_ptrace"}}

func TestMain(m *testing.M) {
	// The test binary doubles as a command run inside namespaces.
	switch os.Getenv("RAWNS_TEST_HELPER") {
	case "loopback":
		os.Exit(loopbackHelper())
	case "sigcount":
		os.Exit(sigcountHelper())
	}
	// $RAWNS_BIN: rawns built already, with rawns-trace and rawns-bench
	// next to it (the vmtest's /bin: the VM has no go tool to build them).
	if b := os.Getenv("RAWNS_BIN"); b != "" {
		rawnsBin = b
		os.Exit(testutil.Run(m))
	}
	dir, err := os.MkdirTemp("", "rawns-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rawnsBin = filepath.Join(dir, "rawns")
	// The binary must be reachable by the unprivileged users of the
	// rootless tests.
	os.Chmod(dir, 0o755)
	build := exec.Command("go", "build", "-o", rawnsBin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building rawns: %v\n%s", err, out)
		os.Exit(1)
	}
	// The eBPF side (--trace, rawns trace), found next to rawnsBin.
	build = exec.Command("go", "build", "-o", filepath.Join(dir, "rawns-trace"), "./cmd/rawns-trace")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building rawns-trace: %v\n%s", err, out)
		os.Exit(1)
	}
	build = exec.Command("go", "build", "-o", filepath.Join(dir, "rawns-bench"), "./cmd/rawns-bench")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building rawns-bench: %v\n%s", err, out)
		os.Exit(1)
	}
	code := testutil.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// rawnsRun runs the rawns binary with args and returns its output and exit
// code.
func rawnsRun(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(rawnsBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
		if code < 0 { // killed: say by what, since rawns could not
			stderr.WriteString("[the test: rawns ended by " + ee.ProcessState.String() + "]")
		}
	} else if err != nil {
		t.Fatalf("running rawns %q: %v", args, err)
	}
	return result{stdout.String(), stderr.String(), code}
}

func TestRunPIDOneAndHostname(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	r := rawnsRun(t, "run", "--", "sh", "-c", `echo "pid $$ on $(hostname)"`)
	if r.stdout != "pid 1 on container\n" || r.code != 0 || r.stderr != "" {
		t.Fatalf("got %+v; want stdout \"pid 1 on container\\n\", exit 0, no stderr", r)
	}
	r = rawnsRun(t, "run", "--hostname", "web1", "--clone", "fork", "--", "hostname")
	if r.stdout != "web1\n" || r.code != 0 {
		t.Fatalf("--hostname web1 --clone fork: %+v", r)
	}
}

func TestRunVerbose(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	host, _ := os.Hostname()
	for _, style := range []string{"auto", "vfork", "fork"} {
		r := rawnsRun(t, "run", "-v", "--clone", style, "--", "sh", "-c", "sleep 0.2; exit 4")
		want := []string{
			fmt.Sprintf("on host %q", host),
			"pid 1 inside, hostname \"container\"",
			"rawns: the command exited with code 4",
		}
		for _, w := range want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("--clone %s -v: stderr lacks %q:\n%s", style, w, r.stderr)
			}
		}
		for _, kind := range []string{"pid", "uts"} {
			if !regexpLine(r.stderr, `rawns: `+kind+` +\d+ +\d+ +new$`) {
				t.Errorf("--clone %s -v: no 'new' line for %s:\n%s", style, kind, r.stderr)
			}
		}
		if !regexpLine(r.stderr, `rawns: net +(\d+) +(\d+) +shared$`) {
			t.Errorf("--clone %s -v: net should be shared:\n%s", style, r.stderr)
		}
		if r.code != 4 {
			t.Errorf("exit code %d, want 4", r.code)
		}
	}
}

func regexpLine(s, re string) bool {
	return regexp.MustCompile(`(?m)` + re).MatchString(s)
}

func TestRunExitCodes(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, []byte("echo hi\n"), 0o644)
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"true"}, 0, ""},
		{[]string{"sh", "-c", "exit 7"}, 7, ""},
		{[]string{plain}, 126, "cannot execute " + plain + ": permission denied"},
		{[]string{dir}, 126, "cannot execute " + dir},
		{[]string{"no-such-command-rawns"}, 127, "no-such-command-rawns: command not found"},
		{[]string{dir + "/missing"}, 127, "cannot execute " + dir + "/missing: no such file or directory"},
	}
	for _, c := range cases {
		r := rawnsRun(t, append([]string{"run", "--"}, c.args...)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("rawns run -- %q: exit %d, stderr %q; want exit %d and %q", c.args, r.code, r.stderr, c.code, c.msg)
		}
	}
	// Killed by a signal: PID 1 of a namespace cannot kill itself, so this
	// one runs without a PID namespace.
	r := rawnsRun(t, "run", "--ns", "uts", "--", "sh", "-c", "kill -KILL $$")
	if r.code != 128+9 {
		t.Errorf("command killed by SIGKILL: exit %d, want 137", r.code)
	}
	for _, v := range runVariants[1:] {
		r = rawnsRun(t, append(append([]string{"run"}, v...), "--", "sh", "-c", "kill -TERM $$")...)
		if r.code != 128+15 {
			t.Errorf("command killed by SIGTERM under %v: exit %d, want 143", v, r.code)
		}
	}
}

func TestRunBadInput(t *testing.T) {
	testutil.CheckHostUnchanged(t)
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"run"}, "no command given"},
		{[]string{"run", "--"}, "no command given"},
		{[]string{"run", "--hostname", "", "--", "true"}, "empty hostname"},
		{[]string{"run", "--hostname", strings.Repeat("h", 65), "--", "true"}, "65 bytes; the kernel allows at most 64"},
		{[]string{"run", "--ns", "pid", "--hostname", "x", "--", "true"}, "--hostname \"x\" needs a new UTS namespace"},
		{[]string{"run", "--ns", "pid,bogus", "--", "true"}, "unknown namespace \"bogus\""},
		{[]string{"run", "--bogus", "--", "true"}, "unknown flag --bogus"},
		{[]string{"run", "--hostname", "a", "--hostname", "b", "--", "true"}, "--hostname given twice"},
		{[]string{"run", "--clone", "spoon", "--", "true"}, "unknown clone style \"spoon\""},
		{[]string{"run", "--ns"}, "--ns needs a value"},
		{[]string{"run", "--env", "=x", "--", "true"}, "empty variable name"},
		{[]string{"run", "--chdir", "", "--", "true"}, "--chdir: empty directory"},
		{[]string{"run", "--mount-proc", "--ns", "uts", "--", "true"}, "add pid to --ns"},
		{[]string{"run", "--pid", "--", "true"}, "unknown flag --pid: use --ns pid (the default set is pid,uts)"},
		{[]string{"run", "-r", "--", "true"}, "unknown flag -r: use --map-root-user"},
		{[]string{"run", "--die-with-parent", "--", "true"}, "unknown flag --die-with-parent: rawns always does this"},
		{[]string{"run", "--wd=/tmp", "--", "true"}, "unknown flag --wd=/tmp: use --chdir DIR"},
		{[]string{"run", "--propagation", "weird", "--ns", "mnt", "--", "true"}, "unknown propagation \"weird\""},
		{[]string{"run", "--init", "--ns", "uts", "--", "true"}, "add pid to --ns"},
		{[]string{"frobnicate"}, "unknown command \"frobnicate\""},
		{[]string{"version", "extra"}, "rawns version takes no arguments, but got extra"},
		{[]string{"help", "bogus"}, "rawns help: unknown command bogus; use run, bench, trace, cgroup-clean, init, version or help"},
		{[]string{"help", "run", "extra"}, "rawns help takes one command name, but got run and extra"},
		{[]string{"run", "--trace=xml", "--", "true"}, "--trace=xml: unknown format; use --trace, --trace=text or --trace=json"},
		{[]string{"run", "--hostname", "--", "hostname"}, "flag --hostname needs a value, but the next argument is --; to pass it on purpose write --hostname=--"},
		{[]string{"run", "--ns", "pid", "--hostname", "h", "--", "true"}, "add uts to --ns"},
	}
	for _, c := range cases {
		r := rawnsRun(t, c.args...)
		if r.code != 125 || !strings.Contains(r.stderr, c.msg) || strings.Count(r.stderr, "\n") != 1 || r.stdout != "" {
			t.Errorf("rawns %q: exit %d, stdout %q, stderr %q; want exit 125 and one line containing %q", c.args, r.code, r.stdout, r.stderr, c.msg)
		}
	}
	if os.Geteuid() == 0 {
		// Nothing was started: the chdir failure happens in the child before
		// exec, so the command never ran.
		marker := filepath.Join(t.TempDir(), "ran")
		r := rawnsRun(t, "run", "--chdir", "/nonexistent-dir", "--", "touch", marker)
		if r.code != 125 || !strings.Contains(r.stderr, "--chdir /nonexistent-dir: no such file or directory") {
			t.Errorf("bad --chdir: %+v", r)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Errorf("the command ran despite the bad --chdir")
		}
	}
}

func TestRunWithoutPrivilege(t *testing.T) {
	testutil.RequireRoot(t)
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Fatalf("setpriv (util-linux) is needed to drop privilege: %v", err)
	}
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", rawnsBin, "run", "--", "true")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 125 || !strings.Contains(stderr.String(), "creating these namespaces needs root or CAP_SYS_ADMIN") {
		t.Fatalf("as nobody: %v, stderr %q; want exit 125 and a message about root or CAP_SYS_ADMIN", err, stderr.String())
	}
}

// startRawns starts rawns in the background with a command that prints
// "ready" once it has set up, and returns rawns and the command's host pid.
func startRawns(t *testing.T, extra []*os.File, args ...string) (*exec.Cmd, *bufio.Reader, int) {
	t.Helper()
	cmd := exec.Command(rawnsBin, args...)
	cmd.ExtraFiles = extra
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	br := bufio.NewReader(out)
	line, err := readLine(br, 30*time.Second)
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("waiting for ready: %q, %v", line, err)
	}
	kids := testutil.Children(cmd.Process.Pid)
	if len(kids) != 1 {
		t.Fatalf("rawns has children %v, want exactly one", kids)
	}
	return cmd, br, kids[0]
}

// readLine reads one line, or gives up after d so that a lost signal fails
// the test instead of hanging it (the cleanup then kills rawns).
func readLine(br *bufio.Reader, d time.Duration) (string, error) {
	type res struct {
		line string
		err  error
	}
	c := make(chan res, 1)
	go func() {
		line, err := br.ReadString('\n')
		c <- res{line, err}
	}()
	select {
	case r := <-c:
		return r.line, r.err
	case <-time.After(d):
		return "", fmt.Errorf("no line within %v", d)
	}
}

func TestRunOnlyStdioFDs(t *testing.T) {
	testutil.RequireRoot(t)
	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// rawns itself gets fd 3 from ExtraFiles, without close-on-exec.
	_, _, pid := startRawns(t, []*os.File{f}, "run", "--", "sh", "-c", "echo ready; exec sleep 30")
	// Once sleep sleeps its fd table is what it keeps (testutil.WaitSleeping).
	sleeper := testutil.WaitSleeping(t, pid)
	if fds := testutil.FDs(sleeper); strings.Join(fds, ",") != "0,1,2" {
		var targets []string
		for _, fd := range fds {
			l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", sleeper, fd))
			targets = append(targets, fd+"->"+l)
		}
		t.Fatalf("the command has fds %v, want exactly 0,1,2", targets)
	}
}

func TestRunDiesWithRawns(t *testing.T) {
	testutil.RequireRoot(t)
	for _, style := range []string{"vfork", "fork"} {
		cmd, _, pid := startRawns(t, nil, "run", "--clone", style, "--", "sh", "-c", "echo ready; exec sleep 100")
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		deadline := time.Now().Add(time.Second)
		for testutil.ProcessAlive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("--clone %s: the command %d still runs a second after rawns was SIGKILLed", style, pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// TestSIGTERMTwiceStopsPID1: a SIGTERM that PID 1 would drop is said on
// stderr, and a second one kills the command; a command that traps the
// signal gets it and no such line; SIGWINCH, harmless, is never said.
func TestSIGTERMTwiceStopsPID1(t *testing.T) {
	testutil.RequireRoot(t)
	cmd := exec.Command(rawnsBin, "run", "--", "sh", "-c", "exec sleep 20")
	var stderr testutil.SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	testutil.WaitSleeping(t, cmd.Process.Pid)
	cmd.Process.Signal(syscall.SIGWINCH)
	cmd.Process.Signal(syscall.SIGTERM)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "no handler for SIGTERM") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	ee, _ := err.(*exec.ExitError)
	want := "rawns run: the command is PID 1 of its PID namespace and has no handler for SIGTERM, so the kernel drops it; send SIGTERM again within 3s to kill it (SIGKILL), or use --init\nrawns run: SIGTERM again: killing the command with SIGKILL\n"
	if ee == nil || ee.ExitCode() != 137 || stderr.String() != want {
		t.Errorf("two SIGTERMs: rawns ended with %v, stderr %q; want exit 137 and %q", err, stderr.String(), want)
	}

	// A command that traps it hears it, and rawns says nothing.
	r := rawnsRunWithSignal(t, syscall.SIGTERM, "run", "--", "sh", "-c", `trap 'exit 42' TERM; echo ready; while :; do sleep 0.05; done`)
	if r.code != 42 || r.stderr != "" {
		t.Errorf("trapped SIGTERM: %+v; want exit 42 and nothing on stderr", r)
	}
}

// rawnsRunWithSignal runs rawns until the command says ready, sends sig
// to rawns, and returns how it ended.
func rawnsRunWithSignal(t *testing.T, sig syscall.Signal, args ...string) result {
	t.Helper()
	cmd := exec.Command(rawnsBin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := readLine(bufio.NewReader(out), 30*time.Second)
	if err != nil || strings.TrimSpace(line) != "ready" {
		cmd.Process.Kill()
		t.Fatalf("the command said %q, %v; want ready", line, err)
	}
	cmd.Process.Signal(sig)
	err = cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return result{"", stderr.String(), code}
}

func TestRunForwardsSignals(t *testing.T) {
	testutil.RequireRoot(t)
	sigs := []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2}
	// sh cannot trap a signal it was started with ignored (POSIX), as
	// under nohup: rawns must start with each at SIG_DFL.
	for _, sig := range sigs {
		testutil.DefaultSignals(t, sig)
	}
	for _, sig := range sigs {
		for _, init := range runVariants {
			args := append([]string{"run"}, init...)
			name := strings.TrimPrefix(sigName(sig), "SIG")
			script := fmt.Sprintf(`trap 'echo got %s; exit 42' %s; echo ready; while :; do sleep 0.05; done`, name, name)
			cmd, out, _ := startRawns(t, nil, append(args, "--", "sh", "-c", script)...)
			cmd.Process.Signal(sig)
			line, err := readLine(out, 30*time.Second)
			if err != nil {
				cmd.Process.Kill() // the signal was lost: fail, don't hang
			}
			err = cmd.Wait()
			ee, _ := err.(*exec.ExitError)
			if strings.TrimSpace(line) != "got "+name || ee == nil || ee.ExitCode() != 42 {
				t.Errorf("%v (%v): command printed %q, rawns ended with %v; want \"got %s\" and exit 42", sig, init, line, err, name)
			}
		}
	}
}

func sigName(s syscall.Signal) string {
	return map[syscall.Signal]string{syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT", syscall.SIGHUP: "SIGHUP", syscall.SIGUSR1: "SIGUSR1", syscall.SIGUSR2: "SIGUSR2"}[s]
}

func TestRunEnv(t *testing.T) {
	testutil.RequireRoot(t)
	t.Setenv("RAWNS_TEST_COPY", "copied")
	r := rawnsRun(t, "run", "--clearenv", "--env", "A=1", "--env", "RAWNS_TEST_COPY", "--env", "A=2", "--env", "B=x=y", "--", "/usr/bin/env")
	if r.stdout != "RAWNS_TEST_COPY=copied\nA=2\nB=x=y\n" || r.code != 0 {
		t.Errorf("--clearenv --env: got %+v", r)
	}
	r = rawnsRun(t, "run", "--unsetenv", "RAWNS_TEST_COPY", "--", "sh", "-c", `echo "[${RAWNS_TEST_COPY-unset}]"`)
	if r.stdout != "[unset]\n" {
		t.Errorf("--unsetenv: got %+v", r)
	}
	// PATH is searched in the command's environment.
	r = rawnsRun(t, "run", "--clearenv", "--env", "PATH=/nonexistent", "--", "true")
	if r.code != 127 {
		t.Errorf("command not on the given PATH: exit %d, want 127 (%s)", r.code, r.stderr)
	}
}

// rawns bench runs rawns-bench from beside rawns: one quick in-process
// round proves the exec and the argument passing.
func TestBenchThroughRawns(t *testing.T) {
	testutil.RequireRoot(t)
	r := rawnsRun(t, "bench", "--rounds", "1", "--warmup", "0", "--batch", "1", "--strategies", "rawns-vfork,os-exec", "--no-progress", "--csv")
	if r.code != 0 || !strings.Contains(r.stdout, "rawns-vfork") || !strings.Contains(r.stdout, "os-exec") {
		t.Fatalf("rawns bench: %+v", r)
	}
}

func TestVersionAndHelp(t *testing.T) {
	r := rawnsRun(t, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "rawns ") {
		t.Errorf("version: %+v", r)
	}
	r = rawnsRun(t, "run", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "--hostname NAME") {
		t.Errorf("run --help: %+v", r)
	}
	r = rawnsRun(t, "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "rawns run [flags]") {
		t.Errorf("--help: %+v", r)
	}
	// rawns help COMMAND is COMMAND --help (it said "help takes no
	// arguments"; issue 25).
	for _, c := range []struct{ verb, want string }{
		{"run", "Examples:"}, {"bench", "usage: rawns bench"}, {"trace", "usage: rawns trace"},
		{"cgroup-clean", "Usage: rawns cgroup-clean"}, {"init", "rawns init -- PATH"},
	} {
		r = rawnsRun(t, "help", c.verb)
		if r.code != 0 || !strings.Contains(r.stdout, c.want) || r.stderr != "" {
			t.Errorf("help %s: %+v", c.verb, r)
		}
	}
}

// TestInfoAndStatusFDs: --info-fd gets one JSON object once the command
// runs (its pid, pid 1 inside, its namespaces' inodes, new where asked),
// then EOF; --json-status-fd gets the same object, then the exit code.
// Neither fd reaches the command.
func TestInfoAndStatusFDs(t *testing.T) {
	testutil.RequireRoot(t)
	infoR, infoW, _ := os.Pipe()
	statR, statW, _ := os.Pipe()
	defer infoR.Close()
	defer statR.Close()
	cmd := exec.Command(rawnsBin, "run", "--info-fd", "3", "--json-status-fd", "4", "--", "sh", "-c", "ls /proc/self/fd; exit 3")
	cmd.ExtraFiles = []*os.File{infoW, statW}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	err := cmd.Run()
	infoW.Close()
	statW.Close()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("rawns: %v, want exit 3", err)
	}
	if got := strings.Fields(stdout.String()); strings.Join(got, ",") != "0,1,2,3" { // 3: ls's own
		t.Errorf("the command's fds %v, want 0,1,2 and ls's 3", got)
	}
	readAllLines := func(f *os.File) []map[string]int64 {
		b, _ := io.ReadAll(f)
		var objs []map[string]int64
		for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			m := map[string]int64{}
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("not a JSON object of numbers: %q: %v", line, err)
			}
			objs = append(objs, m)
		}
		return objs
	}
	info, stat := readAllLines(infoR), readAllLines(statR)
	own, _ := os.Readlink("/proc/self/ns/pid")
	if len(info) != 1 || info[0]["child-pid"] <= 0 || info[0]["pid-inside"] != 1 ||
		info[0]["pid-namespace"] == 0 || "pid:["+strconv.FormatInt(info[0]["pid-namespace"], 10)+"]" == own {
		t.Errorf("--info-fd wrote %v; want one object with child-pid, pid-inside 1 and a new pid-namespace", info)
	}
	if len(stat) != 2 || stat[0]["child-pid"] != info[0]["child-pid"] || stat[1]["exit-code"] != 3 {
		t.Errorf("--json-status-fd wrote %v; want the info object, then {\"exit-code\":3}", stat)
	}
}
