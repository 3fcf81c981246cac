package testutil

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/trace"
)

// CheckProof compares what the exec program read from the kernel (p) with
// an independent oracle, /proc, read now for the same process, which the
// caller holds (alive, past its exec, not changing its credentials):
//
//	uid, gid, groups, caps, no_new_privs, seccomp  /proc/PID/status
//	rlimits                                        /proc/PID/limits
//	root                                           /proc/PID/mountinfo, stat -L /proc/PID/root
//	cgroups                                        /proc/PID/cgroup, stat of each directory
//	the file executed                              stat -L /proc/PID/exe
//
// want lists the groups that must be readable on this kernel; a group
// readable but not in want is checked too.
func CheckProof(t testing.TB, pid int, p trace.Proof, want trace.ProofSet) {
	t.Helper()
	if !p.Has(want) {
		t.Errorf("pid %d: groups %#x not readable (have %#x, want %#x)", pid, uint32(want&^p.Have), uint32(p.Have), uint32(want))
	}
	proc := "/proc/" + strconv.Itoa(pid)
	status := procStatus(t, proc)
	if p.Has(trace.HaveCred) {
		for i, k := range []string{"Uid", "Gid"} {
			got := p.UID
			if i == 1 {
				got = p.GID
			}
			var s []string
			for _, v := range got {
				s = append(s, strconv.FormatUint(uint64(v), 10))
			}
			if w := strings.Join(strings.Fields(status[k]), " "); strings.Join(s, " ") != w {
				t.Errorf("%s: kernel %v, /proc/%d/status %q", k, got, pid, w)
			}
		}
	}
	if p.Has(trace.HaveGroups) {
		var w []uint32
		for _, f := range strings.Fields(status["Groups"]) {
			v, _ := strconv.ParseUint(f, 10, 32)
			w = append(w, uint32(v))
		}
		slices.Sort(w)
		got := p.GroupList()
		if int(p.NGroups) != len(w) || !slices.Equal(got, w[:len(got)]) {
			t.Errorf("groups: kernel %d %v, /proc/%d/status %v", p.NGroups, got, pid, w)
		}
	}
	if p.Has(trace.HaveCaps) {
		for _, c := range []struct {
			key string
			v   uint64
		}{{"CapInh", p.Caps.Inheritable}, {"CapPrm", p.Caps.Permitted}, {"CapEff", p.Caps.Effective}, {"CapBnd", p.Caps.Bounding}, {"CapAmb", p.Caps.Ambient}} {
			w, err := strconv.ParseUint(status[c.key], 16, 64)
			if err != nil || w != c.v {
				t.Errorf("%s: kernel %#x, /proc/%d/status %q", c.key, c.v, pid, status[c.key])
			}
		}
	}
	if p.Has(trace.HaveNNP) {
		if w := status["NoNewPrivs"]; w != map[bool]string{false: "0", true: "1"}[p.NoNewPrivs] {
			t.Errorf("NoNewPrivs: kernel %v, /proc/%d/status %q", p.NoNewPrivs, pid, w)
		}
	}
	if p.Has(trace.HaveSeccomp) {
		if w := status["Seccomp"]; w != strconv.Itoa(int(p.SeccompMode)) {
			t.Errorf("Seccomp: kernel %d, /proc/%d/status %q", p.SeccompMode, pid, w)
		}
	}
	if p.Has(trace.HaveSeccompN) {
		if w, ok := status["Seccomp_filters"]; ok && w != strconv.Itoa(int(p.SeccompFilters)) {
			t.Errorf("Seccomp_filters: kernel %d, /proc/%d/status %q", p.SeccompFilters, pid, w)
		}
	}
	if p.Has(trace.HaveRlimits) {
		lim, err := procLimits(proc)
		if err != nil {
			t.Error(err)
		}
		for i, l := range lim {
			if l != p.Rlimits[i] {
				t.Errorf("rlimit %d: kernel %s:%s, /proc/%d/limits %s:%s", i, trace.RlimitString(p.Rlimits[i].Cur), trace.RlimitString(p.Rlimits[i].Max),
					pid, trace.RlimitString(l.Cur), trace.RlimitString(l.Max))
			}
		}
	}
	if p.Has(trace.HaveRoot) {
		checkRoot(t, pid, proc, p.Root)
	}
	if p.Has(trace.HaveCgroup) || p.Have&(1<<trace.NumV1-1)*trace.HaveCgroupV1 != 0 {
		checkCgroups(t, pid, proc, &p)
	}
	if p.Has(trace.HaveFile) {
		var st unix.Stat_t
		if err := unix.Stat(proc+"/exe", &st); err != nil {
			t.Errorf("stat %s/exe: %v", proc, err)
		} else if st.Mode != p.File.Mode || st.Uid != p.File.UID || st.Gid != p.File.GID {
			t.Errorf("file: kernel mode %o uid %d gid %d, stat %s/exe mode %o uid %d gid %d", p.File.Mode, p.File.UID, p.File.GID, proc, st.Mode, st.Uid, st.Gid)
		}
	}
}

// procStatus reads /proc/PID/status as KEY: value.
func procStatus(t testing.TB, proc string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(proc + "/status")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// procLimits reads /proc/PID/limits: one line per resource in RLIMIT_
// order (fs/proc/base.c, lnames), the soft and hard limits in columns of
// 20 after a name of 25.
func procLimits(proc string) ([trace.NumRlimits]trace.RlimitValue, error) {
	var out [trace.NumRlimits]trace.RlimitValue
	b, err := os.ReadFile(proc + "/limits")
	if err != nil {
		return out, err
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) != trace.NumRlimits+1 {
		return out, fmt.Errorf("%s/limits: %d lines", proc, len(lines))
	}
	parse := func(s string) uint64 {
		s = strings.TrimSpace(s)
		if s == "unlimited" {
			return trace.Unlimited
		}
		v, _ := strconv.ParseUint(s, 10, 64)
		return v
	}
	for i, l := range lines[1:] {
		if len(l) < 26+21+20 {
			return out, fmt.Errorf("%s/limits: short line %q", proc, l)
		}
		out[i] = trace.RlimitValue{Cur: parse(l[26:46]), Max: parse(l[47:67])}
	}
	return out, nil
}

// checkRoot: the mount the kernel names is the one /proc/PID/mountinfo
// lists at / with that id, device and type; stat -L /proc/PID/root shows
// the same inode and device where the filesystem's getattr reports the
// superblock's (not overlayfs); the mount's namespace is the process's.
func checkRoot(t testing.TB, pid int, proc string, r trace.RootView) {
	t.Helper()
	b, err := os.ReadFile(proc + "/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var line []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 5 && f[0] == strconv.Itoa(int(r.MountID)) {
			line = f
		}
	}
	if line == nil {
		t.Errorf("root: mount %d is not in %s/mountinfo", r.MountID, proc)
		return
	}
	fstype := ""
	for i, f := range line {
		if f == "-" && i+1 < len(line) {
			fstype = line[i+1]
		}
	}
	if want := fmt.Sprintf("%d:%d", r.Major(), r.Minor()); line[2] != want || line[4] != "/" || fstype != r.FSType {
		t.Errorf("root: kernel mount %d dev %s type %q, %s/mountinfo: dev %s mounted on %s type %q", r.MountID, want, r.FSType, proc, line[2], line[4], fstype)
	}
	var ns unix.Stat_t
	if err := unix.Stat(proc+"/ns/mnt", &ns); err != nil || ns.Ino != r.MntNS.Inode {
		t.Errorf("root: the mount's namespace %s, %s/ns/mnt inode %d (%v)", r.MntNS, proc, ns.Ino, err)
	}
	var st unix.Stat_t
	if err := unix.Stat(proc+"/root", &st); err != nil {
		t.Errorf("stat -L %s/root: %v", proc, err)
		return
	}
	if r.FSType == "overlay" {
		// overlayfs's getattr reports the inode of the layer a directory
		// comes from, and for a directory the overlay's own device: only
		// the device is compared.
		if st.Dev != unix.Mkdev(r.Major(), r.Minor()) {
			t.Errorf("root: kernel dev %d:%d, stat -L %s/root dev %d:%d", r.Major(), r.Minor(), proc, unix.Major(st.Dev), unix.Minor(st.Dev))
		}
		return
	}
	if st.Ino != r.Ino || st.Dev != unix.Mkdev(r.Major(), r.Minor()) {
		t.Errorf("root: kernel dev %d:%d inode %d, stat -L %s/root dev %d:%d inode %d", r.Major(), r.Minor(), r.Ino, proc, unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	}
}

// checkCgroups: each cgroup the kernel names is the directory that
// /proc/PID/cgroup lists for that hierarchy, by inode; on a cgroup2-only
// layout a controller's cgroup is the nearest ancestor (or self) of the
// cgroup2 directory that has the controller enabled.
func checkCgroups(t testing.TB, pid int, proc string, p *trace.Proof) {
	t.Helper()
	mounts := cgroupMounts(t)
	f, err := os.Open(proc + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v1 := map[string]string{} // controller -> directory
	v2 := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			if m, ok := mounts["cgroup2"]; ok {
				v2 = filepath.Join(m, parts[2])
			}
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if m, ok := mounts[c]; ok {
				v1[c] = filepath.Join(m, parts[2])
			}
		}
	}
	ino := func(dir string) uint64 {
		var st unix.Stat_t
		if err := unix.Stat(dir, &st); err != nil {
			t.Errorf("stat %s: %v", dir, err)
		}
		return st.Ino
	}
	if p.Has(trace.HaveCgroup) && v2 != "" {
		if w := ino(v2); w != p.CgroupV2 {
			t.Errorf("cgroup2: kernel %d, %s has inode %d (%s/cgroup)", p.CgroupV2, v2, w, proc)
		}
	}
	for c, name := range trace.V1Names {
		if !p.Has(trace.HaveCgroupV1 << c) {
			continue
		}
		if dir, ok := v1[name]; ok {
			if w := ino(dir); w != p.CgroupV1[c] {
				t.Errorf("cgroup %s: kernel %d, %s has inode %d (%s/cgroup)", name, p.CgroupV1[c], dir, w, proc)
			}
			continue
		}
		if v2 == "" {
			continue // no hierarchy of it mounted: nothing to compare
		}
		found := false
		for d := v2; strings.HasPrefix(d, mounts["cgroup2"]); d = filepath.Dir(d) {
			if ino(d) == p.CgroupV1[c] {
				found = true
				break
			}
			if d == mounts["cgroup2"] {
				break
			}
		}
		if !found {
			t.Errorf("cgroup %s: kernel %d is neither %s nor one of its ancestors", name, p.CgroupV1[c], v2)
		}
	}
}

// cgroupMounts maps each v1 controller, and "cgroup2", to where its
// hierarchy is mounted (the first mount of it, rooted at its top).
func cgroupMounts(t testing.TB) map[string]string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(l, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 3 || f[3] != "/" {
			continue
		}
		switch g[0] {
		case "cgroup2":
			if _, ok := m["cgroup2"]; !ok {
				m["cgroup2"] = f[4]
			}
		case "cgroup":
			for _, o := range strings.Split(g[2], ",") {
				if _, ok := m[o]; !ok {
					m[o] = f[4]
				}
			}
		}
	}
	return m
}
