package cgroup

import (
	"reflect"
	"strings"
	"testing"

	"github.com/rawns/rawns/internal/procfs"
)

// TestLayoutShadowed: a hierarchy mounted below a later mount (a new
// sysfs on /sys, as the e2e sandbox and container engines make it) is
// not the caller's: its path leads into the later mount. With cgroup2
// left out of the new /sys/fs/cgroup, the layout is v1 only, as runc and
// crun then see it; the v1 hierarchies are the ones bound back.
func TestLayoutShadowed(t *testing.T) {
	const mi = `22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw
25 22 0:24 / /sys/fs/cgroup ro,nosuid,nodev,noexec - tmpfs tmpfs ro,mode=755
26 25 0:25 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate
30 25 0:29 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,pids
31 25 0:30 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,memory
90 1 0:50 / /tmp/x rw - tmpfs tmpfs rw
91 22 0:51 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw
92 91 0:52 / /sys/fs/cgroup rw,nosuid,nodev,noexec - tmpfs cgroup rw,mode=755
93 92 0:29 /sub /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,pids
94 92 0:30 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,memory
`
	const cg = "2:pids:/sub/me\n1:memory:/m\n0::/u\n"
	lay, err := parseLayout([]byte(mi), []byte(cg))
	if err != nil {
		t.Fatal(err)
	}
	if lay.V2 != nil {
		t.Errorf("v2 %+v; want none (the cgroup2 mount is under the first /sys)", lay.V2)
	}
	if h := lay.V1["pids"]; h == nil || h.Own != "/sys/fs/cgroup/pids/me" {
		t.Errorf("pids %+v; want the bound one, own dir /sys/fs/cgroup/pids/me", h)
	}
	if h := lay.V1["memory"]; h == nil || h.Own != "/sys/fs/cgroup/memory/m" {
		t.Errorf("memory %+v; want own dir /sys/fs/cgroup/memory/m", h)
	}

	// The host's own layout, nothing covered: cgroup2 is there.
	lay, err = parseLayout([]byte(mi[:strings.Index(mi, "90 1")]), []byte(cg))
	if err != nil {
		t.Fatal(err)
	}
	if lay.V2 == nil || lay.V2.Own != "/sys/fs/cgroup/unified/u" {
		t.Errorf("v2 %+v; want /sys/fs/cgroup/unified/u", lay.V2)
	}
}

// TestCgroupMountsMatchesParse: the in-place scan finds the mounts that
// parsing every line (procfs.Mounts) and dropping the covered ones finds,
// on this host's mountinfo and on shapes with escapes, covering mounts
// above and on the point, a mount on /, and malformed lines.
func TestCgroupMountsMatchesParse(t *testing.T) {
	host, err := procfs.Read("/proc/self/mountinfo", nil)
	if err != nil {
		t.Fatal(err)
	}
	docs := []string{string(host),
		"25 1 0:24 / /sys/fs/cgroup ro - tmpfs tmpfs ro\n26 25 0:25 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n27 25 0:26 / /sys/fs/cgroup/a\\040b rw - cgroup cgroup rw,pids\n28 1 0:1 / / rw - ext4 /dev/x rw\n",
		"26 25 0:25 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n29 1 0:27 / /sys/fs rw - tmpfs tmpfs rw",
		"27 25 0:26 / /c\\040d rw - cgroup cgroup rw,pids\n30 1 0:27 / /c\\040d rw - tmpfs tmpfs rw\n\n",
		"27 25 0:26 / /c rw - cgroup cgroup rw,pids\n30 1 0:27 / /cd rw - tmpfs tmpfs rw\n",
		"27 25 0:26 / /c rw cgroup cgroup rw,pids\n", "27 25 / /c - cgroup cgroup rw\n", "x\n", "",
	}
	for _, doc := range docs {
		got, gotErr := cgroupMounts([]byte(doc))
		all, wantErr := procfs.Mounts([]byte(doc))
		var want []procfs.Mount
		for i, m := range all {
			if (m.FSType == "cgroup" || m.FSType == "cgroup2") && !coveredParsed(all, i) {
				want = append(want, m)
			}
		}
		if (gotErr == nil) != (wantErr == nil) {
			t.Errorf("%q: %v; procfs.Mounts: %v", doc, gotErr, wantErr)
			continue
		}
		if gotErr == nil && (len(got) > 0 || len(want) > 0) && !reflect.DeepEqual(got, want) {
			t.Errorf("%q:\n %+v\nwant %+v", doc, got, want)
		}
	}
}

// coveredParsed is coveredLater over parsed mounts, as it was written
// before the scan.
func coveredParsed(mounts []procfs.Mount, i int) bool {
	p := mounts[i].Point
	for _, n := range mounts[i+1:] {
		if n.Point == "/" {
			continue
		}
		if n.Point == p || strings.HasPrefix(p, n.Point+"/") {
			return true
		}
	}
	return false
}

// TestOwnCgroupsMatchesParse: the in-place read of /proc/self/cgroup finds
// what procfs.Cgroups finds.
func TestOwnCgroupsMatchesParse(t *testing.T) {
	host, err := procfs.Read("/proc/self/cgroup", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{string(host), "", "\n", "0::/a:b\n", "0::\n1:name=systemd:/x", "x\n2:pids\n3:memory:/m\n3:memory:/n\n0:x:/y\n", "0::/u\n0::/v"} {
		own1, own2, have2 := ownCgroups([]byte(doc))
		want1, want2, wantHave2 := map[string]string{}, "", false
		for _, c := range procfs.Cgroups([]byte(doc)) {
			if c.ID == "0" && c.Controllers == "" {
				want2, wantHave2 = c.Path, true
				continue
			}
			want1[c.Controllers] = c.Path
		}
		if !reflect.DeepEqual(own1, want1) || own2 != want2 || have2 != wantHave2 {
			t.Errorf("%q: %v %q %v; want %v %q %v", doc, own1, own2, have2, want1, want2, wantHave2)
		}
	}
}
