package trace

import (
	"strconv"
	"strings"

	"github.com/rawns/rawns/security"
)

// ProofSet says which groups of a Proof the kernel let the exec program
// read. A group whose bit is clear is "not readable on this kernel" (a
// field or helper it needs does not exist there, or a read failed): its
// fields are zero and mean nothing.
type ProofSet uint32

// The groups of a Proof: the P_* of trace/bpf/trace.c, bit for bit.
const (
	HaveRoot      ProofSet = 1 << 0
	HaveCgroup    ProofSet = 1 << 1 // CgroupV2
	HaveCred      ProofSet = 1 << 2 // UID, GID, Securebits
	HaveGroups    ProofSet = 1 << 3 // NGroups, Groups
	HaveCaps      ProofSet = 1 << 4
	HaveSeccomp   ProofSet = 1 << 5 // SeccompMode
	HaveSeccompN  ProofSet = 1 << 6 // SeccompFilters (Linux 5.9+)
	HaveNNP       ProofSet = 1 << 7
	HaveRlimits   ProofSet = 1 << 8
	HaveFile      ProofSet = 1 << 9
	HaveCgroupV1  ProofSet = 1 << 10 // HaveCgroupV1 << c for CgroupV1[c]
	haveProofMask ProofSet = 1<<(10+NumV1) - 1
)

// The v1 controllers whose cgroup the exec program reads: the ones rawns
// run limits (--cpuset-cpus, --cpus/--cpu-weight, --memory, --pids).
const (
	V1Cpuset = iota
	V1CPU
	V1Memory
	V1Pids
	NumV1
)

// V1Names are the controllers of CgroupV1, as cgroup(7) names them.
var V1Names = [NumV1]string{"cpuset", "cpu", "memory", "pids"}

// MaxGroups is how many supplementary groups the exec program copies.
const MaxGroups = 16

// GroupList returns the supplementary groups copied (all of them when
// NGroups <= MaxGroups).
func (p *Proof) GroupList() []uint32 {
	n := int(p.NGroups)
	if n < 0 {
		n = 0
	}
	return p.Groups[:min(n, MaxGroups)]
}

// NumRlimits is RLIM_NLIMITS: the resources of getrlimit(2).
const NumRlimits = 16

// Unlimited is RLIM_INFINITY.
const Unlimited = ^uint64(0)

// RootMountRoot is RootView.Flags' bit: the root dentry is its mount's
// root, as pivot_root(2) leaves it (a chroot(2) into a subdirectory does
// not).
const RootMountRoot = 1

// MntNoSuid is the kernel's MNT_NOSUID in a mount's mnt_flags.
const MntNoSuid = 1

// Proof is what the kernel held at exec for the rest of the container:
// root, cgroups, credentials, capabilities, seccomp, no_new_privs, rlimits
// and the file executed, read by the exec program from task_struct and
// the linux_binprm (docs/trace.md lists each field per kernel version).
type Proof struct {
	Have ProofSet
	Root RootView
	// CgroupV2 is the task's cgroup2 cgroup (cgroups->dfl_cgrp), and
	// CgroupV1 its cgroup in each v1 controller's hierarchy: kernfs node
	// ids, which are the inode numbers stat(2) shows for the directories.
	CgroupV2 uint64
	CgroupV1 [NumV1]uint64
	// UID and GID are real, effective, saved and filesystem ids, as the
	// initial user namespace sees them (kuid_t).
	UID, GID   [4]uint32
	Securebits uint32
	// NGroups is the number of supplementary groups; Groups holds the
	// first (at most MaxGroups) of them, sorted as the kernel keeps them
	// (GroupList).
	NGroups int32
	Groups  [MaxGroups]uint32
	Caps    CapSets
	// SeccompMode: 0 off, 1 strict, 2 filter; SeccompFilters counts the
	// filters attached, the ones inherited from rawns's caller included.
	SeccompMode    int32
	SeccompFilters int32
	NoNewPrivs     bool
	Rlimits        [NumRlimits]RlimitValue
	File           ExecFile
}

// RootView is task->fs->root.
type RootView struct {
	MountID int32  // struct mount's mnt_id: mountinfo's first field
	Dev     uint32 // the superblock's s_dev: major<<20 | minor
	Ino     uint64 // the root dentry's inode number
	Flags   uint32 // RootMountRoot
	MntNS   NSID   // the namespace of the mount
	FSType  string // the superblock's file_system_type name
}

// Major and Minor split the kernel's dev_t (MAJOR/MINOR of kdev_t.h: 12
// and 20 bits), which is not stat(2)'s st_dev encoding.
func (r RootView) Major() uint32 { return r.Dev >> 20 }
func (r RootView) Minor() uint32 { return r.Dev & (1<<20 - 1) }

// CapSets are the five capability sets, bit n for capability n.
type CapSets struct {
	Inheritable, Permitted, Effective, Bounding, Ambient uint64
}

// RlimitValue is one resource limit; Unlimited is RLIM_INFINITY.
type RlimitValue struct {
	Cur, Max uint64
}

// ExecFile is the file the kernel executed (bprm->file).
type ExecFile struct {
	Mode     uint32 // i_mode: type, set-ID bits, permissions
	UID, GID uint32 // owner, as the initial user namespace sees it
	MntFlags uint32 // its mount's mnt_flags: MntNoSuid
}

// Has reports whether every group in s was readable.
func (p *Proof) Has(s ProofSet) bool { return p.Have&s == s }

// appendWire appends the proof's keys to an event line (ExecEvent's
// AppendWire): one key per readable group, none for the others.
func (p *Proof) appendWire(b []byte) []byte {
	kv := func(k string) { b = append(b, ' '); b = append(b, k...); b = append(b, '=') }
	u := func(v uint64) { b = strconv.AppendUint(b, v, 10) }
	if p.Has(HaveRoot) {
		kv("root")
		b = strconv.AppendInt(b, int64(p.Root.MountID), 10)
		b = append(b, ':')
		u(uint64(p.Root.Dev))
		b = append(b, ':')
		u(p.Root.Ino)
		b = append(b, ':')
		u(uint64(p.Root.Flags))
		b = append(b, ':')
		u(p.Root.MntNS.Inode)
		b = append(b, '/')
		u(p.Root.MntNS.ID)
		kv("root-fs")
		b = strconv.AppendQuote(b, p.Root.FSType)
	}
	if p.Has(HaveCgroup) {
		kv("cgroup2")
		u(p.CgroupV2)
	}
	for c := range NumV1 {
		if p.Has(HaveCgroupV1 << c) {
			kv("cgroup1-" + V1Names[c])
			u(p.CgroupV1[c])
		}
	}
	if p.Has(HaveCred) {
		kv("uid")
		b = appendList32(b, p.UID[:])
		kv("gid")
		b = appendList32(b, p.GID[:])
		kv("securebits")
		u(uint64(p.Securebits))
	}
	if p.Has(HaveGroups) {
		kv("groups")
		b = strconv.AppendInt(b, int64(p.NGroups), 10)
		b = append(b, ':')
		b = appendList32(b, p.GroupList())
	}
	if p.Has(HaveCaps) {
		kv("caps")
		for i, v := range p.Caps.list() {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendUint(b, v, 16)
		}
	}
	if p.Has(HaveSeccomp) {
		kv("seccomp")
		b = strconv.AppendInt(b, int64(p.SeccompMode), 10)
	}
	if p.Has(HaveSeccompN) {
		kv("seccomp-filters")
		b = strconv.AppendInt(b, int64(p.SeccompFilters), 10)
	}
	if p.Has(HaveNNP) {
		kv("nnp")
		b = strconv.AppendBool(b, p.NoNewPrivs)
	}
	if p.Has(HaveRlimits) {
		kv("rlimits")
		for i, r := range p.Rlimits {
			if i > 0 {
				b = append(b, ',')
			}
			u(r.Cur)
			b = append(b, ':')
			u(r.Max)
		}
	}
	if p.Has(HaveFile) {
		kv("file")
		b = strconv.AppendUint(b, uint64(p.File.Mode), 8)
		b = append(b, ':')
		u(uint64(p.File.UID))
		b = append(b, ':')
		u(uint64(p.File.GID))
		b = append(b, ':')
		u(uint64(p.File.MntFlags))
	}
	return b
}

func (c CapSets) list() [5]uint64 {
	return [5]uint64{c.Inheritable, c.Permitted, c.Effective, c.Bounding, c.Ambient}
}

// capSetNames are CapSets' sets in list order, as /proc/PID/status names
// them (CapInh, ...), lower-cased after "cap".
var capSetNames = [5]string{"inheritable", "permitted", "effective", "bounding", "ambient"}

func appendList32(b []byte, l []uint32) []byte {
	for i, v := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(v), 10)
	}
	return b
}

// proofKeys are the keys appendWire writes, each for the groups it sets.
var proofKeys = []struct {
	key  string
	have ProofSet
}{
	{"root", HaveRoot}, {"root-fs", 0}, {"cgroup2", HaveCgroup},
	{"cgroup1-cpuset", HaveCgroupV1 << V1Cpuset}, {"cgroup1-cpu", HaveCgroupV1 << V1CPU},
	{"cgroup1-memory", HaveCgroupV1 << V1Memory}, {"cgroup1-pids", HaveCgroupV1 << V1Pids},
	{"uid", HaveCred}, {"gid", 0}, {"securebits", 0}, {"groups", HaveGroups}, {"caps", HaveCaps},
	{"seccomp", HaveSeccomp}, {"seccomp-filters", HaveSeccompN}, {"nnp", HaveNNP},
	{"rlimits", HaveRlimits}, {"file", HaveFile},
}

func proofKey(key string) (int, bool) {
	for i, k := range proofKeys {
		if k.key == key {
			return i, true
		}
	}
	return 0, false
}

// setWire decodes one proof key of an event line.
func (p *Proof) setWire(key, val string) bool {
	i, ok := proofKey(key)
	if !ok {
		return false
	}
	p.Have |= proofKeys[i].have
	switch key {
	case "root":
		f := strings.Split(val, ":")
		if len(f) != 5 {
			return false
		}
		id, err := strconv.ParseInt(f[0], 10, 32)
		dev, err1 := strconv.ParseUint(f[1], 10, 32)
		ino, err2 := strconv.ParseUint(f[2], 10, 64)
		fl, err3 := strconv.ParseUint(f[3], 10, 32)
		ns, err4 := parseNSID(f[4])
		if err != nil || err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			return false
		}
		p.Root.MountID, p.Root.Dev, p.Root.Ino, p.Root.Flags, p.Root.MntNS = int32(id), uint32(dev), ino, uint32(fl), ns
	case "root-fs":
		p.Root.FSType = val
	case "cgroup2":
		return parseU64(val, &p.CgroupV2)
	case "cgroup1-cpuset", "cgroup1-cpu", "cgroup1-memory", "cgroup1-pids":
		for c, n := range V1Names {
			if key == "cgroup1-"+n {
				return parseU64(val, &p.CgroupV1[c])
			}
		}
	case "uid", "gid":
		l, ok := parseList32(val)
		if !ok || len(l) != 4 {
			return false
		}
		if key == "uid" {
			copy(p.UID[:], l)
		} else {
			copy(p.GID[:], l)
		}
	case "securebits":
		var v uint64
		if !parseU64(val, &v) || v > 1<<32-1 {
			return false
		}
		p.Securebits = uint32(v)
	case "groups":
		n, l, ok := strings.Cut(val, ":")
		v, err := strconv.ParseInt(n, 10, 32)
		if !ok || err != nil {
			return false
		}
		g, ok := parseList32(l)
		if !ok || v < 0 || len(g) != min(int(v), MaxGroups) {
			return false
		}
		p.NGroups = int32(v)
		copy(p.Groups[:], g)
	case "caps":
		f := strings.Split(val, ",")
		if len(f) != 5 {
			return false
		}
		var v [5]uint64
		for i := range f {
			var err error
			if v[i], err = strconv.ParseUint(f[i], 16, 64); err != nil {
				return false
			}
		}
		p.Caps = CapSets{v[0], v[1], v[2], v[3], v[4]}
	case "seccomp", "seccomp-filters":
		v, err := strconv.ParseInt(val, 10, 32)
		if err != nil {
			return false
		}
		if key == "seccomp" {
			p.SeccompMode = int32(v)
		} else {
			p.SeccompFilters = int32(v)
		}
	case "nnp":
		v, err := strconv.ParseBool(val)
		if err != nil {
			return false
		}
		p.NoNewPrivs = v
	case "rlimits":
		f := strings.Split(val, ",")
		if len(f) != NumRlimits {
			return false
		}
		for i, s := range f {
			c, m, ok := strings.Cut(s, ":")
			if !ok || !parseU64(c, &p.Rlimits[i].Cur) || !parseU64(m, &p.Rlimits[i].Max) {
				return false
			}
		}
	case "file":
		f := strings.Split(val, ":")
		if len(f) != 4 {
			return false
		}
		mode, err := strconv.ParseUint(f[0], 8, 32)
		uid, err1 := strconv.ParseUint(f[1], 10, 32)
		gid, err2 := strconv.ParseUint(f[2], 10, 32)
		fl, err3 := strconv.ParseUint(f[3], 10, 32)
		if err != nil || err1 != nil || err2 != nil || err3 != nil {
			return false
		}
		p.File = ExecFile{uint32(mode), uint32(uid), uint32(gid), uint32(fl)}
	}
	return true
}

func parseU64(s string, v *uint64) bool {
	x, err := strconv.ParseUint(s, 10, 64)
	*v = x
	return err == nil
}

func parseList32(s string) ([]uint32, bool) {
	l := []uint32{}
	if s == "" {
		return l, true
	}
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseUint(f, 10, 32)
		if err != nil {
			return nil, false
		}
		l = append(l, uint32(v))
	}
	return l, true
}

// CapString shows a capability set as /proc/PID/status does (16 hex
// digits) and, when it is small, by name: "0000000000000400
// (CAP_NET_BIND_SERVICE)".
func CapString(v uint64) string {
	s := strconv.FormatUint(v, 16)
	s = strings.Repeat("0", 16-len(s)) + s
	switch n := popcount(v); {
	case n == 0:
		return s + " (none)"
	case n <= 4:
		return s + " (" + security.CapSet(v).String() + ")"
	}
	return s + " (" + itoa(popcount(v)) + " capabilities)"
}

func popcount(v uint64) int {
	n := 0
	for ; v != 0; v &= v - 1 {
		n++
	}
	return n
}

// RlimitString shows a limit as /proc/PID/limits does: a number or
// "unlimited".
func RlimitString(v uint64) string {
	if v == Unlimited {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10)
}
