package main

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The suite names its containers with random UUIDs; the wrapper records
// every command line the suite gave the runtime, and these are the ids
// found there.
var uuidRE = regexp.MustCompile(`\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)

// containerIDs returns the container ids in the wrapper's call log.
func containerIDs(calls []byte) []string {
	var ids []string
	for _, id := range uuidRE.FindAllString(string(calls), -1) {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// The cgroup paths the cgroup tests give every runtime: validation/util's
// cgroups.AbsCgroupPath (/cgrouptest) and RelCgroupPath (testdir/cgroup...),
// which a runtime may resolve at a hierarchy's root or below its own cgroup.
var suiteCgroupNames = []string{"cgrouptest", "testdir"}

// cgroupMounts returns the mount points of every cgroup and cgroup2
// hierarchy in the harness's (the host's) mount namespace.
func cgroupMounts() []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var mounts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// mountinfo(5): ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE SOURCE SUPEROPTS
		fields := strings.Fields(sc.Text())
		sep := slices.Index(fields, "-")
		if sep < 0 || sep+1 >= len(fields) || len(fields) < 5 {
			continue
		}
		if t := fields[sep+1]; t == "cgroup" || t == "cgroup2" {
			mounts = append(mounts, unescapeMountinfo(fields[4]))
		}
	}
	return mounts
}

// unescapeMountinfo undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// findCgroups returns the cgroup directories, in every hierarchy, named
// as one of ids anywhere (to a small depth: containers' cgroups sit at a
// hierarchy's root or a few levels below the caller's own cgroup), or as
// one of the suite's fixed names at a hierarchy's root or right below the
// harness's own cgroup (common words, never looked for elsewhere); with
// their children, deepest first (the order rmdir needs).
func findCgroups(ids []string, suiteNames bool) []string {
	const maxDepth = 8
	var found []string
	own := ownCgroups()
	for _, m := range cgroupMounts() {
		base := strings.Count(m, "/")
		filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			if strings.Count(p, "/")-base > maxDepth {
				return filepath.SkipDir
			}
			if p != m && slices.Contains(ids, d.Name()) {
				found = append(found, p)
			}
			return nil
		})
		if !suiteNames {
			continue
		}
		for _, o := range own {
			for _, n := range suiteCgroupNames {
				if p := filepath.Join(m, o, n); isDir(p) {
					found = append(found, p)
				}
			}
		}
	}
	var all []string
	for _, p := range found {
		filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() && !slices.Contains(all, q) {
				all = append(all, q)
			}
			return nil
		})
	}
	slices.SortFunc(all, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	return all
}

// ownCgroups returns the harness's cgroup paths (/proc/self/cgroup), each
// relative to its hierarchy's root, "/" included.
func ownCgroups() []string {
	own := []string{"/"}
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return own
	}
	for _, line := range strings.Split(string(b), "\n") {
		// cgroups(7): hierarchy-ID:controller-list:cgroup-path
		if parts := strings.SplitN(line, ":", 3); len(parts) == 3 && !slices.Contains(own, parts[2]) {
			own = append(own, parts[2])
		}
	}
	return own
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// removeCgroups kills whatever still runs in each directory and removes
// it; it returns what could not be removed.
func removeCgroups(dirs []string) []string {
	var stuck []string
	for _, d := range dirs {
		for try := 0; ; try++ {
			if b, err := os.ReadFile(filepath.Join(d, "cgroup.procs")); err == nil {
				for _, f := range strings.Fields(string(b)) {
					if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
						syscall.Kill(pid, syscall.SIGKILL)
					}
				}
			}
			err := syscall.Rmdir(d)
			if err == nil || err == syscall.ENOENT {
				break
			}
			if try == 20 {
				stuck = append(stuck, d+": "+err.Error())
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return stuck
}
