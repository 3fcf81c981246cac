//go:build linux && (amd64 || arm64)

package clone_test

import (
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// target starts a sleeping process in new namespaces to join, killed at
// the end of the test.
func target(t *testing.T, spec *clone.Spec) *clone.Process {
	t.Helper()
	spec.Path, spec.Args = "/bin/sleep", []string{"sleep", "60"}
	p, err := clone.Start(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Signal(syscall.SIGKILL); p.Wait() })
	testutil.WaitSleeping(t, p.Pid)
	return p
}

func nsLink(t *testing.T, pid int, kind string) string {
	t.Helper()
	l, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/" + kind)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func nsFD(t *testing.T, pid int, kind string) int {
	t.Helper()
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/ns/"+kind, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// TestJoin: the program runs in the namespaces joined, by nsfs fd or by
// pidfd, mixed with namespaces created; a joined PID namespace holds it
// (not as its PID 1), and the cloning thread is back in its own
// afterwards.
func TestJoin(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	tg := target(t, &clone.Spec{Namespaces: clone.NewPID | clone.NewUTS | clone.NewNet | clone.NewIPC, Hostname: "target"})
	want := func(kinds ...string) string {
		var b strings.Builder
		for _, k := range kinds {
			b.WriteString(nsLink(t, tg.Pid, k) + "\n")
		}
		return b.String()
	}
	for _, s := range testutil.CloneStyles {
		t.Run(s.Name, func(t *testing.T) {
			for _, c := range []struct {
				name string
				join []clone.Join
			}{
				{"nsfs", []clone.Join{
					{Kinds: clone.NewNet, FD: nsFD(t, tg.Pid, "net")},
					{Kinds: clone.NewUTS, FD: nsFD(t, tg.Pid, "uts")},
					{Kinds: clone.NewIPC, FD: nsFD(t, tg.Pid, "ipc")},
					{Kinds: clone.NewPID, FD: nsFD(t, tg.Pid, "pid")},
				}},
				{"pidfd", []clone.Join{{Kinds: clone.NewNet | clone.NewUTS | clone.NewIPC | clone.NewPID, FD: tg.PidFD()}}},
			} {
				spec := sh(`for n in net uts ipc pid; do readlink /proc/self/ns/$n; done; hostname; echo $$`)
				spec.Join = c.join
				spec.Namespaces = clone.NewCgroup // created beside the joins
				spec.Mode, spec.Syscall = s.Mode, s.Syscall
				runtime.LockOSThread()
				before, _ := os.Readlink("/proc/thread-self/ns/pid_for_children")
				out, st := run(t, spec)
				after, _ := os.Readlink("/proc/thread-self/ns/pid_for_children")
				runtime.UnlockOSThread()
				lines := strings.SplitAfter(out, "\n")
				if st.ExitCode() != 0 || len(lines) < 6 || strings.Join(lines[:4], "") != want("net", "uts", "ipc", "pid") || lines[4] != "target\n" {
					t.Errorf("%s: %v: got %q; want the target's namespaces %q and hostname", c.name, st, out, want("net", "uts", "ipc", "pid"))
				}
				if pid, _ := strconv.Atoi(strings.TrimSpace(lines[5])); pid < 2 {
					t.Errorf("%s: the program is pid %q in the joined PID namespace; want 2 or more (sleep is 1)", c.name, lines[5])
				}
				if before != after {
					t.Errorf("%s: the cloning thread's pid_for_children went from %s to %s", c.name, before, after)
				}
			}
		})
	}
}

// TestJoinMountDir: joining a mount namespace (an exec into a container)
// resolves Dir inside its root, and no /proc magic link leads out.
func TestJoinMountDir(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	root := testutil.BusyboxRoot(t)
	ts := inRoot(root, "")
	ts.Mounts = []clone.Mount{procMount}
	tg := target(t, &clone.Spec{Namespaces: ts.Namespaces, Root: root, Mounts: ts.Mounts, Env: ts.Env})
	spec := &clone.Spec{Path: "/bin/sh", Args: []string{"sh", "-c", "pwd; ls /"}, Env: []string{"PATH=/bin"}, Dir: "/etc",
		Join: []clone.Join{{Kinds: clone.NewMount, FD: nsFD(t, tg.Pid, "mnt")}, {Kinds: clone.NewPID, FD: nsFD(t, tg.Pid, "pid")}}}
	out, st := run(t, spec)
	if want := "/etc\nbin\ndev\netc\nmnt\nproc\nroot\nsys\ntmp\n"; out != want || st.ExitCode() != 0 {
		t.Errorf("got %q, %v; want the target's root and /etc", out, st)
	}
	spec.Dir = "/proc/self/fd/0"
	_, err := clone.Start(spec)
	var ce *clone.ChildError
	if !errors.As(err, &ce) || ce.Stage != clone.StageChdir || ce.Errno != unix.ELOOP {
		t.Errorf("Dir /proc/self/fd/0 in a joined mount namespace: got %v; want ELOOP at chdir", err)
	}
}

func TestJoinValidate(t *testing.T) {
	testutil.RequireRoot(t)
	self := nsFD(t, os.Getpid(), "net")
	uts := nsFD(t, os.Getpid(), "uts")
	null, _ := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	defer unix.Close(null)
	for _, c := range []struct {
		spec clone.Spec
		want string
	}{
		{clone.Spec{Join: []clone.Join{{Kinds: clone.NewUTS, FD: self}}}, "the fd is a net namespace"},
		{clone.Spec{Join: []clone.Join{{Kinds: clone.NewNet, FD: self}}, Namespaces: clone.NewNet}, "both joined and created"},
		{clone.Spec{Join: []clone.Join{{Kinds: clone.NewNet, FD: self}, {Kinds: clone.NewNet, FD: self}}}, "joined twice"},
		{clone.Spec{Join: []clone.Join{{Kinds: clone.NewUTS, FD: uts}}, Namespaces: clone.NewUser}, "user namespace created by the clone"},
		{clone.Spec{Join: []clone.Join{{Kinds: clone.NewNet, FD: null}}}, "neither a namespace nor a pidfd"},
		{clone.Spec{Join: []clone.Join{{Kinds: 0, FD: self}}}, "give one or more namespace kinds"},
		{clone.Spec{Join: []clone.Join{{Kinds: clone.NewPID, FD: self}}, Init: true, Namespaces: clone.NewPID}, "both joined and created"},
	} {
		c.spec.Path = "/bin/true"
		if err := c.spec.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want %q", c.spec.Join, err, c.want)
		}
	}
}
