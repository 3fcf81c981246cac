package oci

import (
	"os"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// engineSeccomp makes the config what every engine sends: a seccomp
// profile, noNewPrivileges false, and no CAP_SYS_ADMIN (rawns-oci spec's
// three capabilities). The profile answers mkdir with ENOMEDIUM (123), an
// errno nothing else gives, and denies the calls named in deny with EPERM.
func engineSeccomp(s *specs.Spec, deny ...string) {
	s.Process.NoNewPrivileges = false
	enomedium := uint(123)
	eperm := uint(1)
	s.Linux.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: &enomedium},
		},
	}
	if len(deny) > 0 {
		s.Linux.Seccomp.Syscalls = append(s.Linux.Seccomp.Syscalls, specs.LinuxSyscall{Names: deny, Action: specs.ActErrno, ErrnoRet: &eperm})
	}
}

// TestSeccompWithoutNoNewPrivs: an engine's config runs, through create
// and start (the gate's read under the filter) and through run; the
// filter is on (mkdir answers ENOMEDIUM), no_new_privs is off and the
// capabilities are the config's.
func TestSeccompWithoutNoNewPrivs(t *testing.T) {
	e := newEnv(t, func(s *specs.Spec) {
		engineSeccomp(s)
		s.Process.Args = []string{"sh", "-c", "grep -E '^(NoNewPrivs|Seccomp|CapEff):' /proc/self/status; mkdir /dev/x 2>&1 || true"}
	})
	want := "CapEff:\t0000000020000420\nNoNewPrivs:\t0\nSeccomp:\t2\nmkdir: can't create directory '/dev/x': No medium found\n"
	r := e.run(t, "run", "--bundle", e.bundle, newID("seccomp-run"))
	if r.code != 0 || r.stdout != want {
		t.Errorf("run: %+v\nwant stdout %q", r, want)
	}
	id := newID("seccomp-gate")
	r, out := e.create(t, id)
	if r.code != 0 {
		t.Fatalf("create: %+v", r)
	}
	if r := e.run(t, "start", id); r.code != 0 {
		t.Fatalf("start: %+v", r)
	}
	e.waitStatus(t, id, "stopped")
	if got, _ := os.ReadFile(out); string(got) != want {
		t.Errorf("create/start: got %q, want %q", got, want)
	}
	if r := e.run(t, "delete", id); r.code != 0 {
		t.Errorf("delete: %+v", r)
	}
}

// TestSeccompDeniesSetup: a profile that denies a step rawns makes after
// installing it (capset) fails the container with one line that names
// the step and the filter, exit 1, and leaves nothing (newEnv checks).
func TestSeccompDeniesSetup(t *testing.T) {
	e := newEnv(t, func(s *specs.Spec) {
		engineSeccomp(s, "capset")
		s.Process.Args = []string{"true"}
	})
	for _, verb := range []string{"run", "create"} {
		id := newID("seccomp-deny-" + verb)
		r, _ := e.detached(t, verb, "--bundle", e.bundle, id)
		t.Logf("%s: %s", verb, r.stderr)
		if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "capset") || !strings.Contains(r.stderr, "seccomp filter") || !strings.Contains(r.stderr, "operation not permitted") {
			t.Errorf("%s: %+v\nwant exit 1 and one line naming capset and the seccomp filter", verb, r)
		}
	}
}
