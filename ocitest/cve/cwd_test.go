package cve

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// CVE-2024-21626: runc leaked host directory fds (a cgroup directory,
// among others) into the container's process; with cwd /proc/self/fd/N
// the process started with its working directory on the host, outside
// the root. For each N the runtime must refuse the cwd, or the process
// must find itself inside the root (the probe climbs with "..": from a
// host directory it never meets the root).
func TestCVE_2024_21626_CwdThroughLeakedFD(t *testing.T) {
	forEachRuntime(t, "CVE-2024-21626", func(t *testing.T, r *runner) error {
		ran := 0
		for n := 3; n <= 20; n++ {
			cwd := "/proc/self/fd/" + strconv.Itoa(n)
			b := r.bundle(func(s *specs.Spec, _ string) {
				s.Process.Args = []string{"/ocitest-probe", "where"}
				s.Process.Cwd = cwd
			})
			res := r.run(b)
			if res.err == nil {
				ran++
			}
			if err := inside("create with cwd "+cwd, res); err != nil {
				return err
			}
		}
		t.Logf("%d of 18 containers with cwd /proc/self/fd/N started (the rest refused)", ran)
		return nil
	})
}

// inside returns a hole unless the probe's "where" found the root, or the
// runtime refused to start it.
func inside(what string, res result) error {
	if res.err != nil {
		return nil // refused: fine
	}
	if !strings.Contains(res.out, "INSIDE") {
		return fmt.Errorf("%s: the process's working directory is outside the root: %s", what, res)
	}
	return nil
}

// CVE-2024-21626 at exec: exec --cwd /proc/self/fd/N into a running
// container.
func TestCVE_2024_21626_CwdThroughLeakedFDExec(t *testing.T) {
	forEachRuntime(t, "CVE-2024-21626", func(t *testing.T, r *runner) error {
		ran := 0
		id, _ := r.sleeper()
		for n := 3; n <= 20; n++ {
			cwd := "/proc/self/fd/" + strconv.Itoa(n)
			res := r.do("exec", "--cwd", cwd, id, "/ocitest-probe", "where")
			if res.err == nil {
				ran++
			}
			if err := inside("exec --cwd "+cwd, res); err != nil {
				return err
			}
		}
		// The probe itself must see the root from the root, or the check
		// above proves nothing.
		res := r.do("exec", "--cwd", "/bin", id, "/ocitest-probe", "where")
		if res.err != nil || !strings.Contains(res.out, "INSIDE") {
			t.Fatalf("exec --cwd /bin: the probe does not find the root: %v", res)
		}
		t.Logf("%d of 18 execs with --cwd /proc/self/fd/N started (the rest refused)", ran)
		return nil
	})
}

// CVE-2024-21626, the fd table: between create and start the container's
// process may hold only its stdio and descriptors that close at exec (the
// runtime's start gate); the program it runs then holds exactly 0, 1, 2.
// The caller hands the runtime a host directory as fd 3 and fd 4 (as an
// engine that leaks descriptors into its runtime does): neither may reach
// the container. With --preserve-fds 1, fd 3 (a pipe here) is asked for:
// the program holds exactly 0 to 3 then.
func TestCVE_2024_21626_CreatedFDTable(t *testing.T) {
	forEachRuntime(t, "CVE-2024-21626", func(t *testing.T, r *runner) error {
		host, err := os.Open("/")
		if err != nil {
			t.Fatal(err)
		}
		defer host.Close()
		if err := createdFDTable(t, r, []*os.File{host, host}, nil, 3); err != nil {
			return err
		}
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		defer pw.Close()
		return createdFDTable(t, r, []*os.File{pw, host}, []string{"--preserve-fds", "1"}, 4)
	})
}

// createdFDTable creates a container running the probe's "fds" with files
// as fds 3... of the runtime, and returns a hole unless the created process
// holds no inheritable fd at or above want (beyond stdio and what the
// config asked) and the program starts with exactly fds 0 to want-1.
func createdFDTable(t *testing.T, r *runner, files []*os.File, extra []string, want int) error {
	what := fmt.Sprintf("with fds 3..%d handed to the runtime, %v", 2+len(files), extra)
	b := r.bundle(func(s *specs.Spec, _ string) { s.Process.Args = []string{"/ocitest-probe", "fds"} })
	id, pid, err := r.createFiles(b, files, extra...)
	if err != nil {
		t.Fatal(err)
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	var leaks []string
	for _, e := range fds {
		n, _ := strconv.Atoi(e.Name())
		if n < want {
			continue
		}
		info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%d", pid, n))
		if err != nil {
			continue // closed meanwhile
		}
		target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, n))
		if flags := fdFlags(string(info)); flags&unix.O_CLOEXEC == 0 {
			leaks = append(leaks, fmt.Sprintf("fd %d -> %s (flags %#o, not close-on-exec)", n, target, flags))
		}
	}
	if res := r.do("start", id); res.err != nil {
		t.Fatalf("start: %v", res)
	}
	if err := r.waitStopped(id); err != nil {
		t.Fatal(err)
	}
	out := output(b, id)
	var got []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "fd ") {
			got = append(got, line)
		}
	}
	if len(got) == 0 {
		t.Fatalf("the probe listed no fds: %q", out)
	}
	seen := map[int]bool{}
	for _, line := range got {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			t.Fatalf("the probe's line %q", line)
		}
		seen[n] = true
		if n >= want {
			leaks = append(leaks, "the container's program started with "+line)
		}
	}
	for n := range want {
		if !seen[n] {
			t.Fatalf("%s: the program started without fd %d, which it was given: %q", what, n, out)
		}
	}
	if len(leaks) > 0 {
		return fmt.Errorf("%s: the created container holds descriptors the config did not ask for: %s", what, strings.Join(leaks, "; "))
	}
	return nil
}

// fdFlags returns the flags line of an fdinfo file (octal).
func fdFlags(info string) int {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 8, 64)
			return int(n)
		}
	}
	return 0
}
