//go:build linux && (amd64 || arm64)

package testutil

import (
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// A seccomp rule: system call nr gets action (SECCOMP_RET_ERRNO|errno or
// SECCOMP_RET_KILL_PROCESS). A rule for clone with skipThreads set leaves
// thread creation alone (CLONE_THREAD in the first argument), so that the Go
// runtime can still start threads while process creation fails; clone3 takes
// its flags in memory, which a filter cannot read, and the Go runtime does
// not use it.
type seccompRule struct {
	nr          uint32
	action      uint32
	skipThreads bool
}

// sysNames are the system calls the rules may name.
var sysNames = map[string]uint32{
	"clone":       unix.SYS_CLONE,
	"clone3":      unix.SYS_CLONE3,
	"sethostname": unix.SYS_SETHOSTNAME,
	"execve":      unix.SYS_EXECVE,
}

// parseSeccompRules parses "clone3=ENOSYS,clone=EPERM,sethostname=KILL".
func parseSeccompRules(s string) ([]seccompRule, error) {
	var rules []seccompRule
	for _, item := range strings.Split(s, ",") {
		name, act, ok := strings.Cut(item, "=")
		nr, known := sysNames[name]
		if !ok || !known {
			return nil, fmt.Errorf("bad seccomp rule %q", item)
		}
		r := seccompRule{nr: nr, skipThreads: name == "clone"}
		switch act {
		case "KILL":
			r.action = unix.SECCOMP_RET_KILL_PROCESS
		case "ENOSYS":
			r.action = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
		case "EPERM":
			r.action = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
		case "E2BIG":
			r.action = unix.SECCOMP_RET_ERRNO | uint32(unix.E2BIG)
		default:
			return nil, fmt.Errorf("bad seccomp action %q", act)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// InstallSeccomp parses rules such as "clone3=ENOSYS,sethostname=KILL" and
// installs, on every thread of this process
// (SECCOMP_FILTER_FLAG_TSYNC), a classic BPF filter that applies rules and
// allows everything else (seccomp(2)). It cannot be removed: call it only in
// a process that exists for the test (a re-exec'd test binary).
func InstallSeccomp(spec string) error {
	rules, err := parseSeccompRules(spec)
	if err != nil {
		return err
	}
	arch := uint32(0xc000003e) // AUDIT_ARCH_X86_64
	if runtime.GOARCH == "arm64" {
		arch = 0xc00000b7 // AUDIT_ARCH_AARCH64
	}
	const (
		offNr    = 0 // struct seccomp_data: int nr; u32 arch; u64 ip; u64 args[6]
		offArch  = 4
		offArg0  = 16 // low 32 bits of args[0] on a little-endian machine
		retAllow = unix.BPF_RET | unix.BPF_K
	)
	var body []unix.SockFilter
	for _, r := range rules {
		// ld nr; jeq nr ? next : skip block; [ld arg0; jset CLONE_THREAD ? skip : next]; ret action
		n := 1
		if r.skipThreads {
			n = 3
		}
		body = append(body,
			unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: offNr},
			unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: uint8(n), K: r.nr})
		if r.skipThreads {
			body = append(body,
				unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: offArg0},
				unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K, Jt: 1, Jf: 0, K: unix.CLONE_THREAD})
		}
		body = append(body, unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: r.action})
	}
	filter := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: offArch},
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: uint8(len(body)), K: arch},
	}
	filter = append(filter, body...)
	filter = append(filter, unix.SockFilter{Code: retAllow, K: unix.SECCOMP_RET_ALLOW})
	if len(body) > 255 {
		return fmt.Errorf("too many seccomp rules")
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	e := seccompSetFilterTSYNC(&prog)
	runtime.KeepAlive(filter)
	if e != 0 {
		return fmt.Errorf("seccomp: %w", e)
	}
	return nil
}
