package security

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
)

func TestParseCaps(t *testing.T) {
	for _, c := range []struct {
		in   string
		want CapSet
		all  bool
	}{
		{"net_raw", 1 << unix.CAP_NET_RAW, false},
		{"CAP_NET_RAW,chown", 1<<unix.CAP_NET_RAW | 1<<unix.CAP_CHOWN, false},
		{"Cap_Sys_Admin", 1 << unix.CAP_SYS_ADMIN, false},
		{"ALL", 0, true},
		{"all,checkpoint_restore", 1 << unix.CAP_CHECKPOINT_RESTORE, true},
	} {
		got, all, err := ParseCaps(c.in)
		if err != nil || got != c.want || all != c.all {
			t.Errorf("ParseCaps(%q) = %v, %v, %v; want %v, %v", c.in, got, all, err, c.want, c.all)
		}
	}
	for _, bad := range []string{"net_rav", "", "chown,", "CAP_"} {
		if _, _, err := ParseCaps(bad); err == nil {
			t.Errorf("ParseCaps(%q): no error", bad)
		}
	}
	if s := (CapSet(1<<unix.CAP_CHOWN | 1<<unix.CAP_NET_RAW)).String(); s != "CAP_CHOWN,CAP_NET_RAW" {
		t.Errorf("String: %q", s)
	}
	if n := len(strings.Split(DockerDefault.String(), ",")); n != 14 {
		t.Errorf("docker's default set has %d capabilities, want 14: %v", n, DockerDefault)
	}
	for i := range capNames {
		if n, ok := CapNumber(CapName(i)); !ok || n != i {
			t.Errorf("CapNumber(CapName(%d)) = %d, %v", i, n, ok)
		}
	}
}

func TestLastCapMatchesNames(t *testing.T) {
	// A kernel newer than the table: names for the new ones are missing.
	if l := LastCap(); l != len(capNames)-1 {
		t.Logf("this kernel's last capability is %d, the table knows %d", l, len(capNames)-1)
	}
}

// TestHeldCaps: what rawns can hand a command is its permitted set cut to
// its bounding set, as /proc/self/status shows them (proc(5)).
func TestHeldCaps(t *testing.T) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	var prm, bnd uint64
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 2 && (f[0] == "CapPrm:" || f[0] == "CapBnd:") {
			v, err := strconv.ParseUint(f[1], 16, 64)
			if err != nil {
				t.Fatal(l, err)
			}
			if f[0] == "CapPrm:" {
				prm = v
			} else {
				bnd = v
			}
		}
	}
	got, err := HeldCaps()
	if err != nil || uint64(got) != prm&bnd {
		t.Fatalf("HeldCaps() = %#x (%s), %v; want CapPrm %#x & CapBnd %#x", uint64(got), got, err, prm, bnd)
	}
}

func TestResolveAndSets(t *testing.T) {
	all := AllCaps()
	raw := CapSet(1 << unix.CAP_NET_RAW)
	if got := Resolve(all, 0, true, raw, false); got != raw {
		t.Errorf("drop ALL add net_raw: %v", got)
	}
	if got := Resolve(DockerDefault, raw, false, 0, false); got != DockerDefault&^raw {
		t.Errorf("docker minus net_raw: %v", got)
	}
	if got := Resolve(0, 0, false, 0, true); got != all {
		t.Errorf("add ALL: %v", got)
	}
	root := Sets(DockerDefault, raw, 0)
	if root.Inheritable != 0 || root.Ambient != 0 || root.Bounding != uint64(DockerDefault) || root.Effective != root.Permitted {
		t.Errorf("root: %+v", root)
	}
	user := Sets(DockerDefault, raw|1<<unix.CAP_SYS_ADMIN, 1000)
	if user.Ambient != uint64(raw) || user.Inheritable != uint64(raw) {
		t.Errorf("user: ambient must be what was asked and kept, and only that: %+v", user)
	}
	spec := clone.Spec{Path: "/bin/true", Privilege: &clone.Privilege{Caps: &user}}
	if err := spec.Validate(); err != nil {
		t.Errorf("Sets gives sets clone refuses: %v", err)
	}
}

func TestParseRlimit(t *testing.T) {
	for _, c := range []struct {
		in   string
		want clone.Rlimit
	}{
		{"nofile=1024:4096", clone.Rlimit{Resource: unix.RLIMIT_NOFILE, Cur: 1024, Max: 4096}},
		{"NPROC=100", clone.Rlimit{Resource: unix.RLIMIT_NPROC, Cur: 100, Max: 100}},
		{"RLIMIT_CORE=0:unlimited", clone.Rlimit{Resource: unix.RLIMIT_CORE, Cur: 0, Max: math.MaxUint64}},
		{"as=unlimited", clone.Rlimit{Resource: unix.RLIMIT_AS, Cur: math.MaxUint64, Max: math.MaxUint64}},
	} {
		got, err := ParseRlimit(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseRlimit(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"nofiles=1", "unknown resource \"nofiles\""},
		{"nofile", "not NAME=SOFT[:HARD]"},
		{"nofile=10:5", "soft limit 10 is above the hard limit 5"},
		{"nofile=x", "soft limit \"x\""},
		{"nofile=1:", "hard limit \"\""},
	} {
		_, err := ParseRlimit(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseRlimit(%q): %v, want %q", c.in, err, c.want)
		}
	}
	for i := range rlimitNames {
		if r, ok := RlimitResource(RlimitName(i)); !ok || r != i {
			t.Errorf("rlimit %d: %q does not parse back", i, RlimitName(i))
		}
	}
}

func TestUser(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n# comment\napp:x:1000:1001::/home/app:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/group"), []byte("root:x:0:\napp:x:1001:\nwheel:x:10:app,other\naudio:x:29:other\n"), 0o644)
	for _, c := range []struct {
		user   string
		groups []string
		given  bool
		want   clone.Credential
	}{
		{"app", nil, false, clone.Credential{UID: 1000, GID: 1001, Groups: []uint32{10}}},
		{"1000", nil, false, clone.Credential{UID: 1000, GID: 1001, Groups: []uint32{10}}},
		{"app:audio", []string{"wheel", "7"}, true, clone.Credential{UID: 1000, GID: 29, Groups: []uint32{10, 7}}},
		{"4242", nil, false, clone.Credential{UID: 4242, GID: 4242}},
		{"4242:0", []string{}, true, clone.Credential{UID: 4242, GID: 0, Groups: []uint32{}}},
	} {
		got, err := User(root, c.user, c.groups, c.given)
		if err != nil || !reflect.DeepEqual(*got, c.want) {
			t.Errorf("User(%q, %q) = %+v, %v; want %+v", c.user, c.groups, got, err, c.want)
		}
	}
	for _, c := range []struct {
		user   string
		groups []string
		want   string
	}{
		{"nobody", nil, `user "nobody" not found in ` + root + "/etc/passwd"},
		{"app:nogroup", nil, `group "nogroup" not found`},
		{"app", []string{"nogroup"}, `group "nogroup" not found`},
		{":1", nil, "give UID[:GID]"},
		{"1:", nil, "give UID[:GID]"},
	} {
		_, err := User(root, c.user, c.groups, c.groups != nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("User(%q, %q): %v, want %q", c.user, c.groups, err, c.want)
		}
	}
	// No passwd file: numbers still work, names say what is missing.
	empty := t.TempDir()
	if c, err := User(empty, "5:6", nil, false); err != nil || c.UID != 5 || c.GID != 6 {
		t.Errorf("numbers without files: %+v, %v", c, err)
	}
	if _, err := User(empty, "app", nil, false); err == nil || !strings.Contains(err.Error(), "give a number instead") {
		t.Errorf("a name without a passwd file: %v", err)
	}
}
