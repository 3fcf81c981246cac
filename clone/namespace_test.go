package clone_test

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
)

// TestKindSpellings: every spelling of a namespace kind that users and the
// OCI runtime spec use parses to its flag: rawns's (the /proc/PID/ns
// names), unshare(1)'s long options and the spec's linux.namespaces types.
// A kind given twice in two spellings is still given twice.
func TestKindSpellings(t *testing.T) {
	for spelling, want := range map[string]clone.Namespaces{
		// rawns's, as /proc/PID/ns names them.
		"pid": unix.CLONE_NEWPID, "uts": unix.CLONE_NEWUTS, "mnt": unix.CLONE_NEWNS, "ipc": unix.CLONE_NEWIPC,
		"net": unix.CLONE_NEWNET, "user": unix.CLONE_NEWUSER, "cgroup": unix.CLONE_NEWCGROUP, "time": unix.CLONE_NEWTIME,
		// The runtime spec's (config-linux.md) and unshare's, where they differ.
		"network": unix.CLONE_NEWNET, "mount": unix.CLONE_NEWNS,
	} {
		if got, err := clone.ParseNamespaces(spelling); err != nil || got != want {
			t.Errorf("ParseNamespaces(%q) = %v, %v; want %v", spelling, got, err, want)
		}
	}
	oci := "pid network mount ipc uts user cgroup time"
	var all clone.Namespaces
	for _, typ := range strings.Fields(oci) {
		k, ok := clone.KindNamed(typ)
		if !ok || k.OCI != typ {
			t.Errorf("the OCI type %q: %+v, %v", typ, k, ok)
		}
		all |= k.Flag
	}
	if all != clone.AllNamespaces {
		t.Errorf("the spec's types make %v, want every kind", all)
	}
	for _, unshare := range []string{"mount", "uts", "ipc", "net", "pid", "user", "cgroup", "time"} {
		if k, ok := clone.KindNamed(unshare); !ok || k.Unshare != unshare {
			t.Errorf("unshare --%s: %+v, %v", unshare, k, ok)
		}
	}
	for _, in := range []string{"mnt,mount", "net,network", "all,all"} {
		if _, err := clone.ParseNamespaces(in); err == nil || !strings.Contains(err.Error(), "given twice") {
			t.Errorf("ParseNamespaces(%q): %v; want given twice", in, err)
		}
	}
	if got, err := clone.ParseNamespaces("network,mount,pid"); err != nil || got.String() != "pid,mnt,net" {
		t.Errorf("the set prints as %q, %v; want rawns's names", got, err)
	}
	for _, k := range clone.Kinds {
		if got, ok := clone.KindOf(k.Flag); !ok || got != k || k.Flag.Title() != k.Title {
			t.Errorf("KindOf(%v) = %+v, %v; Title %q", k.Flag, got, ok, k.Flag.Title())
		}
	}
	if s := (clone.NewPID | clone.NewUTS).Title(); s != "pid,uts" {
		t.Errorf("Title of two kinds: %q", s)
	}
}
