package clone

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Namespaces is a set of namespace kinds, as CLONE_NEW* bits (namespaces(7)).
type Namespaces uint64

// The namespace kinds rawns can create. The values are the kernel's clone
// flags, so a set is passed to clone(2) or clone3(2) as it is.
const (
	NewCgroup Namespaces = unix.CLONE_NEWCGROUP
	NewIPC    Namespaces = unix.CLONE_NEWIPC
	NewMount  Namespaces = unix.CLONE_NEWNS
	NewNet    Namespaces = unix.CLONE_NEWNET
	NewPID    Namespaces = unix.CLONE_NEWPID
	NewTime   Namespaces = unix.CLONE_NEWTIME
	NewUser   Namespaces = unix.CLONE_NEWUSER
	NewUTS    Namespaces = unix.CLONE_NEWUTS

	// AllNamespaces is every kind above.
	AllNamespaces = NewCgroup | NewIPC | NewMount | NewNet | NewPID | NewTime | NewUser | NewUTS
)

// Kind names one namespace kind: its name as in /proc/PID/ns/ and its flag.
type Kind struct {
	Name string
	Flag Namespaces
}

// Kinds lists every namespace kind in the order rawns prints them. Name is
// the entry under /proc/PID/ns/ (mnt for CLONE_NEWNS).
var Kinds = [...]Kind{
	{"pid", NewPID},
	{"uts", NewUTS},
	{"mnt", NewMount},
	{"ipc", NewIPC},
	{"net", NewNet},
	{"user", NewUser},
	{"cgroup", NewCgroup},
	{"time", NewTime},
}

// ParseNamespaces parses a comma-separated list such as "pid,uts" or "all".
// Names may come in any order; an empty list, an empty item, a duplicate or an
// unknown name is an error that names the item.
func ParseNamespaces(list string) (Namespaces, error) {
	if strings.TrimSpace(list) == "" {
		return 0, fmt.Errorf("empty namespace list; name at least one of %s, or all", KindNames())
	}
	var set Namespaces
	seen := make(map[string]bool)
	for _, item := range strings.Split(list, ",") {
		name := strings.TrimSpace(item)
		var flag Namespaces
		switch name {
		case "":
			return 0, fmt.Errorf("empty item in namespace list %q; separate names with single commas", list)
		case "all":
			flag = AllNamespaces
		case "mount":
			flag = NewMount
		default:
			for _, k := range Kinds {
				if k.Name == name {
					flag = k.Flag
				}
			}
		}
		if flag == 0 {
			return 0, fmt.Errorf("unknown namespace %q; known kinds are %s, and all", name, KindNames())
		}
		if seen[name] {
			return 0, fmt.Errorf("namespace %q given twice in %q; name each kind once", name, list)
		}
		seen[name] = true
		set |= flag
	}
	return set, nil
}

// KindNames returns the known kind names, comma-separated.
func KindNames() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = k.Name
	}
	return strings.Join(names, ",")
}

// Title names a set of one kind as prose does: "UTS", "PID", "IPC",
// "mount", "network", "user", "cgroup", "time"; other sets as String.
func (n Namespaces) Title() string {
	switch n {
	case NewUTS:
		return "UTS"
	case NewPID:
		return "PID"
	case NewIPC:
		return "IPC"
	case NewMount:
		return "mount"
	case NewNet:
		return "network"
	}
	return n.String()
}

// String returns the set as a comma-separated list of kind names, in the
// order of Kinds; "none" for the empty set.
func (n Namespaces) String() string {
	if n == 0 {
		return "none"
	}
	var b strings.Builder
	for _, k := range Kinds {
		if n&k.Flag != 0 {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(k.Name)
		}
	}
	if rest := n &^ AllNamespaces; rest != 0 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%#x", uint64(rest))
	}
	return b.String()
}
