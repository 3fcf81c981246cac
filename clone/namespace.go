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

// Kind is one namespace kind: the names each vocabulary gives it, and its
// flag. Every spelling a user or a caller may use is here, so that the
// command line, the OCI layer and the tracer read kinds from one table.
type Kind struct {
	// Name is rawns's name, the entry under /proc/PID/ns/ ("mnt"), which
	// --ns and every report use.
	Name string
	// OCI is the runtime spec's linux.namespaces[].type ("mount").
	OCI string
	// Unshare is unshare(1)'s and nsenter(1)'s long option ("mount").
	Unshare string
	// Title is how prose names it ("mount", "UTS").
	Title string
	Flag  Namespaces
}

// Kinds lists every namespace kind in the order rawns prints them.
var Kinds = [...]Kind{
	{Name: "pid", OCI: "pid", Unshare: "pid", Title: "PID", Flag: NewPID},
	{Name: "uts", OCI: "uts", Unshare: "uts", Title: "UTS", Flag: NewUTS},
	{Name: "mnt", OCI: "mount", Unshare: "mount", Title: "mount", Flag: NewMount},
	{Name: "ipc", OCI: "ipc", Unshare: "ipc", Title: "IPC", Flag: NewIPC},
	{Name: "net", OCI: "network", Unshare: "net", Title: "network", Flag: NewNet},
	{Name: "user", OCI: "user", Unshare: "user", Title: "user", Flag: NewUser},
	{Name: "cgroup", OCI: "cgroup", Unshare: "cgroup", Title: "cgroup", Flag: NewCgroup},
	{Name: "time", OCI: "time", Unshare: "time", Title: "time", Flag: NewTime},
}

// KindNamed returns the kind that name spells, in any of the vocabularies
// of Kind (rawns's, unshare's, the OCI runtime spec's), and whether there
// is one.
func KindNamed(name string) (Kind, bool) {
	for _, k := range Kinds {
		if name == k.Name || name == k.OCI || name == k.Unshare {
			return k, true
		}
	}
	return Kind{}, false
}

// KindOf returns the kind whose flag is f (one of the New* constants), and
// whether there is one.
func KindOf(f Namespaces) (Kind, bool) {
	for _, k := range Kinds {
		if k.Flag == f {
			return k, true
		}
	}
	return Kind{}, false
}

// ParseNamespaces parses a comma-separated list such as "pid,uts" or "all".
// A kind may be spelled as rawns, unshare(1) or the OCI runtime spec spell
// it (mnt or mount, net or network); names may come in any order. An empty
// list, an empty item, a kind given twice or an unknown name is an error
// that names the item.
func ParseNamespaces(list string) (Namespaces, error) {
	if strings.TrimSpace(list) == "" {
		return 0, fmt.Errorf("empty namespace list; name at least one of %s, or all", KindNames())
	}
	var set, kinds Namespaces
	all := false
	for _, item := range strings.Split(list, ",") {
		name := strings.TrimSpace(item)
		if name == "" {
			return 0, fmt.Errorf("empty item in namespace list %q; separate names with single commas", list)
		}
		if name == "all" {
			if all {
				return 0, fmt.Errorf("namespace %q given twice in %q; name each kind once", name, list)
			}
			all, set = true, set|AllNamespaces
			continue
		}
		k, ok := KindNamed(name)
		if !ok {
			return 0, fmt.Errorf("unknown namespace %q; known kinds are %s, and all", name, KindNames())
		}
		if kinds&k.Flag != 0 {
			return 0, fmt.Errorf("namespace %q given twice in %q; name each kind once", name, list)
		}
		kinds |= k.Flag
		set |= k.Flag
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

// Title names a set of one kind as prose does (Kind.Title): "UTS", "PID",
// "IPC", "mount", "network", "user", "cgroup", "time"; other sets as
// String.
func (n Namespaces) Title() string {
	if k, ok := KindOf(n); ok {
		return k.Title
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
