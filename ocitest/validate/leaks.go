package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rawns/rawns/internal/procfs"
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
	b, err := procfs.Read("/proc/self/mountinfo", nil)
	if err != nil {
		return nil
	}
	ms, err := procfs.Mounts(b)
	if err != nil {
		return nil
	}
	var mounts []string
	for _, m := range ms {
		if m.FSType == "cgroup" || m.FSType == "cgroup2" {
			mounts = append(mounts, m.Point)
		}
	}
	return mounts
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

// suiteMade drops from dirs the cgroup a test makes itself and leaves
// when it fails early (util.Fatal exits before its deferred RemoveAll):
// delete_only_create_resources's /sys/fs/cgroup/pids/cgrouptest. It is
// removed all the same, and not counted against the runtime.
func suiteMade(test string, dirs []string) []string {
	if test != "delete_only_create_resources" {
		return dirs
	}
	var out []string
	for _, d := range dirs {
		if d != "/sys/fs/cgroup/pids/cgrouptest" {
			out = append(out, d)
		}
	}
	return out
}
