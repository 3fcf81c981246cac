package cgroup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	cg, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	return parseLayout(mi, cg)
}

func parseLayout(mountinfo, selfCgroup []byte) (*Layout, error) {
	// /proc/self/cgroup: "ID:CONTROLLERS:PATH"; ID 0 with empty
	// controllers is cgroup2.
	own1 := map[string]string{} // "cpu,cpuacct" -> path
	own2, have2 := "", false
	for _, l := range strings.Split(string(selfCgroup), "\n") {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			own2, have2 = parts[2], true
			continue
		}
		own1[parts[1]] = parts[2]
	}
	lay := &Layout{V1: map[string]*Hierarchy{}}
	sc := bufio.NewScanner(bytes.NewReader(mountinfo))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f, p := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(p) < 3 {
			continue
		}
		root, mnt := unescape(f[3]), unescape(f[4])
		switch p[0] {
		case "cgroup2":
			if !have2 || lay.V2 != nil {
				continue
			}
			if dir, ok := under(mnt, root, own2); ok {
				lay.V2 = &Hierarchy{Version: 2, Mount: mnt, Own: dir, root: root}
			}
		case "cgroup":
			var ctrls []string
			for _, o := range strings.Split(p[2], ",") {
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

// under returns the directory of cgroup path (relative to the cgroup
// namespace's root) in a mount of the hierarchy's subtree root.
func under(mnt, root, path string) (string, bool) {
	rel, err := filepath.Rel(root, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", false
	}
	return filepath.Join(mnt, rel), true
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			var v byte
			ok := true
			for _, c := range []byte(s[i+1 : i+4]) {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				v = v*8 + c - '0'
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// v2Controllers returns the controllers the v2 cgroup dir may enable for
// its children (its cgroup.controllers).
func v2Controllers(dir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
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
