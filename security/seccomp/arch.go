// Package seccomp compiles seccomp profiles in docker's and OCI's JSON
// format (defaultAction, architectures, syscalls with names, action,
// errnoRet and args) into classic BPF programs for seccomp(2), in Go and
// without cgo, for amd64 and arm64. It runs in the parent; clone installs
// the program in the child, last before execve.
//
// Nothing here runs at start-up: the tables are constant arrays, no maps,
// no init, and the JSON reader is a small one of its own, because linking
// encoding/json into rawns costs every run page faults (docs/benchmarks.md).
package seccomp

//go:generate go run ./internal/mksyscalls zsyscalls.go
//go:generate go run ./internal/mkdefault zdefault.go
//go:generate go run ./internal/mkprecompiled zprecompiled.go

import (
	"fmt"
	"runtime"
	"sort"
)

// Arch is an architecture a program is compiled for.
type Arch struct {
	Name      string // GOARCH
	auditArch uint32 // AUDIT_ARCH_* as seccomp_data.arch carries it
	// x32 marks amd64, where the x32 ABI shares AUDIT_ARCH_X86_64 and is
	// told apart by bit 30 of the system call number (__X32_SYSCALL_BIT).
	x32 bool
}

type sysEntry struct {
	name string
	nr   uint32
}

const (
	auditArchX86_64  = 0xc000003e // AUDIT_ARCH_X86_64: EM_X86_64 | 64BIT | LE
	auditArchAArch64 = 0xc00000b7 // AUDIT_ARCH_AARCH64: EM_AARCH64 | 64BIT | LE
	x32SyscallBit    = 0x40000000
)

// AMD64 and ARM64 are the architectures rawns compiles for.
var (
	AMD64 = &Arch{Name: "amd64", auditArch: auditArchX86_64, x32: true}
	ARM64 = &Arch{Name: "arm64", auditArch: auditArchAArch64}
)

// table is a's system calls. A method, not a field: a slice of the table
// in a package-level value would need an init function, work at every
// start-up of rawns.
func (a *Arch) table() []sysEntry {
	if a == AMD64 {
		return amd64Syscalls[:]
	}
	return arm64Syscalls[:]
}

// Native is the architecture rawns runs on, or nil elsewhere.
func Native() *Arch {
	switch runtime.GOARCH {
	case "amd64":
		return AMD64
	case "arm64":
		return ARM64
	}
	return nil
}

// Syscall returns the number of a system call on a.
func (a *Arch) Syscall(name string) (uint32, bool) {
	t := a.table()
	i := sort.Search(len(t), func(i int) bool { return t[i].name >= name })
	if i < len(t) && t[i].name == name {
		return t[i].nr, true
	}
	return 0, false
}

// scmpArches are the architecture names of libseccomp's SCMP_ARCH_*, which
// docker's and OCI's profiles use; any other is an error.
var scmpArches = [...]string{
	"SCMP_ARCH_NATIVE", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32",
	"SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64",
	"SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
	"SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
	"SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X",
	"SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
	"SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB",
}

func checkArch(name string) error {
	for _, a := range scmpArches {
		if a == name {
			return nil
		}
	}
	return fmt.Errorf("unknown architecture %q; use SCMP_ARCH_X86_64, SCMP_ARCH_AARCH64 or another SCMP_ARCH_ name of libseccomp", name)
}

// archMatches reports whether a name of docker's "arches" filter (GOARCH
// names, and a few libseccomp spellings) means a.
func archMatches(a *Arch, name string) bool {
	switch name {
	case "amd64", "x86_64", "SCMP_ARCH_X86_64":
		return a.Name == "amd64"
	case "arm64", "aarch64", "SCMP_ARCH_AARCH64":
		return a.Name == "arm64"
	}
	return false
}
