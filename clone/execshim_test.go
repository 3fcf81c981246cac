//go:build linux && (amd64 || arm64)

package clone_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// shimFD opens the exec shim for one test.
func shimFD(t *testing.T) int {
	t.Helper()
	fd, err := clone.OpenExecShim()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// TestExecShimRunsTheProgram: through the shim (Spec.ShimFD) the program
// gets exactly its argv and environment, its own binary as /proc/self/exe,
// and no fd beyond stdio (the error pipe the shim kept open is closed at
// its execve), in every clone style.
func TestExecShimRunsTheProgram(t *testing.T) {
	testutil.RequireRoot(t)
	shim := shimFD(t)
	for _, s := range testutil.CloneStyles {
		t.Run(s.Name, func(t *testing.T) {
			spec := &clone.Spec{Path: "/bin/sh", Args: []string{"sh", "-c", `tr '\0' ' ' </proc/$$/cmdline; echo "[$X]"; readlink /proc/$$/exe; ls /proc/self/fd`, "zero", "one"},
				Env: []string{"X=y z", "PATH=" + clone.DefaultPath}, ShimFD: shim}
			spec.Mode, spec.Syscall = s.Mode, s.Syscall
			out, st := run(t, spec)
			sh, _ := filepath.EvalSymlinks("/bin/sh")
			// ls's own directory fd is 3. (argv[0] "sh": busybox, the
			// VMs' sh, picks its applet by it.)
			want := "sh -c " + spec.Args[2] + " zero one [y z]\n" + sh + "\n0\n1\n2\n3\n"
			if out != want || st.ExitCode() != 0 {
				t.Errorf("output %q, status %v; want %q, 0", out, st, want)
			}
		})
	}
}

// TestExecShimReportsExecErrors: a program that cannot be executed is
// reported as without the shim: a *ChildError of StageExec with execve's
// errno, from the shim's report on the error pipe; past a gate, as the
// exit status (127 not found, 126 cannot invoke).
func TestExecShimReportsExecErrors(t *testing.T) {
	testutil.RequireRoot(t)
	shim := shimFD(t)
	dir := t.TempDir()
	noexec := filepath.Join(dir, "noexec")
	if err := os.WriteFile(noexec, []byte("not a program\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path  string
		errno unix.Errno
	}{{filepath.Join(dir, "missing"), unix.ENOENT}, {noexec, unix.EACCES}} {
		for _, s := range testutil.CloneStyles {
			spec := &clone.Spec{Path: c.path, ShimFD: shim, Stdio: []int{0, 1, 2}}
			spec.Mode, spec.Syscall = s.Mode, s.Syscall
			_, err := clone.Start(spec)
			var ce *clone.ChildError
			if !errors.As(err, &ce) || ce.Stage != clone.StageExec || ce.Errno != c.errno {
				t.Errorf("%s, %s: Start = %v; want a ChildError of StageExec, %v", s.Name, c.path, err, c.errno)
			}
		}
		gate, path := gateFIFO(t)
		p, err := clone.Start(&clone.Spec{Path: c.path, ShimFD: shim, GateFD: gate, Stdio: []int{0, 1, 2}})
		if err != nil {
			t.Fatalf("gated Start: %v", err)
		}
		openGate(t, path)
		st, err := p.Wait()
		want := clone.ExitCannotInvoke
		if c.errno == unix.ENOENT {
			want = clone.ExitNotFound
		}
		if err != nil || st.ExitCode() != want {
			t.Errorf("gated %s: status %v, %v; want exit %d", c.path, st, err, want)
		}
	}
}

// TestExecShimSelfExe: CVE-2019-5736's program, "#!/proc/self/exe". Run
// by a clone of this test binary without the shim, the interpreter the
// kernel finds is this binary (ocitest/cve shows the hole that makes);
// through the shim it is the shim, which refuses to run (exit 126). The shim's file cannot be
// opened for writing (a read-only tmpfs; EROFS).
func TestExecShimSelfExe(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	evil := filepath.Join(dir, "evil")
	if err := os.WriteFile(evil, []byte("#!/proc/self/exe\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	shim := shimFD(t)
	for _, s := range testutil.CloneStyles {
		spec := &clone.Spec{Path: evil, ShimFD: shim}
		spec.Mode, spec.Syscall = s.Mode, s.Syscall
		out, st := run(t, spec)
		if st.ExitCode() != clone.ExitCannotInvoke || out != "" {
			t.Errorf("%s: #!/proc/self/exe through the shim: status %v, output %q; want exit %d, nothing", s.Name, st, out, clone.ExitCannotInvoke)
		}
	}
	wantNotWritable(t, shim, "the shim")
}

// shimFile writes this build's shim to a file of its own, as make build
// does beside rawns-oci, and opens it the way OpenExecShim does first.
func shimFile(t *testing.T) (name string, fd int) {
	t.Helper()
	name = filepath.Join(t.TempDir(), clone.ShimFileName)
	if err := os.WriteFile(name, clone.ExecShim(), 0o755); err != nil {
		t.Fatal(err)
	}
	fd, err := clone.OpenExecShimFile(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return name, fd
}

// TestExecShimFile: the shim's file beside the binary, bound read-only for
// the start, runs the program in every clone style, refuses
// "#!/proc/self/exe" as the tmpfs's does, and cannot be opened for writing
// through the fd the child execs (EROFS), though the file itself stays
// writable on the host; a file that is not this build's shim is refused.
// Before Linux 5.12 (no mount_setattr(2)) the bind cannot be made
// read-only: OpenExecShimFile refuses, and OpenExecShim makes the tmpfs.
func TestExecShimFile(t *testing.T) {
	testutil.RequireRoot(t)
	if !clone.KernelAtLeast(5, 12) {
		name := filepath.Join(t.TempDir(), clone.ShimFileName)
		if err := os.WriteFile(name, clone.ExecShim(), 0o755); err != nil {
			t.Fatal(err)
		}
		if fd, err := clone.OpenExecShimFile(name); !errors.Is(err, unix.ENOSYS) {
			if err == nil {
				unix.Close(fd)
			}
			t.Fatalf("OpenExecShimFile before Linux 5.12 = %v; want mount_setattr's ENOSYS", err)
		}
		return
	}
	name, fd := shimFile(t)
	evil := filepath.Join(t.TempDir(), "evil")
	if err := os.WriteFile(evil, []byte("#!/proc/self/exe\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range testutil.CloneStyles {
		spec := &clone.Spec{Path: "/bin/sh", Args: []string{"sh", "-c", "echo ran"}, ShimFD: fd}
		spec.Mode, spec.Syscall = s.Mode, s.Syscall
		if out, st := run(t, spec); out != "ran\n" || st.ExitCode() != 0 {
			t.Errorf("%s: through the shim's file: %q, %v", s.Name, out, st)
		}
		spec = &clone.Spec{Path: evil, ShimFD: fd}
		spec.Mode, spec.Syscall = s.Mode, s.Syscall
		if out, st := run(t, spec); st.ExitCode() != clone.ExitCannotInvoke || out != "" {
			t.Errorf("%s: #!/proc/self/exe through the shim's file: status %v, output %q; want exit %d, nothing", s.Name, st, out, clone.ExitCannotInvoke)
		}
	}
	wantNotWritable(t, fd, "the shim's file")
	var st, fst unix.Stat_t
	if err := unix.Stat(name, &st); err != nil || unix.Fstat(fd, &fst) != nil || st.Ino != fst.Ino || st.Dev != fst.Dev {
		t.Errorf("the fd is not of %s: %v", name, err)
	}
	// Stale or foreign contents: refused, with the fix.
	for _, bad := range [][]byte{clone.ExecShim()[:100], append(clone.ExecShim(), 0), []byte("#!/bin/sh\n")} {
		if err := os.WriteFile(name, bad, 0o755); err != nil {
			t.Fatal(err)
		}
		if fd, err := clone.OpenExecShimFile(name); err == nil || !strings.Contains(err.Error(), "make build") {
			if err == nil {
				unix.Close(fd)
			}
			t.Errorf("OpenExecShimFile of %d other bytes = %v; want a refusal naming make build", len(bad), err)
		}
	}
	if _, err := clone.OpenExecShimFile(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, unix.ENOENT) {
		t.Errorf("OpenExecShimFile of a missing file = %v; want ENOENT", err)
	}
}

// TestExecShimMemfd: the fallback without CAP_SYS_ADMIN, a sealed memfd,
// runs the program the same way, and cannot be written, though it can be
// opened for writing.
func TestExecShimMemfd(t *testing.T) {
	testutil.RequireRoot(t)
	fd, err := clone.ShimInMemfd()
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	out, st := run(t, &clone.Spec{Path: "/bin/sh", Args: []string{"sh", "-c", "echo ran"}, ShimFD: fd})
	if out != "ran\n" || st.ExitCode() != 0 {
		t.Errorf("through the memfd shim: %q, %v", out, st)
	}
	w, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), unix.O_WRONLY|unix.O_APPEND|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("opening the memfd for writing: %v", err)
	}
	defer unix.Close(w)
	if _, err := unix.Write(w, []byte("x")); err != unix.EPERM {
		t.Errorf("writing the sealed memfd: %v; want EPERM", err)
	}
}

// TestExecShimValidate: ShimFD's rules.
func TestExecShimValidate(t *testing.T) {
	shim := shimFD(t)
	for _, c := range []struct {
		spec clone.Spec
		want string
	}{
		{clone.Spec{Path: "/bin/true", ShimFD: 2}, "ShimFD 2: give an fd of 3 or more"},
		{clone.Spec{Path: "/bin/true", ShimFD: shim, ExecFD: shim}, "ShimFD and ExecFD"},
		{clone.Spec{Path: "/bin/true", ShimFD: shim, Init: true, Namespaces: clone.NewPID}, "ShimFD with Init"},
	} {
		if err := c.spec.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v; want %q", c.spec, err, c.want)
		}
	}
}

// BenchmarkExecShim is the shim's cost to a start of /bin/true (rawns-oci
// pays it at every create and exec): "direct" execs the program, "shim"
// execs it through a shim opened once, "tmpfs+shim" makes the shim's
// read-only tmpfs for each start and closes it after, "file+shim" binds
// the shim's file read-only for each start instead, as rawns-oci does
// when make build put the file beside it.
// Besides the time, "cpu-us/op" is the CPU time (user and system) of this
// process and its children per start, which the machine's load disturbs
// less.
func BenchmarkExecShim(b *testing.B) {
	testutil.RequireRoot(b)
	shim, err := clone.OpenExecShim()
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(shim)
	file := filepath.Join(b.TempDir(), clone.ShimFileName)
	if err := os.WriteFile(file, clone.ExecShim(), 0o755); err != nil {
		b.Fatal(err)
	}
	if fd, err := clone.OpenExecShimFile(file); err != nil {
		b.Fatalf("%v (Linux 5.12+)", err)
	} else {
		unix.Close(fd)
	}
	for _, c := range []struct {
		name string
		open func() (int, error)
		fd   int
	}{
		{"direct", nil, 0},
		{"shim", nil, shim},
		{"tmpfs+shim", clone.ShimOnReadOnlyTmpfs, 0},
		{"file+shim", func() (int, error) { return clone.OpenExecShimFile(file) }, 0},
	} {
		b.Run(c.name, func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				fd := c.fd
				if c.open != nil {
					if fd, err = c.open(); err != nil {
						b.Fatal(err)
					}
				}
				p, err := clone.Start(&clone.Spec{Path: "/bin/true", Stdio: []int{0, 1, 2}, ShimFD: fd})
				if err != nil {
					b.Fatal(err)
				}
				if st, err := p.Wait(); err != nil || st.ExitCode() != 0 {
					b.Fatal(st, err)
				}
				if c.open != nil {
					unix.Close(fd)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/1e3/float64(b.N), "cpu-us/op")
		})
	}
}

// cpuTime is the CPU time, user and system, of this process and its
// reaped children, in nanoseconds.
func cpuTime() int64 {
	var self, kids unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &self)
	unix.Getrusage(unix.RUSAGE_CHILDREN, &kids)
	return self.Utime.Nano() + self.Stime.Nano() + kids.Utime.Nano() + kids.Stime.Nano()
}

// wantNotWritable fails t unless opening fd's file for writing, through
// /proc/self/fd as a container would reach it, is refused with EROFS.
func wantNotWritable(t *testing.T, fd int, what string) {
	t.Helper()
	w, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err == nil {
		unix.Close(w)
	}
	if err != unix.EROFS {
		t.Errorf("opening %s for writing through its fd: %v; want EROFS", what, err)
	}
}
