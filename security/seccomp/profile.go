package seccomp

// Profile is a seccomp profile in docker's JSON format, which extends the
// OCI runtime-spec's linux.seccomp (config-linux.md#seccomp) with archMap
// and with rules that apply only for some capabilities, architectures or
// kernels (includes, excludes).
type Profile struct {
	DefaultAction   string
	DefaultErrnoRet *uint32
	Architectures   []string
	ArchMap         []ArchMap
	// Flags, ListenerPath and ListenerMetadata are OCI fields rawns does
	// not support yet; a profile that sets them is refused.
	Flags            []string
	ListenerPath     string
	ListenerMetadata string
	Syscalls         []Rule
}

// ArchMap is one entry of docker's archMap: an architecture and the
// sub-architectures (other ABIs) it runs.
type ArchMap struct {
	Architecture     string
	SubArchitectures []string
}

// Rule gives the system calls Names (docker's older Name too) an Action,
// when every condition of Args holds.
type Rule struct {
	Names    []string
	Name     string
	Action   string
	ErrnoRet *uint32
	Args     []Arg
	Comment  string
	Includes Filter
	Excludes Filter
}

// Arg is a condition on the system call's argument Index (0-5), compared
// as 64 bits: Op is SCMP_CMP_EQ, _NE, _LT, _LE, _GT, _GE, or _MASKED_EQ,
// which tests (arg & Value) == ValueTwo.
type Arg struct {
	Index    uint32
	Value    uint64
	ValueTwo uint64
	Op       string
}

// Filter is docker's condition on a rule: it applies (includes) or does
// not (excludes) when the process holds all (includes) or any (excludes)
// of Caps, runs on one of Arches, or on a kernel at least MinKernel.
type Filter struct {
	Caps      []string
	Arches    []string
	MinKernel string // "5.8"
}
