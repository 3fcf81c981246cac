//go:build e2e

package e2e

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The host check looks only at what this run could have left, because
// other tests run on the same machine at the same time and make cgroups,
// links and mounts of their own: the cgroups named after the run or after
// the engines' own parents, links and rules named the way the engines name
// them, processes and mounts in the sandbox's namespaces or under its
// temporary directory, and the state directories the engines use by
// default.

// cgroupMarkers are the cgroup names the engines of a run make: the run's
// own parent (the temporary directory's name, given to podman, ctr and
// dockerd as their cgroup parent) and the parent critest gives containerd's
// CRI plugin (it asks for /test.slice when the runtime does not say which
// cgroup driver it has, as containerd 1.6 does not). Not the engines'
// defaults (libpod_parent, docker, k8s.io): podman or docker run on the
// host by someone else makes those too; the tests always pass a parent.
func cgroupMarkers(tmp string) []string {
	return []string{filepath.Base(tmp), "test.slice"}
}

// linkMarker matches the links the engines make: docker0, cni-podman0,
// the CRI bridge, their veths, and the probes of TestLeakCheck.
var linkMarker = regexp.MustCompile(`^(veth|cni|docker|br-|podman|e2e)`)

// ruleMarker matches the iptables/nft rules and chains the engines make.
var ruleMarker = regexp.MustCompile(`DOCKER|CNI-|cni|podman|KUBE|rawns-e2e|10\.88\.|172\.17\.|10\.77\.`)

// statePaths are where the engines and runtimes keep state by default; the
// sandbox's bind mounts send all of it to the temporary directory, so any
// of it here means the sandbox leaked. Other tests on the machine use the
// same places (runc's /run/runc, a podman run on the host), so only what
// is this run's counts: an entry named like its containers and networks
// (e2e-..., rawns-e2e-...), or a runtime's state directory whose state.json
// names the run's directory (the bundle and root of every container of the
// run are in it). Three levels deep: /run/containerd/runc/NAMESPACE/ID.
var statePaths = []string{
	"/run/runc", "/run/crun", "/run/rawns", "/run/containerd", "/run/docker", "/run/libpod",
	"/run/containers", "/run/netns", "/run/podman", "/var/lib/containers", "/var/lib/docker",
	"/var/lib/containerd", "/var/lib/cni", "/etc/cni/net.d", "/opt/containerd",
}

var ourEntry = regexp.MustCompile(`(^|-)e2e(-|$)`)

// hostSnapshot is what checkHost compares against.
type hostSnapshot struct {
	cgroups map[string]bool // hierarchy/relative path of every cgroup with a marker
	links   map[string]bool
	rules   map[string]bool
	state   map[string]bool // every entry of statePaths, and what is in them
	netns   map[string]bool // /run/netns entries
}

func snapshotHost(tmp string) (hostSnapshot, error) {
	s := hostSnapshot{
		cgroups: cgroupDirs(cgroupMarkers(tmp)),
		links:   links(),
		rules:   rules(),
		state:   stateEntries(tmp),
	}
	return s, nil
}

// checkHost runs on the host after the sandbox is gone. It returns one line
// per thing left behind.
func checkHost(before hostSnapshot, tmp string, ns sandboxNS) []string {
	var leaks []string
	leaks = append(leaks, processLeaks(ns, tmp, 1)...)
	mounts, err := readMounts()
	if err != nil {
		leaks = append(leaks, "cannot read the host's mount table: "+err.Error())
	}
	leaks = append(leaks, mountLeaks(mounts, tmp, ns)...)
	leaks = append(leaks, newOnes("cgroup", before.cgroups, cgroupDirs(cgroupMarkers(tmp)))...)
	leaks = append(leaks, newOnes("link", before.links, links())...)
	leaks = append(leaks, newOnes("iptables/nft rule", before.rules, rules())...)
	leaks = append(leaks, newOnes("state", before.state, stateEntries(tmp))...)
	if ns.net != 0 && netnsAlive(ns.net) {
		leaks = append(leaks, fmt.Sprintf("the sandbox's network namespace net:[%d] is still held", ns.net))
	}
	return leaks
}

// removeRunDir removes the run's directory, unless a mount is left under
// it (RemoveAll would then delete the mounted files too); the engines' logs
// of a failed run are kept in bin/e2e/failed-run-logs first.
func removeRunDir(tmp string, failed bool) error {
	if failed {
		keep := filepath.Join(repoRoot(), "bin", "e2e", "failed-run-logs")
		os.RemoveAll(keep)
		os.MkdirAll(filepath.Dir(keep), 0o755)
		if err := exec.Command("cp", "-a", filepath.Join(tmp, "logs"), keep).Run(); err == nil {
			fmt.Fprintln(os.Stderr, "e2e: the engines' logs of this run are in", keep)
		}
	}
	ms, err := readMounts()
	if err != nil {
		return err
	}
	if l := mountLeaks(ms, tmp, sandboxNS{}); len(l) > 0 {
		return fmt.Errorf("%s kept: %s", tmp, strings.Join(l, "; "))
	}
	return os.RemoveAll(tmp)
}

// processLeaks lists the processes in the sandbox's namespaces, or whose
// command line names its temporary directory, other than skip (the
// caller's own pid namespace init, when run inside).
func processLeaks(ns sandboxNS, tmp string, skip ...int) []string {
	self := os.Getpid()
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil || pid == self || contains(skip, pid) {
			continue
		}
		in := false
		for kind, ino := range map[string]uint64{"net": ns.net, "pid": ns.pid, "mnt": ns.mnt} {
			var st unix.Stat_t
			if ino != 0 && unix.Stat(fmt.Sprintf("/proc/%d/ns/%s", pid, kind), &st) == nil && st.Ino == ino {
				in = true
			}
		}
		if !in {
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			in = strings.Contains(string(cmdline), tmp)
		}
		if in {
			out = append(out, "process "+describeProcess(pid))
		}
	}
	return out
}

// mountLeaks lists the mounts under tmp, from it, or of the sandbox's
// network namespace (an nsfs bind mount keeps a namespace alive).
func mountLeaks(mounts []mount, tmp string, ns sandboxNS) []string {
	var out []string
	nsRoot := fmt.Sprintf("net:[%d]", ns.net)
	for _, m := range mounts {
		if strings.HasPrefix(m.target, tmp+"/") || m.target == tmp || strings.HasPrefix(m.source, tmp) ||
			(ns.net != 0 && m.root == nsRoot) {
			out = append(out, "mount "+m.String())
		}
	}
	return out
}

// netnsAlive reports whether a process holds the network namespace ino (as
// its own or through an open fd). A mount of it is found by mountLeaks. An
// fd opened through a bind mount reads as the mount's path, not
// "net:[INO]", so fds are compared by stat(2): nsfs's device and the
// namespace's inode.
func netnsAlive(ino uint64) bool {
	var self unix.Stat_t
	if unix.Stat("/proc/self/ns/net", &self) != nil {
		return false
	}
	paths, _ := filepath.Glob("/proc/[0-9]*/ns/net")
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, p := range append(paths, fds...) {
		var st unix.Stat_t
		if unix.Stat(p, &st) == nil && st.Dev == self.Dev && st.Ino == ino {
			return true
		}
	}
	return false
}

// cgroupDirs walks every cgroup hierarchy and returns the directories whose
// path has one of the markers as a component.
func cgroupDirs(markers []string) map[string]bool {
	out := make(map[string]bool)
	hier, _ := os.ReadDir("/sys/fs/cgroup")
	for _, h := range hier {
		root := filepath.Join("/sys/fs/cgroup", h.Name())
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() || p == root {
				return nil
			}
			rel, _ := filepath.Rel("/sys/fs/cgroup", p)
			for _, c := range strings.Split(rel, "/")[1:] {
				for _, m := range markers {
					if c == m || (m == filepath.Base(m) && strings.HasPrefix(c, m+"-")) {
						out[rel] = true
					}
				}
			}
			return nil
		})
	}
	return out
}

// links lists the network links of the calling process's network namespace
// that look like an engine's (sysfs shows the namespace of its mounter,
// which for the host stage is the host's and in the sandbox the sandbox's).
func links() map[string]bool {
	out := make(map[string]bool)
	ents, _ := os.ReadDir("/sys/class/net")
	for _, e := range ents {
		if linkMarker.MatchString(e.Name()) {
			out[e.Name()] = true
		}
	}
	return out
}

// rules lists the iptables rules and chains (both families, through
// whichever backend iptables-save has) that look like an engine's.
func rules() map[string]bool {
	out := make(map[string]bool)
	for _, tool := range []string{"iptables-save", "ip6tables-save"} {
		b, err := exec.Command(tool).Output()
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "#") || !ruleMarker.MatchString(l) {
				continue
			}
			if strings.HasPrefix(l, ":") { // ":CHAIN POLICY [packets:bytes]": drop the counters
				l = strings.Fields(l)[0]
			}
			out[tool+": "+l] = true
		}
	}
	if b, err := exec.Command("nft", "list", "tables").Output(); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if ruleMarker.MatchString(l) {
				out["nft: "+l] = true
			}
		}
	}
	return out
}

// stateEntries lists the entries of statePaths, three levels deep, that
// are this run's (see statePaths).
func stateEntries(tmp string) map[string]bool {
	out := make(map[string]bool)
	for _, root := range statePaths {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || p == root {
				return nil
			}
			if ourEntry.MatchString(d.Name()) || strings.Contains(d.Name(), filepath.Base(tmp)) {
				out[p] = true
			} else if d.IsDir() {
				if b, err := os.ReadFile(filepath.Join(p, "state.json")); err == nil && strings.Contains(string(b), tmp) {
					out[p] = true
				}
			}
			rel, _ := filepath.Rel(root, p)
			if d.IsDir() && strings.Count(rel, "/") >= 2 {
				return filepath.SkipDir
			}
			return nil
		})
	}
	return out
}

// newOnes lists what is in after and not in before.
func newOnes(what string, before, after map[string]bool) []string {
	var out []string
	for k := range after {
		if !before[k] {
			out = append(out, what+" "+k)
		}
	}
	sort.Strings(out)
	return out
}

// cgroupTreeLeaks is the sandbox-side check of the run's cgroup parent, run
// after every engine stopped: each hierarchy may hold the parent and the
// engines' own empty parents below it (podman keeps a conmon cgroup,
// dockerd and ctr their parent), never a container's cgroup. It removes
// what is left, deepest first, so the host check sees none of it, and
// returns the container cgroups it found and any it could not remove.
func cgroupTreeLeaks(parent string, keep func(rel string) bool) []string {
	var leaks []string
	hier, _ := os.ReadDir("/sys/fs/cgroup")
	for _, h := range hier {
		root := filepath.Join("/sys/fs/cgroup", h.Name(), parent)
		var dirs []string
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			rel, _ := filepath.Rel(root, dirs[i])
			if rel != "." && !keep(rel) {
				leaks = append(leaks, "cgroup "+dirs[i]+" (a container's, left by its runtime)")
			}
			if err := rmdirRetry(dirs[i]); err != nil {
				leaks = append(leaks, fmt.Sprintf("cgroup %s cannot be removed: %v (processes: %s)", dirs[i], err, cgroupProcs(dirs[i])))
			}
		}
	}
	return leaks
}

// rmdirRetry removes an empty cgroup. A cgroup whose last process has just
// exited is EBUSY for a moment (the kernel frees it asynchronously).
func rmdirRetry(dir string) error {
	var err error
	for i := 0; i < 20; i++ {
		if err = unix.Rmdir(dir); err == nil || err == unix.ENOENT {
			return nil
		}
		if err != unix.EBUSY {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

func cgroupProcs(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	return strings.Join(strings.Fields(string(b)), " ")
}
