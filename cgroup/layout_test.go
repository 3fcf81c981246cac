package cgroup

import (
	"strings"
	"testing"
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
