package seccomp_test

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/security"
	"github.com/rawns/rawns/security/seccomp"
	"github.com/rawns/rawns/security/seccomp/internal/mobyprofile"
)

// The generated zdefault.go must be moby's DefaultProfile of the module
// version go.mod names; `go generate ./security/seccomp` refreshes it.
func TestDefaultIsMobys(t *testing.T) {
	if got, want := seccomp.Default(), mobyprofile.Default(); !reflect.DeepEqual(got, want) {
		t.Fatal("zdefault.go differs from moby's DefaultProfile; run go generate ./security/seccomp")
	}
}

func TestSyscallTables(t *testing.T) {
	for _, c := range []struct {
		arch *seccomp.Arch
		name string
		nr   uint32
	}{
		{seccomp.AMD64, "read", 0}, {seccomp.AMD64, "write", 1}, {seccomp.AMD64, "execve", 59},
		{seccomp.AMD64, "newfstatat", 262}, {seccomp.AMD64, "clone3", 435}, {seccomp.AMD64, "_sysctl", 156},
		{seccomp.ARM64, "read", 63}, {seccomp.ARM64, "write", 64}, {seccomp.ARM64, "execve", 221},
		{seccomp.ARM64, "newfstatat", 79}, {seccomp.ARM64, "clone3", 435}, {seccomp.ARM64, "mmap", 222},
	} {
		if nr, ok := c.arch.Syscall(c.name); !ok || nr != c.nr {
			t.Errorf("%s %s = %d, %v; want %d", c.arch.Name, c.name, nr, ok, c.nr)
		}
	}
	// What one architecture lacks.
	for _, c := range []struct {
		arch *seccomp.Arch
		name string
	}{{seccomp.ARM64, "open"}, {seccomp.ARM64, "fork"}, {seccomp.AMD64, "arm_fadvise64_64"}, {seccomp.AMD64, "socketcall"}} {
		if nr, ok := c.arch.Syscall(c.name); ok {
			t.Errorf("%s has %s = %d", c.arch.Name, c.name, nr)
		}
	}
	n := seccomp.Native()
	for name, nr := range map[string]uint32{"execve": unix.SYS_EXECVE, "clone3": unix.SYS_CLONE3, "keyctl": unix.SYS_KEYCTL, "getcwd": unix.SYS_GETCWD} {
		if got, ok := n.Syscall(name); !ok || got != nr {
			t.Errorf("native %s = %d, want unix.SYS_ %d", name, got, nr)
		}
	}
}

func data(a *seccomp.Arch, name string, args ...uint64) seccomp.Data {
	nr, ok := a.Syscall(name)
	if !ok {
		panic(name)
	}
	d := seccomp.Data{Nr: nr, Arch: auditArch(a)}
	copy(d.Args[:], args)
	return d
}

func auditArch(a *seccomp.Arch) uint32 {
	if a == seccomp.AMD64 {
		return 0xc000003e
	}
	return 0xc00000b7
}

const (
	allow    = 0x7fff0000
	kill     = 0x80000000
	eperm    = 0x00050000 | uint32(unix.EPERM)
	enosys   = 0x00050000 | uint32(unix.ENOSYS)
	newuser  = unix.CLONE_NEWUSER
	sysAdmin = security.CapSet(1 << unix.CAP_SYS_ADMIN)
)

// TestDefaultProfileBothArches compiles docker's default profile for
// amd64 and arm64 and runs each program on a few calls, with docker's
// capability set and with CAP_SYS_ADMIN added.
func TestDefaultProfileBothArches(t *testing.T) {
	for _, a := range []*seccomp.Arch{seccomp.AMD64, seccomp.ARM64} {
		prog, err := seccomp.Compile(seccomp.Default(), a, seccomp.Options{Caps: security.DockerDefault, Kernel: 6018})
		if err != nil {
			t.Fatalf("%s: %v", a.Name, err)
		}
		admin, err := seccomp.Compile(seccomp.Default(), a, seccomp.Options{Caps: security.DockerDefault | sysAdmin, Kernel: 6018})
		if err != nil {
			t.Fatalf("%s: %v", a.Name, err)
		}
		t.Logf("%s: %d instructions, %d with CAP_SYS_ADMIN", a.Name, len(prog), len(admin))
		cloneFlags := func(f uint64) seccomp.Data {
			if a == seccomp.ARM64 {
				return data(a, "clone", f) // flags first on arm64 too (CLONE_BACKWARDS)
			}
			return data(a, "clone", f)
		}
		for _, c := range []struct {
			what      string
			d         seccomp.Data
			want      uint32
			wantAdmin uint32
		}{
			{"execve", data(a, "execve"), allow, allow},
			{"write", data(a, "write", 1), allow, allow},
			{"keyctl", data(a, "keyctl"), eperm, eperm},
			{"kexec_load", data(a, "kexec_load"), eperm, eperm},
			{"mount", data(a, "mount"), eperm, allow},
			{"unshare", data(a, "unshare"), eperm, allow},
			{"clone3", data(a, "clone3"), enosys, allow},
			{"clone of a thread", cloneFlags(unix.CLONE_VM | unix.CLONE_THREAD), allow, allow},
			{"clone of a user namespace", cloneFlags(newuser), eperm, allow},
			{"personality(0)", data(a, "personality", 0), allow, allow},
			{"personality(0xffffffff)", data(a, "personality", 0xffffffff), allow, allow},
			{"personality(0x1234)", data(a, "personality", 0x1234), eperm, eperm},
			{"another ABI", seccomp.Data{Nr: 59, Arch: 0x40000003}, kill, kill},
			{"a number no table has", seccomp.Data{Nr: 5000, Arch: auditArch(a)}, eperm, eperm},
		} {
			if got := seccomp.Run(prog, c.d); got != c.want {
				t.Errorf("%s %s: %#x, want %#x", a.Name, c.what, got, c.want)
			}
			if got := seccomp.Run(admin, c.d); got != c.wantAdmin {
				t.Errorf("%s %s with CAP_SYS_ADMIN: %#x, want %#x", a.Name, c.what, got, c.wantAdmin)
			}
		}
		if a == seccomp.AMD64 {
			if got := seccomp.Run(prog, seccomp.Data{Nr: 0x40000000 + 59, Arch: auditArch(a)}); got != kill {
				t.Errorf("x32 execve: %#x, want kill", got)
			}
		}
	}
}

// TestArgComparisons checks every operator on 64-bit values against Go's
// own comparison, with values on both sides of the 32-bit halves.
func TestArgComparisons(t *testing.T) {
	edges := []uint64{0, 1, 0xffffffff, 0x100000000, 0x100000001, 0xffffffff00000000, 0x7fffffffffffffff, ^uint64(0), 0x1234567800000000, 0x12345678}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		edges = append(edges, r.Uint64(), r.Uint64()&0xffffffff, r.Uint64()&^0xffffffff)
	}
	ops := map[string]func(a, v, v2 uint64) bool{
		"SCMP_CMP_EQ":        func(a, v, _ uint64) bool { return a == v },
		"SCMP_CMP_NE":        func(a, v, _ uint64) bool { return a != v },
		"SCMP_CMP_LT":        func(a, v, _ uint64) bool { return a < v },
		"SCMP_CMP_LE":        func(a, v, _ uint64) bool { return a <= v },
		"SCMP_CMP_GT":        func(a, v, _ uint64) bool { return a > v },
		"SCMP_CMP_GE":        func(a, v, _ uint64) bool { return a >= v },
		"SCMP_CMP_MASKED_EQ": func(a, v, v2 uint64) bool { return a&v == v2 },
	}
	for _, a := range []*seccomp.Arch{seccomp.AMD64, seccomp.ARM64} {
		for op, f := range ops {
			for _, v := range edges {
				v2 := v & 0xff000000ff00ff00
				p := &seccomp.Profile{DefaultAction: "SCMP_ACT_ALLOW", Syscalls: []seccomp.Rule{{
					Names: []string{"getcwd"}, Action: "SCMP_ACT_ERRNO", ErrnoRet: ptr(42),
					Args: []seccomp.Arg{{Index: 2, Value: v, ValueTwo: v2, Op: op}, {Index: 0, Value: 7, Op: "SCMP_CMP_EQ"}},
				}}}
				prog, err := seccomp.Compile(p, a, seccomp.Options{})
				if err != nil {
					t.Fatal(err)
				}
				for _, arg := range append(edges, v, v+1, v-1, v2) {
					want := uint32(allow)
					if f(arg, v, v2) {
						want = 0x00050000 | 42
					}
					if got := seccomp.Run(prog, data(a, "getcwd", 7, 0, arg)); got != want {
						t.Errorf("%s %s(arg %#x, value %#x, valueTwo %#x): %#x, want %#x", a.Name, op, arg, v, v2, got, want)
					}
					// The other condition (arg 0 == 7) must hold too.
					if got := seccomp.Run(prog, data(a, "getcwd", 8, 0, arg)); got != allow {
						t.Errorf("%s %s with arg 0 = 8: %#x, want allow", a.Name, op, got)
					}
				}
			}
		}
	}
}

func ptr(v uint32) *uint32 { return &v }

const customProfile = `{
	"defaultAction": "SCMP_ACT_ALLOW",
	"architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64", "SCMP_ARCH_X86"],
	"syscalls": [
		{"names": ["getcwd", "no_such_call", "socketcall"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42, "comment": "tab\tand \u00e9 and \ud83d\ude00"},
		{"name": "keyctl", "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 18446744073709551615, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
		{"names": ["acct"], "action": "SCMP_ACT_KILL_PROCESS", "unknownKey": [1, 2.5e3, null, true, {"x": false}]}
	]
}`

func TestParseProfile(t *testing.T) {
	p, err := seccomp.ParseProfile([]byte(customProfile))
	if err != nil {
		t.Fatal(err)
	}
	if p.DefaultAction != "SCMP_ACT_ALLOW" || len(p.Syscalls) != 3 || *p.Syscalls[0].ErrnoRet != 42 ||
		p.Syscalls[1].Name != "keyctl" || p.Syscalls[1].Args[0].Value != ^uint64(0) ||
		p.Syscalls[0].Comment != "tab\tand é and 😀" || !slices.Equal(p.Architectures, []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64", "SCMP_ARCH_X86"}) {
		t.Fatalf("parsed %+v", p)
	}
	for _, a := range []*seccomp.Arch{seccomp.AMD64, seccomp.ARM64} {
		prog, err := seccomp.Compile(p, a, seccomp.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			d    seccomp.Data
			want uint32
		}{
			{data(a, "getcwd"), 0x00050000 | 42},
			{data(a, "keyctl", ^uint64(0)), eperm},
			{data(a, "keyctl", 0xffffffff), allow},
			{data(a, "acct"), kill},
			{data(a, "read"), allow},
		} {
			if got := seccomp.Run(prog, c.d); got != c.want {
				t.Errorf("%s nr %d: %#x, want %#x", a.Name, c.d.Nr, got, c.want)
			}
		}
	}
	// Docker's own profile as JSON comes out as moby's.
	if _, err := seccomp.ParseProfile([]byte(`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[]}`)); err != nil {
		t.Error(err)
	}
}

func TestProfileErrors(t *testing.T) {
	for _, c := range []struct{ json, want string }{
		{`{"defaultAction": "SCMP_ACT_ALLOW",}`, "not valid JSON: line 1"},
		{"{\n\"defaultAction\": SCMP_ACT_ALLOW}", "not valid JSON: line 2"},
		{`[]`, "a JSON object"},
		{`{"defaultAction": "SCMP_ACT_ALLOW"} x`, "data after"},
		{`{"defaultAction": "SCMP_ACT_ALOW"}`, `defaultAction: unknown action "SCMP_ACT_ALOW"`},
		{`{"defaultAction": ""}`, "defaultAction: missing"},
		{`{"defaultAction": 1}`, "defaultAction: want a string"},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X87"]}`, `unknown architecture "SCMP_ARCH_X87"`},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["x32"]}]}`, `archMap[0]: unknown architecture "x32"`},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_DENY"}]}`, `syscalls[0].action: unknown action "SCMP_ACT_DENY"`},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}]}`, "errnoRet is only for"},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": -1}]}`, "not a whole number"},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "op": "SCMP_CMP_EQ"}]}]}`, "index 6"},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "op": "SCMP_CMP_EQUAL"}]}]}`, `unknown op "SCMP_CMP_EQUAL"`},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"action": "SCMP_ACT_ERRNO"}]}`, "no system call names"},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["execve"], "action": "SCMP_ACT_ERRNO"}]}`, "does not allow execve(2)"},
		{`{"defaultAction": "SCMP_ACT_ERRNO"}`, "does not allow write(2)"},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}]}`, "SCMP_ACT_NOTIFY"},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG"]}`, "flags"},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["CAP_FLY"]}}]}`, `unknown capability "CAP_FLY"`},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "includes": {"minKernel": "five"}}]}`, "minKernel"},
		{`{"a": "\x"}`, "invalid escape in a string"},
		{`{"a": "unterminated`, "unterminated string"},
		{strings.Repeat("[", 100), "nested more than 64"},
	} {
		p, err := seccomp.ParseProfile([]byte(c.json))
		if err == nil {
			_, err = seccomp.Compile(p, seccomp.AMD64, seccomp.Options{Kernel: 6018})
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error with %q", c.json, err, c.want)
		}
	}
}

func TestMinKernel(t *testing.T) {
	p := &seccomp.Profile{DefaultAction: "SCMP_ACT_ALLOW", Syscalls: []seccomp.Rule{
		{Names: []string{"getcwd"}, Action: "SCMP_ACT_ERRNO", Includes: seccomp.Filter{MinKernel: "5.8"}},
		{Names: []string{"keyctl"}, Action: "SCMP_ACT_ERRNO", Excludes: seccomp.Filter{MinKernel: "5.8"}},
		{Names: []string{"acct"}, Action: "SCMP_ACT_ERRNO", Includes: seccomp.Filter{Arches: []string{"arm64"}}},
	}}
	for _, c := range []struct {
		kernel               int
		arch                 *seccomp.Arch
		getcwd, keyctl, acct uint32
	}{
		{5007, seccomp.AMD64, allow, eperm, allow},
		{5008, seccomp.AMD64, eperm, allow, allow},
		{6018, seccomp.ARM64, eperm, allow, eperm},
	} {
		prog, err := seccomp.Compile(p, c.arch, seccomp.Options{Kernel: c.kernel})
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string]uint32{"getcwd": c.getcwd, "keyctl": c.keyctl, "acct": c.acct} {
			if got := seccomp.Run(prog, data(c.arch, name)); got != want {
				t.Errorf("kernel %d %s %s: %#x, want %#x", c.kernel, c.arch.Name, name, got, want)
			}
		}
	}
}

// TestPrecompiledIsFresh: zprecompiled.go holds what Compile makes now;
// `go generate ./security/seccomp` refreshes it.
func TestPrecompiledIsFresh(t *testing.T) {
	for _, a := range []*seccomp.Arch{seccomp.AMD64, seccomp.ARM64} {
		for _, caps := range []security.CapSet{0, security.DockerDefault} {
			for _, kernel := range []int{0, 4008, 6018} {
				cached, err := seccomp.Compile(seccomp.Default(), a, seccomp.Options{Caps: caps, Kernel: kernel})
				if err != nil {
					t.Fatal(err)
				}
				fresh, err := seccomp.Compile(seccomp.Default(), a, seccomp.Options{Caps: caps, Kernel: kernel, Fresh: true})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(cached, fresh) {
					t.Fatalf("%s caps %v kernel %d: the precompiled program is stale; run go generate ./security/seccomp", a.Name, caps, kernel)
				}
			}
		}
	}
	// A kernel older than the profile's newest minKernel is compiled.
	old, _ := seccomp.Compile(seccomp.Default(), seccomp.AMD64, seccomp.Options{Kernel: 4007})
	now, _ := seccomp.Compile(seccomp.Default(), seccomp.AMD64, seccomp.Options{Kernel: 6018})
	if slices.Equal(old, now) {
		t.Error("kernel 4.7 and 6.18 got the same program; the minKernel rule was not applied")
	}
}
