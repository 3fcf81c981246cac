package seccomp

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/kernel"
	"github.com/rawns/rawns/security"
)

// Return values of a seccomp filter (seccomp(2), linux/seccomp.h).
const (
	retKillProcess = 0x80000000
	retKillThread  = 0x00000000
	retTrap        = 0x00030000
	retErrno       = 0x00050000
	retUserNotif   = 0x7fc00000
	retTrace       = 0x7ff00000
	retLog         = 0x7ffc0000
	retAllow       = 0x7fff0000
	retActionFull  = 0xffff0000
	retData        = 0x0000ffff
)

// Offsets in struct seccomp_data: nr, arch, instruction_pointer, args[6].
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

// Options says what a profile is compiled for.
type Options struct {
	// Caps are the capabilities the process will hold (its bounding set):
	// docker's includes and excludes by capability are read against them.
	Caps security.CapSet
	// Kernel is the kernel version as major*1000+minor for minKernel
	// conditions; 0 reads it from uname(2).
	Kernel int
	// Fresh compiles even when a precompiled program fits (the generator
	// of zprecompiled.go and its test).
	Fresh bool
}

// Compile compiles p for arch into a classic BPF program for
// seccomp(SECCOMP_SET_MODE_FILTER).
//
// The program first checks seccomp_data.arch: a system call of another
// ABI (i386 or x32 on amd64, arm32 on arm64) would be looked up in a table
// it was not compiled for, so it kills the process (SECCOMP_RET_KILL_PROCESS,
// libseccomp's default for an architecture not in the filter). On amd64 the
// x32 ABI shares AUDIT_ARCH_X86_64 and is told by __X32_SYSCALL_BIT in the
// number; it is killed the same way. Then, as in the profile, the first
// rule that matches decides, else the default action: compiled as a
// binary search over the call number to leaves that return at once, or
// test a call's conditional rules in profile order first.
//
// A system call name the architecture lacks is skipped, as libseccomp
// skips it; an unknown action, operator or architecture name is an error.
// 64-bit argument comparisons are made in two 32-bit halves, high word
// first, because classic BPF loads 32 bits at a time. The program must
// let rawns's child finish: write(2) (its exec marker), execve(2) and
// exit_group(2) must be allowed, or Compile says so.
//
// The program may be shared static data (docker's default profile is
// precompiled for the common capability sets): never change it.
func Compile(p *Profile, arch *Arch, opt Options) ([]unix.SockFilter, error) {
	if arch == nil {
		return nil, errors.New("seccomp: no system call table for this architecture; rawns has amd64 and arm64")
	}
	// Docker's default profile for the two capability sets rawns's
	// command line asks most (--cap-drop ALL, --caps docker) is compiled
	// at build time (zprecompiled.go): no compiling, no allocation, on a
	// run that lives milliseconds.
	if p == &defaultProfile && !opt.Fresh {
		kernel := opt.Kernel
		if kernel == 0 {
			kernel, _ = runningKernel()
		}
		if kernel >= precompiledMinKernel {
			if prog := precompiledDefault(arch, opt.Caps); prog != nil {
				return prog, nil
			}
		}
	}
	defAction, err := action(p.DefaultAction, p.DefaultErrnoRet, "defaultAction")
	if err != nil {
		return nil, err
	}
	if len(p.Flags) > 0 {
		return nil, fmt.Errorf("flags %q: seccomp filter flags are not supported yet; remove them", p.Flags)
	}
	if p.ListenerPath != "" || p.ListenerMetadata != "" {
		return nil, errors.New("listenerPath: SCMP_ACT_NOTIFY and seccomp agents are not supported")
	}
	for _, a := range p.Architectures {
		if err := checkArch(a); err != nil {
			return nil, fmt.Errorf("architectures: %v", err)
		}
	}
	for i, m := range p.ArchMap {
		for _, a := range append([]string{m.Architecture}, m.SubArchitectures...) {
			if err := checkArch(a); err != nil {
				return nil, fmt.Errorf("archMap[%d]: %v", i, err)
			}
		}
	}

	// Two allocations for a profile like docker's: the program (its
	// 300-odd instructions fit) and the scratch space, verdicts by number
	// and a list of numbers. In a process that lives milliseconds every
	// allocation of a new size costs page faults (docs/benchmarks.md).
	buf := make([]unix.SockFilter, 0, 768)
	b := &builder{prog: buf[:0:512]}
	var (
		verdict  = make([]uint16, maxNr) // index in actions + 1 (0: no rule yet), and hasArgRules
		actions  = make([]uint32, 0, 8)
		argRules = make([]argRule, 0, 64)
		lb       = &builder{prog: buf[512:512:768]} // the leaves of calls with conditional rules
	)
	// The architecture, then the number.
	b.stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offArch)
	b.jump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, arch.auditArch, 1, 0)
	b.stmt(unix.BPF_RET|unix.BPF_K, retKillProcess)
	b.stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offNr)
	if arch.x32 {
		b.jump(unix.BPF_JMP|unix.BPF_JGE|unix.BPF_K, x32SyscallBit, 0, 1)
		b.stmt(unix.BPF_RET|unix.BPF_K, retKillProcess)
	}

	kernel := opt.Kernel
	for i := range p.Syscalls {
		r := &p.Syscalls[i]
		// The rule's path for errors is made only for an error: one
		// string per rule would be a hundred allocations per run.
		path := func() string { return "syscalls[" + strconv.Itoa(i) + "]" }
		act, err := action(r.Action, r.ErrnoRet, "")
		if err != nil {
			_, err = action(r.Action, r.ErrnoRet, path()+".action")
			return nil, err
		}
		if len(r.Names) == 0 && r.Name == "" {
			return nil, fmt.Errorf("%s: no system call names", path())
		}
		if err := checkArgs(r.Args, ""); err != nil {
			return nil, checkArgs(r.Args, path())
		}
		ok, err := applies(r, arch, opt.Caps, &kernel, "")
		if err != nil {
			_, err = applies(r, arch, opt.Caps, &kernel, path())
			return nil, err
		}
		if !ok {
			continue
		}
		for j := 0; j <= len(r.Names); j++ {
			n := r.Name // after the names: docker's older single name
			if j < len(r.Names) {
				n = r.Names[j]
			} else if n == "" {
				break
			}
			nr, ok := arch.Syscall(n)
			if !ok || nr >= maxNr || verdict[nr]&verdictMask != 0 {
				continue // unknown here (skipped, as libseccomp does), or an earlier rule decides
			}
			if len(r.Args) == 0 {
				k := slices.Index(actions, act)
				if k < 0 {
					k = len(actions)
					actions = append(actions, act)
				}
				verdict[nr] |= uint16(k + 1)
			} else {
				verdict[nr] |= hasArgRules
				argRules = append(argRules, argRule{nr, r.Args, act})
			}
		}
	}
	// The first matching rule decides, per system call. So every number
	// gets a leaf: the return of its action (unconditional rule, or the
	// default), or, for a call with conditional rules before its
	// unconditional one, those rules' blocks in profile order and then
	// that return. Consecutive numbers with the same return share a
	// leaf (docker's default profile allows ~370 calls in a few dozen
	// runs), and a binary search over the leaves' first numbers finds
	// the one: a handful of comparisons per call instead of a walk
	// through all of them. That matters at installation too: to cache
	// the calls that are always allowed, the kernel runs the filter once
	// per system call number (seccomp_cache_prepare).
	nleaves := 1
	for nr := 1; nr < maxNr; nr++ {
		if verdict[nr] != verdict[nr-1] || verdict[nr]&hasArgRules != 0 {
			nleaves++
		}
	}
	leaves := make([]leaf, 0, nleaves+1)
	for nr := range uint32(maxNr) {
		v := verdict[nr]
		act := defAction
		if v&verdictMask != 0 {
			act = actions[v&verdictMask-1]
		}
		complex := v&hasArgRules != 0
		if !complex && len(leaves) > 0 && !leaves[len(leaves)-1].complex && leaves[len(leaves)-1].act == act {
			continue // the same as the numbers before
		}
		l := leaf{lo: nr, act: act, complex: complex}
		if complex {
			l.start = len(lb.prog)
			for _, ar := range argRules {
				if ar.nr == nr {
					lb.withArgs(ar.nr, ar.args, ar.act)
				}
			}
			lb.stmt(unix.BPF_RET|unix.BPF_K, act)
			l.end = len(lb.prog)
		}
		leaves = append(leaves, l)
	}
	// Numbers beyond the tables: the default.
	if last := leaves[len(leaves)-1]; last.complex || last.act != defAction {
		leaves = append(leaves, leaf{lo: maxNr, act: defAction})
	}
	b.tree(leaves, lb.prog)
	if len(b.prog) > maxInsns {
		return nil, fmt.Errorf("the compiled program has %d instructions; the kernel allows %d", len(b.prog), maxInsns)
	}
	for _, must := range []string{"write", "execve", "exit_group"} {
		nr, _ := arch.Syscall(must)
		if r := Run(b.prog, Data{Nr: nr, Arch: arch.auditArch}); r&retActionFull != retAllow && r&retActionFull != retLog {
			return nil, fmt.Errorf("the profile does not allow %s(2) (it returns %s), which rawns needs to start the command", must, describe(r))
		}
	}
	return b.prog, nil
}

// maxInsns is BPF_MAXINSNS.
const maxInsns = 4096

// maxNr bounds the system call numbers of the tables (amd64 and arm64
// stay below 512).
const maxNr = 1024

// verdict's bits: the action's index + 1, and whether conditional rules
// come first.
const (
	verdictMask = 0x7fff
	hasArgRules = 1 << 15
)

// leaf is the numbers from lo to the next leaf's lo: the return act, or
// for a call with conditional rules the code lb.prog[start:end].
type leaf struct {
	lo         uint32
	act        uint32
	complex    bool
	start, end int
}

type argRule struct {
	nr   uint32
	args []Arg
	act  uint32
}

// action turns an SCMP_ACT_ name and errnoRet into a filter return value.
func action(name string, errnoRet *uint32, path string) (uint32, error) {
	var ret uint32
	takesData := false
	switch name {
	case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD":
		ret = retKillThread
	case "SCMP_ACT_KILL_PROCESS":
		ret = retKillProcess
	case "SCMP_ACT_TRAP":
		ret = retTrap
	case "SCMP_ACT_ERRNO":
		ret, takesData = retErrno|uint32(unix.EPERM), true
	case "SCMP_ACT_TRACE":
		ret, takesData = retTrace|uint32(unix.EPERM), true
	case "SCMP_ACT_LOG":
		ret = retLog
	case "SCMP_ACT_ALLOW":
		ret = retAllow
	case "SCMP_ACT_NOTIFY":
		return 0, fmt.Errorf("%s: SCMP_ACT_NOTIFY needs a seccomp agent, which rawns does not support", path)
	case "":
		return 0, fmt.Errorf("%s: missing; give an action such as SCMP_ACT_ERRNO or SCMP_ACT_ALLOW", path)
	default:
		return 0, fmt.Errorf("%s: unknown action %q; use SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_TRACE or SCMP_ACT_LOG", path, name)
	}
	if errnoRet != nil {
		if !takesData {
			return 0, fmt.Errorf("%s: errnoRet is only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not %s", path, name)
		}
		if *errnoRet > retData {
			return 0, fmt.Errorf("%s: errnoRet %d does not fit the filter's 16 bits", path, *errnoRet)
		}
		ret = ret&retActionFull | *errnoRet
	}
	return ret, nil
}

var ops = [...]string{"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"}

func checkArgs(args []Arg, path string) error {
	if len(args) > 6 {
		return fmt.Errorf("%s.args: %d conditions; a system call has 6 arguments", path, len(args))
	}
	for j, a := range args {
		if a.Index > 5 {
			return fmt.Errorf("%s.args[%d]: index %d; arguments are numbered 0 to 5", path, j, a.Index)
		}
		known := false
		for _, o := range ops {
			known = known || o == a.Op
		}
		if !known {
			return fmt.Errorf("%s.args[%d]: unknown op %q; use one of %s", path, j, a.Op, strings.Join(ops[:], ", "))
		}
	}
	return nil
}

// applies evaluates docker's includes and excludes of r, as moby's
// seccomp_linux.go does: includes need every listed capability, the
// architecture among the listed ones and a kernel at least minKernel;
// excludes drop the rule on any listed capability, on a listed
// architecture, or on a kernel at least minKernel.
func applies(r *Rule, arch *Arch, caps security.CapSet, kernel *int, path string) (bool, error) {
	hasCap := func(name string) (bool, error) {
		n, ok := security.CapNumber(name)
		if !ok {
			return false, fmt.Errorf("%s: unknown capability %q", path, name)
		}
		return caps&(1<<n) != 0, nil
	}
	inc, exc := &r.Includes, &r.Excludes
	for _, c := range inc.Caps {
		if ok, err := hasCap(c); err != nil || !ok {
			return false, err
		}
	}
	if len(inc.Arches) > 0 && !anyArch(arch, inc.Arches) {
		return false, nil
	}
	for _, c := range exc.Caps {
		if ok, err := hasCap(c); err != nil || ok {
			return false, err
		}
	}
	if len(exc.Arches) > 0 && anyArch(arch, exc.Arches) {
		return false, nil
	}
	for _, mk := range []struct {
		v    string
		want bool
	}{{inc.MinKernel, true}, {exc.MinKernel, false}} {
		if mk.v == "" {
			continue
		}
		min, err := parseKernel(mk.v)
		if err != nil {
			return false, fmt.Errorf("%s: minKernel %q: %v", path, mk.v, err)
		}
		if *kernel == 0 {
			if *kernel, err = runningKernel(); err != nil {
				return false, err
			}
		}
		if (*kernel >= min) != mk.want {
			return false, nil
		}
	}
	return true, nil
}

func anyArch(a *Arch, names []string) bool {
	for _, n := range names {
		if archMatches(a, n) {
			return true
		}
	}
	return false
}

// parseKernel parses "5.8" (or "5.8.1-foo", whose patch level is ignored,
// as moby ignores it) into 5008, the form Options.Kernel compares in.
func parseKernel(s string) (int, error) {
	v, err := kernel.Parse(s)
	if err != nil || v.Minor >= 1000 {
		return 0, kernel.ErrVersion
	}
	return v.Major*1000 + v.Minor, nil
}

func runningKernel() (int, error) {
	v, err := kernel.Running()
	if err != nil {
		return 0, fmt.Errorf("uname: %w", err)
	}
	return v.Major*1000 + v.Minor, nil
}

// describe names a filter return value.
func describe(r uint32) string {
	switch r & retActionFull {
	case retKillProcess:
		return "SCMP_ACT_KILL_PROCESS"
	case retKillThread:
		return "SCMP_ACT_KILL_THREAD"
	case retTrap:
		return "SCMP_ACT_TRAP"
	case retErrno:
		return "SCMP_ACT_ERRNO(" + unix.ErrnoName(unix.Errno(r&retData)) + ")"
	case retTrace:
		return "SCMP_ACT_TRACE"
	case retLog:
		return "SCMP_ACT_LOG"
	case retAllow:
		return "SCMP_ACT_ALLOW"
	}
	return fmt.Sprintf("%#x", r)
}

// Allows reports whether prog, compiled for arch, lets the system call
// name through (with its arguments all 0): what a caller checks of a
// call it needs past the filter beyond write, execve and exit_group,
// which Compile checks itself.
func Allows(prog []unix.SockFilter, arch *Arch, name string) bool {
	nr, ok := arch.Syscall(name)
	if !ok {
		return false
	}
	r := Run(prog, Data{Nr: nr, Arch: arch.auditArch})
	return r&retActionFull == retAllow || r&retActionFull == retLog
}
