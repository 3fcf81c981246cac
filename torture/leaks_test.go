//go:build linux && (amd64 || arm64)

package torture_test

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// leakyFDs opens fds of many kinds without close-on-exec, as careless code
// would, among them one at a high number, and closes them at the end of t.
func leakyFDs(t *testing.T) []*os.File {
	t.Helper()
	var fds []int
	add := func(fd int, err error) {
		if err != nil {
			t.Fatal(err)
		}
		fds = append(fds, fd)
	}
	add(unix.Open("/dev/null", unix.O_RDWR, 0))
	add(unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY, 0))
	add(unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0))
	add(unix.EpollCreate(1))
	add(unix.Eventfd(0, 0))
	var p [2]int
	if err := unix.Pipe(p[:]); err != nil {
		t.Fatal(err)
	}
	fds = append(fds, p[0], p[1])
	if err := unix.Dup2(p[0], 900); err != nil {
		t.Fatal(err)
	}
	fds = append(fds, 900)
	// The first three become *os.File (for ExtraFiles) and are closed
	// through them: a raw close would leave a finalizer that closes the fd
	// number again later, when it belongs to someone else.
	var files []*os.File
	for _, fd := range fds[:3] {
		files = append(files, os.NewFile(uintptr(fd), "leak"))
	}
	t.Cleanup(func() {
		for _, f := range files {
			f.Close()
		}
		for _, fd := range fds[3:] {
			unix.Close(fd)
		}
	})
	return files
}

// TestOnlyStdioFDsReachTheCommand: whatever the parent has open, close-on-
// exec or not, the command has exactly 0, 1 and 2: in process, every clone
// style, and through the CLI with fds passed to rawns itself.
func TestOnlyStdioFDsReachTheCommand(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	extra := leakyFDs(t)
	// A listening TCP socket too (close-on-exec, as Go makes them).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, s := range testutil.CloneStyles {
		p, err := clone.Start(&clone.Spec{Path: "/bin/sleep", Args: []string{"sleep", "30"}, Namespaces: clone.NewPID | clone.NewUTS | clone.NewNet, Mode: s.Mode, Syscall: s.Syscall})
		if err != nil {
			t.Fatal(err)
		}
		testutil.WaitSleeping(t, p.Pid)
		fds := testutil.FDs(p.Pid)
		p.Signal(syscall.SIGKILL)
		p.Wait()
		if strings.Join(fds, ",") != "0,1,2" {
			t.Errorf("%s: the command has fds %v, want exactly 0,1,2", s.Name, fds)
		}
	}
	for _, args := range [][]string{{"run"}, {"run", "--init"}, {"run", "--init", "--cap-drop", "sys_ptrace"}, {"run", "--clone", "fork"}, {"run", "-v"}} {
		b := startRawns(t, runOpts{extra: extra}, append(args, "--", "sh", "-c", "echo ready; exec sleep 30")...)
		pid := testutil.WaitSleeping(t, b.pid)
		if got := testutil.FDs(b.cmd.Process.Pid); len(got) < 6 {
			t.Fatalf("rawns itself has fds %v; the test meant to give it 3 more", got)
		}
		if fds := testutil.FDs(pid); strings.Join(fds, ",") != "0,1,2" {
			t.Errorf("%q: the command has fds %v, want exactly 0,1,2", args, fds)
		}
		b.cmd.Process.Kill()
		b.wait(t)
	}
}

// sigMask returns a /proc/PID/status signal mask for sigs.
func sigMask(sigs ...syscall.Signal) string {
	var m uint64
	for _, s := range sigs {
		m |= 1 << (uint(s) - 1)
	}
	return fmt.Sprintf("%016x", m)
}

// statusSigs picks the Sig* lines out of a /proc/PID/status text.
func statusSigs(status string) map[string]string {
	m := make(map[string]string)
	for _, line := range strings.Split(status, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.HasPrefix(k, "Sig") {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// TestSignalDispositions: the command starts with no signal blocked, no
// handler (SigCgt 0), and ignoring exactly what rawns's caller had ignored
// among SIGHUP and SIGINT: ignored dispositions are inherited across
// fork and exec (POSIX), and nohup and shells' background jobs rely on it.
// Other signals ignored by rawns's caller are reset to SIG_DFL (the Go
// runtime installs its own handlers at start-up and the inherited SIG_IGN
// is lost, docs/reliability.md), so the command never ignores anything its
// caller did not.
func TestSignalDispositions(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	// Signals 32 and 33 are glibc's own (SIGCANCEL, SIGSETXID): the Go
	// runtime installs no handler for them, so an ignore inherited from
	// whatever started this test passes through rawns unchanged.
	var rt []syscall.Signal
	for _, sig := range []syscall.Signal{32, 33} {
		if inheritedIgnored(sig) {
			rt = append(rt, sig)
		}
	}
	cases := []struct {
		ignore []syscall.Signal
		want   string // SigIgn of the command
	}{
		{[]syscall.Signal{}, sigMask(rt...)},
		{[]syscall.Signal{syscall.SIGHUP}, sigMask(append(rt, syscall.SIGHUP)...)},
		{[]syscall.Signal{syscall.SIGHUP, syscall.SIGINT}, sigMask(append(rt, syscall.SIGHUP, syscall.SIGINT)...)},
		{[]syscall.Signal{syscall.SIGINT, syscall.SIGPIPE, syscall.SIGTERM}, sigMask(append(rt, syscall.SIGINT)...)},
	}
	for _, c := range cases {
		for _, args := range [][]string{{"run"}, {"run", "--init"}, {"run", "--init", "--cap-drop", "sys_ptrace"}, {"run", "--clone", "fork"}, {"run", "--ns", "uts"}} {
			r := rawnsRun(t, runOpts{ignore: c.ignore}, append(args, "--", "cat", "/proc/self/status")...)
			if r.code != 0 {
				t.Fatalf("%q: %v", args, r)
			}
			got := statusSigs(r.stdout)
			if got["SigBlk"] != sigMask() || got["SigCgt"] != sigMask() || got["SigIgn"] != c.want {
				t.Errorf("%q started with %v ignored: the command has SigBlk %s, SigCgt %s, SigIgn %s; want 0, 0 and %s",
					args, c.ignore, got["SigBlk"], got["SigCgt"], got["SigIgn"], c.want)
			}
		}
	}
	// In process: the test process's own SIG_IGN for SIGHUP (as under
	// nohup) reaches the child; nothing else is ignored or blocked.
	t.Run("in process", func(t *testing.T) {
		for _, s := range testutil.CloneStyles {
			r, w, _ := os.Pipe()
			p, err := clone.Start(&clone.Spec{Path: "/bin/cat", Args: []string{"cat", "/proc/self/status"}, Stdio: []int{0, int(w.Fd()), 2},
				Namespaces: clone.NewPID, Mode: s.Mode, Syscall: s.Syscall})
			w.Close()
			if err != nil {
				t.Fatal(err)
			}
			out := readAllString(r)
			p.Wait()
			got := statusSigs(out)
			var ign []syscall.Signal
			for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, 32, 33} {
				if inheritedIgnored(sig) {
					ign = append(ign, sig)
				}
			}
			want := sigMask(ign...)
			if got["SigBlk"] != sigMask() || got["SigCgt"] != sigMask() {
				t.Errorf("%s: the child has SigBlk %s, SigCgt %s; want 0, 0", s.Name, got["SigBlk"], got["SigCgt"])
			}
			if g := got["SigIgn"]; g != want {
				t.Errorf("%s: the child has SigIgn %s, want %s", s.Name, g, want)
			}
		}
	})
}

// inheritedIgnored reports whether this process was started with sig
// ignored (the Go runtime keeps SIGHUP and SIGINT so).
func inheritedIgnored(sig syscall.Signal) bool {
	m, _ := strconv.ParseUint(statusSigs(readString("/proc/self/status"))["SigIgn"], 16, 64)
	return m&(1<<(uint(sig)-1)) != 0
}

func readAllString(f *os.File) string {
	defer f.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := f.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

// environOf parses the text of /proc/PID/environ.
func environOf(s string) []string {
	s = strings.TrimSuffix(s, "\x00")
	if s == "" {
		return []string{}
	}
	return strings.Split(s, "\x00")
}

// TestEnvironmentIsExact: the command's environment is exactly what was
// asked for: rawns's own (nothing added, nothing lost, order kept) by
// default, with --env/--unsetenv applied, or nothing at all with
// --clearenv; the same under --init. Values with newlines, '=' and
// non-UTF-8 bytes pass as they are.
func TestEnvironmentIsExact(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	base := []string{"PATH=" + clone.DefaultPath, "A=1", "MULTI=line1\nline2", "EQ=a=b=c", "BYTES=\xff\xfe", "EMPTY=", "B=2"}
	cases := []struct {
		args []string
		want []string
	}{
		{nil, base},
		{[]string{"--clearenv"}, []string{}},
		{[]string{"--clearenv", "--env", "X=1", "--env", "A", "--env", "X=2"}, []string{"A=1", "X=2"}},
		// --unsetenv applies after every --env, wherever it stands.
		{[]string{"--unsetenv", "A", "--unsetenv", "NOT_SET", "--env", "A=new", "--env", "C=3"}, []string{"PATH=" + clone.DefaultPath, "MULTI=line1\nline2", "EQ=a=b=c", "BYTES=\xff\xfe", "EMPTY=", "B=2", "C=3"}},
		{[]string{"--env", "B=3"}, []string{"PATH=" + clone.DefaultPath, "A=1", "MULTI=line1\nline2", "EQ=a=b=c", "BYTES=\xff\xfe", "EMPTY=", "B=3"}},
		{[]string{"--unsetenv", "PATH", "--unsetenv", "MULTI", "--unsetenv", "EQ", "--unsetenv", "BYTES", "--unsetenv", "EMPTY", "--unsetenv", "A", "--unsetenv", "B"}, []string{}},
	}
	for _, c := range cases {
		for _, init := range []bool{false, true} {
			args := []string{"run"}
			if init {
				args = append(args, "--init")
			}
			args = append(append(args, c.args...), "--", "/bin/cat", "/proc/self/environ")
			r := rawnsRun(t, runOpts{env: base}, args...)
			got := environOf(r.stdout)
			if r.code != 0 || strings.Join(got, "\x00") != strings.Join(c.want, "\x00") || len(got) != len(c.want) {
				t.Errorf("rawns %q with environment %q: %v\ngot  %q\nwant %q", args, base, r, got, c.want)
			}
		}
	}
	// In process: Spec.Env is the whole environment; nil and empty mean none.
	for _, env := range [][]string{nil, {}, {"ONLY=this"}, base} {
		r, w, _ := os.Pipe()
		p, err := clone.Start(&clone.Spec{Path: "/bin/cat", Args: []string{"cat", "/proc/self/environ"}, Env: env, Stdio: []int{0, int(w.Fd()), 2}, Namespaces: clone.NewPID})
		w.Close()
		if err != nil {
			t.Fatal(err)
		}
		out := readAllString(r)
		p.Wait()
		want := env
		if want == nil {
			want = []string{}
		}
		if got := environOf(out); strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
			t.Errorf("Spec.Env %q: the child has %q", env, got)
		}
	}
}

// TestHostProcessesInvisibleFromPIDNamespace: from inside a new PID
// namespace the host's processes cannot be signalled (ESRCH, "No such
// process") nor found, while the namespace's own are.
func TestHostProcessesInvisibleFromPIDNamespace(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	host := os.Getpid()
	script := fmt.Sprintf(`kill -0 1 && echo "own pid 1: ok"
kill -0 %[1]d 2>&1; echo "host pid %[1]d: $?"
kill -KILL %[1]d 2>&1; echo "kill host pid: $?"
if [ -e /proc/%[1]d ]; then echo "host pid in /proc: visible"; else echo "host pid in /proc: absent"; fi
echo "processes: $(ls -d /proc/[0-9]* | wc -l)"`, host)
	for _, args := range [][]string{{"run", "--mount-proc"}, {"run", "--mount-proc", "--init"}, {"run", "--ns", "user,pid,mnt", "--map-root-user", "--mount-proc"}} {
		r := rawnsRun(t, runOpts{}, append(args, "--", "sh", "-c", script)...)
		var lines []string
		for _, l := range strings.Split(r.stdout, "\n") {
			if l != "" {
				lines = append(lines, l)
			}
		}
		if r.code != 0 || len(lines) != 7 {
			t.Fatalf("%q: %v", args, r)
		}
		want := []string{
			"own pid 1: ok",
			"sh: 2: kill: No such process",
			fmt.Sprintf("host pid %d: 1", host),
			"sh: 3: kill: No such process",
			"kill host pid: 1",
			"host pid in /proc: absent",
		}
		for i, w := range want {
			if lines[i] != w {
				t.Errorf("%q: line %d is %q, want %q\n%s", args, i+1, lines[i], w, r.stdout)
			}
		}
		// The command (plus the init, plus ls) and nothing of the host's.
		if n, _ := strconv.Atoi(strings.TrimPrefix(lines[6], "processes: ")); n < 1 || n > 6 {
			t.Errorf("%q: %d processes visible inside, want only the namespace's own", args, n)
		}
	}
	// The same from Go inside: kill(2) and pidfd_open(2) of the host pid.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r := rawnsRun(t, runOpts{env: append(os.Environ(), envProbe+"="+strconv.Itoa(host))}, "run", "--", self)
	if r.code != 0 || !strings.Contains(r.stdout, "kill: no such process; pidfd_open: no such process") {
		t.Errorf("probe inside: %v", r)
	}
}

// probeHostPID runs inside the namespace for the test above (TestMain
// dispatches to it): kill(2) and pidfd_open(2) of the host's pid.
func probeHostPID(pid int) int {
	e1 := unix.Kill(pid, 0)
	_, e2 := unix.PidfdOpen(pid, 0)
	fmt.Printf("kill: %v; pidfd_open: %v\n", e1, e2)
	if os.Getpid() != 1 {
		fmt.Printf("pid %d inside, want 1\n", os.Getpid())
		return 1
	}
	return 0
}
