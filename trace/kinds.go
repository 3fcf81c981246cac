package trace

import (
	"strconv"
	"strings"

	"github.com/rawns/rawns/clone"
)

// Kind is a namespace kind, named like the files in /proc/PID/ns.
// The order is fixed and is the order of every [NumKinds] array here.
type Kind int

// The namespace kinds. PIDForChildren and TimeForChildren are where the
// task's future children go; they differ from PID and Time after
// unshare(CLONE_NEWPID) or unshare(CLONE_NEWTIME).
const (
	UTS Kind = iota
	IPC
	Mnt
	Net
	PID
	PIDForChildren
	Cgroup
	User
	Time
	TimeForChildren
	NumKinds
)

// kindFlags are the namespace kind behind each Kind, as its clone flag:
// package clone's table of kinds holds their names (clone.Kinds). The
// *_for_children kinds follow pid and time.
var kindFlags = [NumKinds]clone.Namespaces{
	UTS: clone.NewUTS, IPC: clone.NewIPC, Mnt: clone.NewMount, Net: clone.NewNet,
	PID: clone.NewPID, PIDForChildren: clone.NewPID, Cgroup: clone.NewCgroup,
	User: clone.NewUser, Time: clone.NewTime, TimeForChildren: clone.NewTime,
}

// String returns the /proc/PID/ns file name of k ("uts", "pid_for_children", ...).
func (k Kind) String() string {
	switch k {
	case PIDForChildren:
		return "pid_for_children"
	case TimeForChildren:
		return "time_for_children"
	}
	if k >= 0 && k < NumKinds {
		if ck, ok := clone.KindOf(kindFlags[k]); ok {
			return ck.Name
		}
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// kebab returns the kind as used in JSON keys: "pid-for-children".
func (k Kind) kebab() string { return strings.ReplaceAll(k.String(), "_", "-") }

// cloneFlag returns the CLONE_NEW* flag that creates k; 0 for the
// *_for_children kinds, which follow PID and Time.
func (k Kind) cloneFlag() uint64 {
	if k == PIDForChildren || k == TimeForChildren || k < 0 || k >= NumKinds {
		return 0
	}
	return uint64(kindFlags[k])
}

// KindSet is a set of kinds, bit k for Kind k.
type KindSet uint32

// Has reports whether k is in s.
func (s KindSet) Has(k Kind) bool { return s&(1<<uint(k)) != 0 }

// With returns s plus the given kinds.
func (s KindSet) With(kinds ...Kind) KindSet {
	for _, k := range kinds {
		s |= 1 << uint(k)
	}
	return s
}

// KindsFromCloneFlags returns the kinds a clone(2)/clone3(2) with flags puts
// into new namespaces for the child. A new PID (time) namespace is also the
// child's pid_for_children (time_for_children): a fresh child starts with
// both pointing at the namespace it was created in.
func KindsFromCloneFlags(flags uint64) KindSet {
	var s KindSet
	for k := Kind(0); k < NumKinds; k++ {
		if f := k.cloneFlag(); f != 0 && flags&f != 0 {
			s = s.With(k)
		}
	}
	if s.Has(PID) {
		s = s.With(PIDForChildren)
	}
	if s.Has(Time) {
		s = s.With(TimeForChildren)
	}
	return s
}

// CloneFlagsString decodes clone flags as "CLONE_VM|CLONE_NEWPID|...";
// unknown bits are shown in hex at the end.
func CloneFlagsString(flags uint64) string {
	names := []struct {
		f    uint64
		name string
	}{
		{0x100, "CLONE_VM"}, {0x200, "CLONE_FS"}, {0x400, "CLONE_FILES"}, {0x800, "CLONE_SIGHAND"},
		{0x1000, "CLONE_PIDFD"}, {0x2000, "CLONE_PTRACE"}, {0x4000, "CLONE_VFORK"}, {0x8000, "CLONE_PARENT"},
		{0x10000, "CLONE_THREAD"}, {uint64(clone.NewMount), "CLONE_NEWNS"}, {0x40000, "CLONE_SYSVSEM"},
		{0x80000, "CLONE_SETTLS"}, {0x100000, "CLONE_PARENT_SETTID"}, {0x200000, "CLONE_CHILD_CLEARTID"},
		{0x800000, "CLONE_UNTRACED"}, {0x1000000, "CLONE_CHILD_SETTID"},
		{uint64(clone.NewCgroup), "CLONE_NEWCGROUP"}, {uint64(clone.NewUTS), "CLONE_NEWUTS"}, {uint64(clone.NewIPC), "CLONE_NEWIPC"},
		{uint64(clone.NewUser), "CLONE_NEWUSER"}, {uint64(clone.NewPID), "CLONE_NEWPID"}, {uint64(clone.NewNet), "CLONE_NEWNET"},
		{0x80000000, "CLONE_IO"}, {1 << 32, "CLONE_CLEAR_SIGHAND"}, {1 << 33, "CLONE_INTO_CGROUP"},
		{uint64(clone.NewTime), "CLONE_NEWTIME"},
	}
	var b strings.Builder
	rest := flags
	for _, n := range names {
		if flags&n.f != 0 {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(n.name)
			rest &^= n.f
		}
	}
	if rest != 0 || b.Len() == 0 {
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		b.WriteString("0x")
		b.WriteString(strconv.FormatUint(rest, 16))
	}
	return b.String()
}

// NSID identifies one namespace.
type NSID struct {
	// Inode is ns_common.inum, the inode number stat(2) shows for
	// /proc/PID/ns/KIND. The kernel reuses it as soon as the namespace dies.
	Inode uint64
	// ID is ns_common.ns_id (Linux 6.18+; ioctl NS_GET_ID from userspace):
	// 64 bits, never reused while the system runs. 0 where the kernel has none.
	ID uint64
}

// Zero reports whether nothing is known of the namespace (a kind the
// kernel lacks, such as time before 5.6).
func (n NSID) Zero() bool { return n.Inode == 0 && n.ID == 0 }

// Same reports whether a and b name the same namespace: same inode and, when
// both sides know it, the same ns_id.
func (n NSID) Same(o NSID) bool {
	if n.Inode != o.Inode {
		return false
	}
	return n.ID == 0 || o.ID == 0 || n.ID == o.ID
}

// String formats n as "INODE" or "INODE/ID".
func (n NSID) String() string {
	if n.Zero() {
		return "-"
	}
	if n.ID == 0 {
		return strconv.FormatUint(n.Inode, 10)
	}
	return strconv.FormatUint(n.Inode, 10) + "/" + strconv.FormatUint(n.ID, 10)
}

// utoa and itoa are strconv's decimal forms, short for the reports built
// by hand in this package.
func utoa(v uint64) string { return strconv.FormatUint(v, 10) }
func itoa(v int) string    { return strconv.Itoa(v) }
