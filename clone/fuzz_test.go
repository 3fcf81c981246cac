package clone_test

import (
	"strings"
	"testing"
	"time"

	"github.com/rawns/rawns/clone"
)

// Fuzz targets for the parsers and the spec validation (issue 6). Their
// seeds run as ordinary tests; `go test -fuzz=FuzzX ./clone/` explores
// (make fuzz). The rule: no input panics, every input ends in a value or a
// one-line error, and a value that is accepted is consistent.

func oneLineErr(t *testing.T, what string, err error) {
	t.Helper()
	if msg := err.Error(); msg == "" || strings.ContainsAny(msg, "\n\r") {
		t.Errorf("%s: error %q is not one non-empty line", what, msg)
	}
}

func FuzzParseNamespaces(f *testing.F) {
	for _, s := range []string{"pid,uts", "all", "", " ", ",", "pid,,uts", "pid,pid", "mount,mnt", "all,pid",
		"bogus", "net, ipc", "PID", "pid\x00", "time,cgroup,user,net,ipc,mnt,uts,pid", "uts\n", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := clone.ParseNamespaces(s)
		if err != nil {
			oneLineErr(t, "ParseNamespaces", err)
			return
		}
		if set == 0 || set&^clone.AllNamespaces != 0 {
			t.Fatalf("ParseNamespaces(%q) = %#x: empty or unknown bits", s, uint64(set))
		}
		back, err := clone.ParseNamespaces(set.String())
		if err != nil || back != set {
			t.Fatalf("ParseNamespaces(%q) = %v, which parses back as %v, %v", s, set, back, err)
		}
	})
}

func FuzzModeAndPropagation(f *testing.F) {
	for _, s := range []string{"auto", "vfork", "fork", "private", "slave", "shared", "unchanged", "", "Fork", "fork\x00"} {
		f.Add(s, 0)
	}
	f.Add("x", -1)
	f.Add("x", 4)
	f.Add("x", 1<<31)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if m, err := clone.ParseMode(s); err == nil {
			if m.String() != s {
				t.Errorf("ParseMode(%q).String() = %q", s, m)
			}
		} else {
			oneLineErr(t, "ParseMode", err)
		}
		if p, err := clone.ParsePropagation(s); err == nil {
			if p.String() != s {
				t.Errorf("ParsePropagation(%q).String() = %q", s, p)
			}
		} else {
			oneLineErr(t, "ParsePropagation", err)
		}
		// Stringers of any value, valid or not, must not panic.
		_ = clone.Mode(n).String() + clone.Propagation(n).String() + clone.Syscall(n).String() + clone.Stage(uint32(n)).String()
	})
}

func FuzzValidate(f *testing.F) {
	type seed struct {
		path, arg, env, dir, host string
		ns                        uint64
		bits                      uint8
		fd                        int
		mode, sc, prop            int
		mono, boot                int64
	}
	for _, s := range []seed{
		{path: "/bin/true"},
		{},
		{path: "/bin/true", host: "x", ns: uint64(clone.NewUTS)},
		{path: "/bin/true", host: strings.Repeat("h", 65), ns: uint64(clone.NewUTS)},
		{path: "/bin/true", host: "x"},
		{path: "/bin/true", arg: "a\x00b"},
		{path: "/bin/true", env: "NOEQUALS"},
		{path: "/bin/true", env: "=v"},
		{path: "/bin/true", dir: "a\x00"},
		{path: "/bin/true", bits: 1},
		{path: "/bin/true", bits: 2},
		{path: "/bin/true", bits: 2, ns: uint64(clone.NewUser), mode: int(clone.ModeVfork)},
		{path: "/bin/true", ns: uint64(clone.NewTime), sc: int(clone.SyscallClone)},
		{path: "/bin/true", ns: 1 << 40},
		{path: "/bin/true", bits: 4, fd: -1},
		{path: "/bin/true", bits: 8},
		{path: "/bin/true", mono: 5},
		{path: "/bin/true", mode: 7},
		{path: "/bin/true", sc: -1},
		{path: "/bin/true", ns: uint64(clone.NewMount), prop: 9},
	} {
		f.Add(s.path, s.arg, s.env, s.dir, s.host, s.ns, s.bits, s.fd, s.mode, s.sc, s.prop, s.mono, s.boot)
	}
	f.Fuzz(func(t *testing.T, path, arg, env, dir, host string, ns uint64, bits uint8, fd, mode, sc, prop int, mono, boot int64) {
		s := clone.Spec{Path: path, Args: []string{arg}, Env: []string{env}, Dir: dir, Hostname: host,
			Namespaces: clone.Namespaces(ns), Mode: clone.Mode(mode), Syscall: clone.Syscall(sc), Propagation: clone.Propagation(prop),
			MonotonicOffset: time.Duration(mono), BoottimeOffset: time.Duration(boot)}
		if bits&1 != 0 {
			s.MountProc = true
		}
		if bits&2 != 0 {
			s.UIDMap = []clone.IDMap{{Inside: 0, Outside: 0, Count: 1}}
		}
		if bits&4 != 0 {
			s.Stdio = []int{0, fd, 2}
		}
		if bits&8 != 0 {
			s.Stdio = []int{fd}
		}
		err := s.Validate()
		if err != nil {
			oneLineErr(t, "Validate", err)
			return
		}
		// Accepted: everything the kernel or the child would trip on is
		// ruled out.
		all := path + arg + env + dir + host
		switch {
		case path == "":
			t.Fatal("accepted an empty Path")
		case strings.IndexByte(all, 0) >= 0:
			t.Fatalf("accepted a NUL byte in %q", all)
		case !strings.Contains(env, "=") || strings.HasPrefix(env, "="):
			t.Fatalf("accepted environment entry %q", env)
		case host != "" && (s.Namespaces&clone.NewUTS == 0 || len(host) > clone.MaxHostname):
			t.Fatalf("accepted hostname %q with namespaces %v", host, s.Namespaces)
		case s.Namespaces&^clone.AllNamespaces != 0:
			t.Fatalf("accepted unknown namespace bits %#x", ns)
		case s.MountProc && s.Namespaces&clone.NewMount == 0:
			t.Fatal("accepted MountProc without a mount namespace")
		case s.UIDMap != nil && s.Namespaces&clone.NewUser == 0:
			t.Fatal("accepted a uid map without a user namespace")
		case s.Stdio != nil && (len(s.Stdio) != 3 || fd < 0):
			t.Fatalf("accepted Stdio %v", s.Stdio)
		case (mono != 0 || boot != 0) && s.Namespaces&clone.NewTime == 0:
			t.Fatal("accepted clock offsets without a time namespace")
		case s.Mode < clone.ModeAuto || s.Mode > clone.ModeFork:
			t.Fatalf("accepted an unknown Mode %d", mode)
		case s.Syscall < clone.SyscallAuto || s.Syscall > clone.SyscallClone:
			t.Fatalf("accepted an unknown Syscall %d", sc)
		case s.Propagation < clone.PropagationPrivate || s.Propagation > clone.PropagationUnchanged:
			// An unknown value would silently leave / as it is: mounts
			// could propagate to the host.
			t.Fatalf("accepted an unknown Propagation %d", prop)
		}
	})
}
