//go:build linux && (amd64 || arm64)

package clone_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// run starts spec with stdout and stderr captured, waits, and returns them
// with the status; the system call used is left in *sc when sc is not nil.
func run(t *testing.T, spec *clone.Spec, sc ...*string) (string, clone.ExitStatus) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	spec.Stdio = []int{0, int(w.Fd()), int(w.Fd())}
	if spec.Env == nil {
		spec.Env = []string{"PATH=" + clone.DefaultPath}
	}
	p, err := clone.Start(spec)
	w.Close()
	if err != nil {
		t.Fatalf("Start(%s): %v", spec.Path, err)
	}
	for _, p2 := range sc {
		*p2 = p.Syscall
	}
	out := make(chan string)
	go func() {
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		out <- b.String()
	}()
	st, err := p.Wait()
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return <-out, st
}

func sh(script string) *clone.Spec {
	return &clone.Spec{Path: "/bin/sh", Args: []string{"sh", "-c", script}}
}

func TestPIDOneAndHostname(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	for _, s := range testutil.CloneStyles {
		t.Run(s.Name, func(t *testing.T) {
			spec := sh(`echo "pid $$ on $(hostname)"`)
			spec.Namespaces = clone.NewPID | clone.NewUTS
			spec.Hostname = "container"
			spec.Mode, spec.Syscall = s.Mode, s.Syscall
			var used string
			out, st := run(t, spec, &used)
			if out != "pid 1 on container\n" || st.ExitCode() != 0 {
				t.Fatalf("got %q, %v; want \"pid 1 on container\\n\", exit code 0", out, st)
			}
			if used != s.Syscall.String() {
				t.Errorf("Process.Syscall = %q, want %q", used, s.Syscall)
			}
		})
	}
}

func TestExitStatus(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	for _, s := range testutil.CloneStyles {
		t.Run(s.Name, func(t *testing.T) {
			for _, code := range []int{0, 7, 255} {
				spec := sh("exit " + strconv.Itoa(code))
				spec.Namespaces = clone.NewPID | clone.NewUTS
				spec.Mode, spec.Syscall = s.Mode, s.Syscall
				if _, st := run(t, spec); st.Code != code || st.Signal != 0 {
					t.Errorf("exit %d: got %v", code, st)
				}
			}
			// Killed from outside: PID 1 of a namespace can't kill itself.
			p, err := clone.Start(&clone.Spec{Path: "/bin/sleep", Args: []string{"sleep", "30"}, Namespaces: clone.NewPID, Mode: s.Mode, Syscall: s.Syscall})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			st, err := p.Wait()
			if err != nil || st.Signal != syscall.SIGKILL || st.ExitCode() != 137 {
				t.Fatalf("after SIGKILL: %v, %v; want signal 9, exit code 137", st, err)
			}
			if err := p.Signal(syscall.SIGTERM); !errors.Is(err, clone.ErrProcessDone) {
				t.Errorf("Signal after Wait = %v, want ErrProcessDone", err)
			}
		})
	}
}

func TestChildErrors(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	dir := t.TempDir()
	noexec := dir + "/noexec"
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	garbage := dir + "/garbage"
	if err := os.WriteFile(garbage, []byte("\x00\x01\x02\x03 not a program"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		spec    clone.Spec
		stage   clone.Stage
		errno   syscall.Errno
		subject string
	}{
		{clone.Spec{Path: dir + "/missing"}, clone.StageExec, unix.ENOENT, dir + "/missing"},
		{clone.Spec{Path: noexec}, clone.StageExec, unix.EACCES, noexec},
		{clone.Spec{Path: garbage}, clone.StageExec, unix.ENOEXEC, garbage},
		{clone.Spec{Path: dir}, clone.StageExec, unix.EACCES, dir},
		{clone.Spec{Path: "/bin/true", Dir: dir + "/nodir"}, clone.StageChdir, unix.ENOENT, dir + "/nodir"},
		{clone.Spec{Path: "/bin/true", Args: []string{"true", strings.Repeat("x", 200<<10)}}, clone.StageExec, unix.E2BIG, "/bin/true"},
	}
	for _, s := range testutil.CloneStyles {
		for _, c := range cases {
			spec := c.spec
			spec.Namespaces = clone.NewPID | clone.NewUTS
			spec.Mode, spec.Syscall = s.Mode, s.Syscall
			_, err := clone.Start(&spec)
			var ce *clone.ChildError
			if !errors.As(err, &ce) {
				t.Errorf("%s %s: got %v, want a ChildError", s.Name, spec.Path, err)
				continue
			}
			if ce.Stage != c.stage || ce.Errno != c.errno || ce.Subject != c.subject {
				t.Errorf("%s: got %+v (%v), want stage %v errno %v subject %q", s.Name, *ce, err, c.stage, c.errno, c.subject)
			}
			if !errors.Is(err, c.errno) {
				t.Errorf("%s: errors.Is(%v, %v) is false", s.Name, err, c.errno)
			}
		}
	}
	testutil.AssertNoChildren(t)
}

func TestOnlyStdioReachTheChild(t *testing.T) {
	testutil.RequireRoot(t)
	// An fd without close-on-exec, as a careless library would leave it.
	fd, err := unix.Open("/dev/null", unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for _, s := range testutil.CloneStyles {
		p, err := clone.Start(&clone.Spec{Path: "/bin/sleep", Args: []string{"sleep", "10"}, Namespaces: clone.NewPID | clone.NewUTS, Mode: s.Mode, Syscall: s.Syscall})
		if err != nil {
			t.Fatal(err)
		}
		// Read the fd table from outside once sleep sleeps: before that its
		// loader opens files of its own (testutil.WaitSleeping).
		testutil.WaitSleeping(t, p.Pid)
		fds := testutil.FDs(p.Pid)
		p.Signal(syscall.SIGKILL)
		p.Wait()
		if strings.Join(fds, ",") != "0,1,2" {
			t.Errorf("%s: the child has fds %v, want exactly 0,1,2", s.Name, fds)
		}
	}
}

func TestStdioShuffle(t *testing.T) {
	testutil.RequireRoot(t)
	// stdout and stderr of the child swapped onto each other's pipes, and a
	// stdin at fd 2's number: the child must dup without clobbering.
	rOut, wOut, _ := os.Pipe()
	rErr, wErr, _ := os.Pipe()
	defer rOut.Close()
	defer rErr.Close()
	p, err := clone.Start(&clone.Spec{
		Path: "/bin/sh", Args: []string{"sh", "-c", "echo out; echo err >&2"},
		Stdio: []int{0, int(wErr.Fd()), int(wOut.Fd())},
	})
	wOut.Close()
	wErr.Close()
	if err != nil {
		t.Fatal(err)
	}
	p.Wait()
	o, _ := readAll(rOut)
	e, _ := readAll(rErr)
	if o != "err\n" || e != "out\n" {
		t.Errorf("pipe for stderr got %q, pipe for stdout got %q", o, e)
	}
}

func readAll(f *os.File) (string, error) {
	var b strings.Builder
	buf := make([]byte, 512)
	for {
		n, err := f.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String(), nil
		}
	}
}

func TestSignalMaskIsEmpty(t *testing.T) {
	testutil.RequireRoot(t)
	for _, s := range testutil.CloneStyles {
		spec := sh(`grep -E '^Sig(Blk|Ign):' /proc/self/status`)
		spec.Namespaces = clone.NewPID
		spec.Mode, spec.Syscall = s.Mode, s.Syscall
		out, _ := run(t, spec)
		if !strings.Contains(out, "SigBlk:\t0000000000000000") {
			t.Errorf("%s: the child starts with blocked signals:\n%s", s.Name, out)
		}
	}
}

func TestConcurrentStarts(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	const goroutines, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				code := (g*each + i) % 200
				s := testutil.CloneStyles[(g+i)%len(testutil.CloneStyles)]
				p, err := clone.Start(&clone.Spec{Path: "/bin/sh", Args: []string{"sh", "-c", "exit " + strconv.Itoa(code)},
					Namespaces: clone.NewPID | clone.NewUTS, Hostname: "c" + strconv.Itoa(g), Mode: s.Mode, Syscall: s.Syscall})
				if err != nil {
					errs <- err
					continue
				}
				st, err := p.Wait()
				if err != nil || st.Code != code {
					errs <- fmt.Errorf("goroutine %d spawn %d: %v, %v; want exit code %d", g, i, st, err, code)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	testutil.AssertNoChildren(t)
}

// TestExecFD: a program given by fd runs although its path leads nowhere,
// in every clone style, and its fd does not reach it.
func TestExecFD(t *testing.T) {
	testutil.RequireRoot(t)
	fd, err := unix.Open("/bin/sh", unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for _, s := range testutil.CloneStyles {
		out, st := run(t, &clone.Spec{
			Path: "/nonexistent/sh", ExecFD: fd, Args: []string{"sh", "-c", "echo ran; ls /proc/self/fd"},
			Namespaces: clone.NewPID | clone.NewMount, Mode: s.Mode, Syscall: s.Syscall,
		})
		// ls's own fd for the directory is 3.
		if st.ExitCode() != 0 || out != "ran\n0\n1\n2\n3\n" {
			t.Errorf("%s: %v, output %q; want ran and fds 0-3", s.Name, st, out)
		}
	}
}

func TestValidate(t *testing.T) {
	long := strings.Repeat("h", 65)
	cases := []struct {
		spec clone.Spec
		want string
	}{
		{clone.Spec{}, "Path is empty"},
		{clone.Spec{Path: "/bin/true", Hostname: "x"}, "needs a new UTS namespace"},
		{clone.Spec{Path: "/bin/true", Namespaces: clone.NewUTS, Hostname: long}, "at most 64"},
		{clone.Spec{Path: "/bin/true", Args: []string{"a\x00b"}}, "NUL"},
		{clone.Spec{Path: "/bin/true", Env: []string{"NOEQUALS"}}, "KEY=VALUE"},
		{clone.Spec{Path: "/bin/true", MountProc: true}, "mount namespace"},
		{clone.Spec{Path: "/bin/true", UIDMap: []clone.IDMap{{0, 0, 1}}}, "user namespace"},
		{clone.Spec{Path: "/bin/true", Namespaces: clone.NewUser, UIDMap: []clone.IDMap{{0, 0, 1}}, Mode: clone.ModeVfork}, "vfork"},
		{clone.Spec{Path: "/bin/true", Namespaces: clone.NewTime, Syscall: clone.SyscallClone}, "clone3"},
		{clone.Spec{Path: "/bin/true", Stdio: []int{0, 1}}, "exactly 3"},
		{clone.Spec{Path: "/bin/true", ExecFD: 2}, "ExecFD 2: give an fd of 3 or more"},
		{clone.Spec{Path: "/bin/true", ExecFD: -1}, "ExecFD -1"},
	}
	for _, c := range cases {
		err := c.spec.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want an error containing %q", c.spec, err, c.want)
		}
	}
	ok := clone.Spec{Path: "/bin/true", Namespaces: clone.NewUTS, Hostname: strings.Repeat("h", 64)}
	if err := ok.Validate(); err != nil {
		t.Errorf("a 64-byte hostname: %v", err)
	}
}

func TestParseNamespaces(t *testing.T) {
	good := map[string]clone.Namespaces{
		"pid,uts":  clone.NewPID | clone.NewUTS,
		"uts,pid":  clone.NewPID | clone.NewUTS,
		"all":      clone.AllNamespaces,
		"mnt":      clone.NewMount,
		"net, ipc": clone.NewNet | clone.NewIPC,
	}
	for in, want := range good {
		got, err := clone.ParseNamespaces(in)
		if err != nil || got != want {
			t.Errorf("ParseNamespaces(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "pid,,uts", "pid,pid", "bogus", "pid,bogus", ","} {
		if _, err := clone.ParseNamespaces(in); err == nil {
			t.Errorf("ParseNamespaces(%q) succeeded", in)
		}
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(dir+"/plain", []byte("x"), 0o644)
	os.WriteFile(dir+"/tool", []byte("#!/bin/sh\n"), 0o755)
	if p, err := clone.LookPath("tool", "/nonexistent:"+dir); err != nil || p != dir+"/tool" {
		t.Errorf("LookPath(tool) = %q, %v", p, err)
	}
	if _, err := clone.LookPath("plain", dir); !errors.Is(err, clone.ErrNotExecutable) && os.Geteuid() != 0 {
		t.Errorf("LookPath(plain) = %v, want ErrNotExecutable", err)
	}
	if _, err := clone.LookPath("missing", dir); !errors.Is(err, clone.ErrNotFound) {
		t.Errorf("LookPath(missing) = %v, want ErrNotFound", err)
	}
	if p, _ := clone.LookPath("./x/y", dir); p != "./x/y" {
		t.Errorf("a name with a slash must be kept as it is, got %q", p)
	}
}

// The clone3-to-clone fallback is tested in a child test process that
// installs a seccomp filter making clone3 fail with ENOSYS, as container
// runtimes' default profiles do; the filter can't be removed again, so it
// must not be installed in this process.
func TestClone3FallbackUnderSeccomp(t *testing.T) {
	testutil.RequireRoot(t)
	if os.Getenv("RAWNS_TEST_SECCOMP_CHILD") == "1" {
		seccompChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestClone3FallbackUnderSeccomp$", "-test.v")
	cmd.Env = append(os.Environ(), "RAWNS_TEST_SECCOMP_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "fallback ok") {
		t.Fatalf("child test: %v\n%s", err, out)
	}
}

func seccompChild(t *testing.T) {
	if err := denyClone3WithENOSYS(); err != nil {
		t.Fatal(err)
	}
	// Sanity: the filter is in force.
	if _, _, e := unix.RawSyscall(unix.SYS_CLONE3, 0, 0, 0); e != unix.ENOSYS {
		t.Fatalf("clone3 under the filter returned %v, want ENOSYS", e)
	}
	for i := 0; i < 2; i++ {
		spec := sh(`echo "pid $$ on $(hostname)"`)
		spec.Namespaces = clone.NewPID | clone.NewUTS
		spec.Hostname = "fallback"
		var used string
		out, st := run(t, spec, &used)
		if out != "pid 1 on fallback\n" || st.Code != 0 {
			t.Fatalf("under seccomp: %q %v", out, st)
		}
		if used != "clone" {
			t.Fatalf("Process.Syscall = %q, want clone", used)
		}
	}
	// A time namespace can't be had without clone3: a clear error, not a
	// silent namespace-less child.
	_, err := clone.Start(&clone.Spec{Path: "/bin/true", Namespaces: clone.NewTime})
	if !errors.Is(err, clone.ErrNoClone3) {
		t.Fatalf("time namespace without clone3: %v, want ErrNoClone3", err)
	}
	fmt.Println("fallback ok")
}

// PinThread off the main thread locks the goroutine to its thread: when the
// goroutine then ends, the runtime ends that thread, and PR_SET_PDEATHSIG
// takes the child with it. (On the main thread it locks nothing: the
// runtime never ends that thread; rawns run relies on that.)
// With a uid change too, which clears the parent-death signal: the child
// sets it again after setresuid.
func TestPinThreadOffMainThread(t *testing.T) {
	testutil.RequireRoot(t)
	t.Run("root", func(t *testing.T) { pinThreadOffMainThread(t, nil) })
	t.Run("user", func(t *testing.T) {
		pinThreadOffMainThread(t, &clone.Privilege{Cred: &clone.Credential{UID: 1000, GID: 1000}})
	})
}

func pinThreadOffMainThread(t *testing.T, priv *clone.Privilege) {
	pidc := make(chan int, 1)
	spawn := func() { // on a thread other than the main one
		clone.PinThread()
		p, err := clone.StartHere(&clone.Spec{Path: "/bin/sleep", Args: []string{"sleep", "30"}, Namespaces: clone.NewPID, Privilege: priv})
		if err != nil {
			t.Error(err)
			pidc <- 0
			return
		}
		pidc <- p.Pid
		// Returning while locked ends the thread, and with it the child.
	}
	go func() {
		if unix.Gettid() != unix.Getpid() {
			spawn()
			return
		}
		// On the main thread: hold it, so that the next goroutine has to
		// run on another one.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		done := make(chan struct{})
		go func() { spawn(); close(done) }()
		<-done
	}()
	pid := <-pidc
	if pid == 0 {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(b), ") Z ") {
			break // gone, or a zombie waiting for its reaper
		}
		if time.Now().After(deadline) {
			unix.Kill(pid, unix.SIGKILL)
			t.Fatalf("the child of a PinThread'd goroutine lives on after the goroutine ended: the thread was not locked, or the uid change cleared PR_SET_PDEATHSIG")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var ws unix.WaitStatus
	unix.Wait4(pid, &ws, 0, nil)
}
