//go:build linux && (amd64 || arm64)

package clone_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// statusFields picks fields of /proc/self/status as cat(1), the command
// itself, printed them.
func statusFields(t *testing.T, out string, names ...string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(l, ":")
		if ok {
			got[k] = strings.TrimSpace(v)
		}
	}
	for _, n := range names {
		if _, ok := got[n]; !ok {
			t.Fatalf("no %s in /proc/self/status:\n%s", n, out)
		}
	}
	return got
}

func capHex(m uint64) string { return fmt.Sprintf("%016x", m) }

const (
	capChown   = 1 << unix.CAP_CHOWN
	capNetRaw  = 1 << unix.CAP_NET_RAW
	capSetpcap = 1 << unix.CAP_SETPCAP
)

// TestPrivilegeReadBack sets every part of the privilege phase and reads
// each back from /proc/self/status of the command itself, under every
// clone style.
func TestPrivilegeReadBack(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	allow := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}}
	umask := uint32(0o027)
	cases := []struct {
		name string
		priv clone.Privilege
		want map[string]string
	}{
		{
			// Root keeps its uid: after execve its permitted and
			// effective sets are the bounding set (capabilities(7),
			// "Capabilities and execution of programs by root").
			name: "root",
			priv: clone.Privilege{
				Caps:       &clone.Capabilities{Bounding: capChown | capNetRaw, Effective: capChown | capNetRaw, Permitted: capChown | capNetRaw},
				NoNewPrivs: true, Seccomp: allow, Umask: &umask, Setsid: true,
			},
			want: map[string]string{
				"CapBnd": capHex(capChown | capNetRaw), "CapPrm": capHex(capChown | capNetRaw),
				"CapEff": capHex(capChown | capNetRaw), "CapInh": capHex(0), "CapAmb": capHex(0),
				"NoNewPrivs": "1", "Seccomp": "2", "Seccomp_filters": "1", "Umask": "0027",
				"Uid": "0\t0\t0\t0",
			},
		},
		{
			// A non-root user keeps CAP_NET_RAW through the ambient set
			// only; the bounding set keeps what was asked.
			name: "user-ambient",
			priv: clone.Privilege{
				Cred: &clone.Credential{UID: 1000, GID: 1001, Groups: []uint32{1002, 1003}},
				Caps: &clone.Capabilities{Bounding: capNetRaw | capSetpcap, Effective: capNetRaw, Permitted: capNetRaw, Inheritable: capNetRaw, Ambient: capNetRaw},
			},
			want: map[string]string{
				"CapBnd": capHex(capNetRaw | capSetpcap), "CapPrm": capHex(capNetRaw),
				"CapEff": capHex(capNetRaw), "CapInh": capHex(capNetRaw), "CapAmb": capHex(capNetRaw),
				"NoNewPrivs": "0", "Seccomp": "0",
				"Uid": "1000\t1000\t1000\t1000", "Gid": "1001\t1001\t1001\t1001", "Groups": "1002 1003",
			},
		},
		{
			// What every engine sends: a filter, no_new_privs off, and
			// no CAP_SYS_ADMIN kept. The filter goes in before the
			// capability steps, while CAP_SYS_ADMIN is still there.
			name: "seccomp-without-nnp",
			priv: clone.Privilege{
				Caps:    &clone.Capabilities{Bounding: capChown | capNetRaw, Effective: capChown | capNetRaw, Permitted: capChown | capNetRaw},
				Seccomp: allow,
			},
			want: map[string]string{
				"CapBnd": capHex(capChown | capNetRaw), "CapEff": capHex(capChown | capNetRaw),
				"NoNewPrivs": "0", "Seccomp": "2", "Seccomp_filters": "1",
			},
		},
		{
			// The same for a non-root user: the identity steps run under
			// the filter too.
			name: "seccomp-without-nnp-user",
			priv: clone.Privilege{
				Cred:    &clone.Credential{UID: 1000, GID: 1000},
				Caps:    &clone.Capabilities{Bounding: capNetRaw, Effective: capNetRaw, Permitted: capNetRaw, Inheritable: capNetRaw, Ambient: capNetRaw},
				Seccomp: allow,
			},
			want: map[string]string{
				"CapBnd": capHex(capNetRaw), "CapEff": capHex(capNetRaw), "CapAmb": capHex(capNetRaw),
				"NoNewPrivs": "0", "Seccomp": "2", "Seccomp_filters": "1", "Uid": "1000\t1000\t1000\t1000",
			},
		},
		{
			// A uid change without capabilities asked for clears them
			// all, as setresuid(2) from root does.
			name: "user-plain",
			priv: clone.Privilege{Cred: &clone.Credential{UID: 65534, GID: 65534}},
			want: map[string]string{
				"CapPrm": capHex(0), "CapEff": capHex(0), "CapAmb": capHex(0),
				"Uid": "65534\t65534\t65534\t65534", "Groups": "",
			},
		},
	}
	for _, s := range testutil.CloneStyles {
		for _, c := range cases {
			t.Run(s.Name+"/"+c.name, func(t *testing.T) {
				spec := &clone.Spec{Path: "/bin/cat", Args: []string{"cat", "/proc/self/status"}, Privilege: &c.priv}
				spec.Namespaces = clone.NewPID | clone.NewUTS
				spec.Mode, spec.Syscall = s.Mode, s.Syscall
				out, st := run(t, spec)
				if st.ExitCode() != 0 {
					t.Fatalf("cat exited %v:\n%s", st, out)
				}
				got := statusFields(t, out)
				for k, v := range c.want {
					if got[k] != v {
						t.Errorf("%s: got %q, want %q", k, got[k], v)
					}
				}
			})
		}
	}
	testutil.AssertNoChildren(t)
}

// TestRlimitsAndSession reads the limits and the session back.
func TestRlimitsAndSession(t *testing.T) {
	testutil.RequireRoot(t)
	spec := sh(`grep -E '^Max (open files|core file size)' /proc/self/limits; ulimit -n; ulimit -Hn; ulimit -c; read -r a b c d e sid rest </proc/$$/stat; [ "$sid" = "$$" ] && echo leader`)
	spec.Privilege = &clone.Privilege{
		Rlimits: []clone.Rlimit{{Resource: unix.RLIMIT_NOFILE, Cur: 100, Max: 200}, {Resource: unix.RLIMIT_CORE, Cur: 0, Max: 0}},
		Setsid:  true,
	}
	out, st := run(t, spec)
	want := "100\n200\n0\nleader\n"
	if st.ExitCode() != 0 || !strings.HasSuffix(out, want) || !strings.Contains(out, "Max open files            100                  200") {
		t.Errorf("got %v:\n%s\nwant limits 100/200, core 0 and a session leader", st, out)
	}
}

// TestPrivilegeErrors checks that each failing privilege step is reported
// by its own stage.
func TestPrivilegeErrors(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	var nrOpen uint64
	if _, err := fmt.Sscan(readFile(t, "/proc/sys/fs/nr_open"), &nrOpen); err != nil {
		t.Fatal(err)
	}
	// A jump past the end: the kernel's checker refuses it.
	badProg := []unix.SockFilter{{Code: unix.BPF_JMP | unix.BPF_JA, K: 5}, {Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}}
	// A filter that answers capset(2) with ENOMEDIUM, an errno no step
	// of its own gives, and allows everything else.
	denyCapset := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // seccomp_data.nr
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: unix.SYS_CAPSET, Jt: 0, Jf: 1},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(unix.ENOMEDIUM)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
	someCaps := &clone.Capabilities{Bounding: capNetRaw, Effective: capNetRaw, Permitted: capNetRaw}
	cases := []struct {
		name    string
		priv    clone.Privilege
		stage   clone.Stage
		errno   syscall.Errno
		subject string
	}{
		{"hard nofile above nr_open", clone.Privilege{Rlimits: []clone.Rlimit{{Resource: unix.RLIMIT_NOFILE, Cur: 10, Max: nrOpen + 1}}}, clone.StageRlimit, unix.EPERM, ""},
		{"ctty on a pipe", clone.Privilege{Setsid: true, Setctty: true, Ctty: 1}, clone.StageCtty, unix.ENOTTY, "fd 1"},
		{"bad seccomp program", clone.Privilege{NoNewPrivs: true, Seccomp: badProg}, clone.StageSeccomp, unix.EINVAL, ""},
		{"bad seccomp program without nnp", clone.Privilege{Seccomp: badProg}, clone.StageSeccompEarly, unix.EINVAL, ""},
		// Without no_new_privs the filter goes in before capset, and this
		// one denies it: the failure names capset and the filter.
		{"filter denies capset", clone.Privilege{Caps: someCaps, Seccomp: denyCapset}, clone.StageCapset, unix.ENOMEDIUM,
			"(under the seccomp filter, installed before this step because no_new_privs is off: the filter must allow it)"},
		// capset(2) refuses an inheritable set beyond the bounding set.
		{"inheritable beyond bounding", clone.Privilege{
			Caps: &clone.Capabilities{Bounding: capNetRaw, Effective: capNetRaw, Permitted: capNetRaw, Inheritable: capChown},
		}, clone.StageCapset, unix.EPERM, ""},
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	for _, s := range testutil.CloneStyles {
		for _, c := range cases {
			spec := clone.Spec{Path: "/bin/true", Privilege: &c.priv}
			// fd 1 a pipe for certain: the test's own stdout may be a
			// terminal (a console in make vmtest), where TIOCSCTTY works.
			spec.Stdio = []int{0, int(pw.Fd()), 2}
			spec.Namespaces = clone.NewPID
			spec.Mode, spec.Syscall = s.Mode, s.Syscall
			_, err := clone.Start(&spec)
			var ce *clone.ChildError
			if !errors.As(err, &ce) {
				t.Errorf("%s %s: got %v, want a ChildError", s.Name, c.name, err)
				continue
			}
			if ce.Stage != c.stage || ce.Errno != c.errno || ce.Subject != c.subject {
				t.Errorf("%s %s: got %+v (%v), want stage %v errno %v subject %q", s.Name, c.name, *ce, err, c.stage, c.errno, c.subject)
			}
		}
	}
	testutil.AssertNoChildren(t)
}

func TestPrivilegeValidate(t *testing.T) {
	big := uint32(0o1000)
	for _, c := range []struct {
		priv clone.Privilege
		want string
	}{
		{clone.Privilege{Rlimits: []clone.Rlimit{{Resource: unix.RLIMIT_NOFILE, Cur: 2, Max: 1}}}, "soft limit 2 is above the hard limit 1"},
		{clone.Privilege{Rlimits: []clone.Rlimit{{Resource: 16}}}, "not a resource"},
		{clone.Privilege{Umask: &big}, "umask"},
		{clone.Privilege{Setctty: true}, "needs a new session"},
		{clone.Privilege{Setsid: true, Setctty: true, Ctty: 3}, "Ctty is 3"},
		{clone.Privilege{Cred: &clone.Credential{UID: ^uint32(0)}}, "(uid_t)-1"},
		{clone.Privilege{Caps: &clone.Capabilities{Effective: 1}}, "not all permitted"},
		{clone.Privilege{Caps: &clone.Capabilities{Permitted: 1, Effective: 1, Ambient: 1}}, "both permitted and inheritable"},
	} {
		spec := clone.Spec{Path: "/bin/true", Privilege: &c.priv}
		err := spec.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error with %q", c.priv, err, c.want)
		}
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
