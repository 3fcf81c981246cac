package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rawns/rawns/internal/procfs"
)

// Layout is where the cgroup hierarchies are mounted and where the caller
// stands in each, read from /proc/self/mountinfo and /proc/self/cgroup.
// Three shapes exist (cgroups(7)):
//   - unified: one cgroup2 hierarchy holds every controller (Debian 11+,
//     Fedora 31+, the vmtest's kernels);
//   - hybrid: each v1 controller has its own hierarchy, and a cgroup2
//     hierarchy with no controllers sits beside them (systemd's hybrid
//     mode; this project's development host, at /sys/fs/cgroup/unified);
//   - legacy: v1 hierarchies only.
//
// A controller is in use in one hierarchy at most, v1 or v2.
type Layout struct {
	// V2 is the cgroup2 hierarchy, or nil.
	V2 *Hierarchy
	// V1 maps a v1 controller name (memory, pids, cpu, ...) to its
	// hierarchy; co-mounted controllers (cpu,cpuacct) share one.
	V1 map[string]*Hierarchy
}

// Hierarchy is one mounted cgroup hierarchy.
type Hierarchy struct {
	Version int    // 1 or 2
	Mount   string // its mount point
	// Own is the directory of the calling process's cgroup in it.
	Own string
	// Controllers are, for v1, the controllers bound to the hierarchy.
	Controllers []string

	root string // the subtree of the hierarchy the mount shows
}

// ReadLayout reads the layout of the calling process. It costs two small
// /proc reads and is done only when limits are asked for.
func ReadLayout() (*Layout, error) {
	mi, err := procfs.Read("/proc/self/mountinfo", nil)
	if err != nil {
		return nil, err
	}
	// /proc/self/cgroup: a line per hierarchy, about 150 bytes on a
	// hybrid host and 300-400 on busier ones; procfs.Read grows past it.
	// Not 4 KiB on the stack: that frame made the main goroutine's stack
	// grow (and be copied) once more in every create and run.
	var buf [512]byte
	cg, err := procfs.Read("/proc/self/cgroup", buf[:])
	if err != nil {
		return nil, err
	}
	return parseLayout(mi, cg)
}

func parseLayout(mountinfo, selfCgroup []byte) (*Layout, error) {
	// /proc/self/cgroup: "ID:CONTROLLERS:PATH"; ID 0 with empty
	// controllers is cgroup2.
	own1, own2, have2 := ownCgroups(selfCgroup)
	mounts, err := cgroupMounts(mountinfo)
	if err != nil {
		return nil, err
	}
	lay := &Layout{V1: map[string]*Hierarchy{}}
	for _, m := range mounts {
		root, mnt := m.Root, m.Point
		switch m.FSType {
		case "cgroup2":
			if !have2 || lay.V2 != nil {
				continue
			}
			if dir, ok := under(mnt, root, own2); ok {
				lay.V2 = &Hierarchy{Version: 2, Mount: mnt, Own: dir, root: root}
			}
		case "cgroup":
			var ctrls []string
			for _, o := range strings.Split(m.SuperOptions, ",") {
				switch o {
				case "rw", "ro", "noprefix", "clone_children", "xattr", "cpuset_v2_mode", "favordynmods":
				default:
					if !strings.Contains(o, "=") {
						ctrls = append(ctrls, o)
					}
				}
			}
			path, ok := own1[strings.Join(ctrls, ",")]
			if !ok || len(ctrls) == 0 {
				continue
			}
			dir, ok := under(mnt, root, path)
			if !ok {
				continue
			}
			h := &Hierarchy{Version: 1, Mount: mnt, Own: dir, Controllers: ctrls, root: root}
			for _, c := range ctrls {
				if lay.V1[c] == nil {
					lay.V1[c] = h
				}
			}
		}
	}
	if lay.V2 == nil && len(lay.V1) == 0 {
		return nil, errors.New("no cgroup hierarchy is mounted (no cgroup or cgroup2 in /proc/self/mountinfo)")
	}
	return lay, nil
}

// ownCgroups reads /proc/self/cgroup: the caller's path in each v1
// hierarchy by its controllers ("cpu,cpuacct" -> path), and in cgroup2
// (ID 0, no controllers), if it is in one. In place, as procfs.Cgroups
// parses it (lines that are not "ID:CONTROLLERS:PATH" skipped), without a
// string and a slice per line: every fresh allocation size is a fresh
// page here (TestOwnCgroupsMatchesParse).
func ownCgroups(selfCgroup []byte) (own1 map[string]string, own2 string, have2 bool) {
	own1 = make(map[string]string, 16)
	for rest := selfCgroup; len(rest) > 0; {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte{'\n'})
		id, after, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		ctrls, path, ok := bytes.Cut(after, []byte{':'})
		if !ok {
			continue
		}
		if string(id) == "0" && len(ctrls) == 0 {
			own2, have2 = string(path), true
			continue
		}
		own1[string(ctrls)] = string(path)
	}
	return own1, own2, have2
}

// cgroupMounts returns the cgroup and cgroup2 mounts of mountinfo that no
// later mount covers (covered), parsed. The other lines are only checked
// and looked at for their mount point, in place: a host or an engine's
// sandbox has hundreds of mounts, and parsing each (procfs.Mounts: a Mount
// and its strings per line) made every `rawns-oci delete` and `run` page
// in ~25 fresh heap pages (~12 µs each on the development VM).
func cgroupMounts(mountinfo []byte) ([]procfs.Mount, error) {
	out := make([]procfs.Mount, 0, 16) // a hybrid host has a dozen
	rest := mountinfo
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte{'\n'})
		if len(line) == 0 {
			continue
		}
		point, fstype, ok := mountPointType(line)
		if !ok {
			return nil, errors.New("mountinfo: malformed line " + strconv.Quote(string(line)))
		}
		if string(fstype) != "cgroup" && string(fstype) != "cgroup2" || coveredLater(point, rest) {
			continue
		}
		ms, err := procfs.Mounts(line)
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	return out, nil
}

// mountPointType returns the mount point (field 5) and the file system
// type (the field after " - ") of a mountinfo line, as they are written
// (escaped).
func mountPointType(line []byte) (point, fstype []byte, ok bool) {
	pre, post, ok := bytes.Cut(line, []byte(" - "))
	if !ok {
		return nil, nil, false
	}
	for i := 0; i < 4; i++ {
		j := bytes.IndexByte(pre, ' ')
		if j < 0 {
			return nil, nil, false
		}
		pre = pre[j+1:]
	}
	if j := bytes.IndexByte(pre, ' '); j >= 0 {
		point = pre[:j]
	} else {
		return nil, nil, false
	}
	fstype = post
	if j := bytes.IndexByte(post, ' '); j >= 0 {
		fstype = post[:j]
	}
	return point, fstype, len(point) > 0 && len(fstype) > 0
}

// coveredLater reports whether the mount on point is hidden by a mount
// made after it (a line of later) on its mount point or on a directory
// above it: its path then leads into the later mount, not to it. A
// container engine's sandbox mounts a new sysfs on /sys and binds the
// hierarchies it wants back below it, and the old ones stay in mountinfo,
// shadowed: one left out (cgroup2's
// /sys/fs/cgroup/unified, hidden so that crun 1.8 takes a hybrid host)
// is not there, and runc and crun, which statfs the paths, then use the
// v1 hierarchies alone. mountinfo lists the mounts in the order they were
// made (mount ids, Linux 6.8+; the namespace's list before); a mount on /
// is not counted, since pivot_root(2) can leave the root after its
// submounts.
func coveredLater(point, later []byte) bool {
	p := procfs.Unescape(string(point))
	for len(later) > 0 {
		var line []byte
		line, later, _ = bytes.Cut(later, []byte{'\n'})
		n, _, ok := mountPointType(line)
		if !ok || string(n) == "/" {
			continue
		}
		np := string(n)
		if bytes.IndexByte(n, '\\') >= 0 {
			np = procfs.Unescape(np)
		}
		if np == p || strings.HasPrefix(p, np+"/") {
			return true
		}
	}
	return false
}

// under returns the directory of cgroup path (relative to the cgroup
// namespace's root) in a mount of the hierarchy's subtree root.
func under(mnt, root, path string) (string, bool) {
	rel, err := filepath.Rel(root, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", false
	}
	return filepath.Join(mnt, rel), true
}

// v2Controllers returns the controllers the v2 cgroup dir may enable for
// its children (its cgroup.controllers).
func v2Controllers(dir string) ([]string, error) {
	b, err := procfs.Read(filepath.Join(dir, "cgroup.controllers"), make([]byte, 512))
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(b)), nil
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// String describes the layout in one line, for -v and errors.
func (l *Layout) String() string {
	var b strings.Builder
	switch {
	case l.V2 != nil && len(l.V1) == 0:
		b.WriteString("cgroup v2 (unified)")
	case l.V2 != nil:
		b.WriteString("cgroup v1+v2 (hybrid)")
	default:
		b.WriteString("cgroup v1 (legacy)")
	}
	if l.V2 != nil {
		fmt.Fprintf(&b, " v2 at %s", l.V2.Mount)
	}
	return b.String()
}
