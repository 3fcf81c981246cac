//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/rawns/rawns/internal/procfs"
	"golang.org/x/sys/unix"
)

// setupSandbox runs in init, PID 1 of the new namespaces, before any engine:
//
//   - the whole mount tree becomes private (MS_REC|MS_PRIVATE), so that no
//     mount made here propagates to the host's mount namespace: the one
//     line that keeps every overlay, shm and netns mount of the engines off
//     the host (mount_namespaces(7), "shared subtrees");
//   - a new proc for the new PID namespace (podman and conmon look up their
//     own pids in it);
//   - a new sysfs, so that /sys/class/net shows this network namespace's
//     links, not the host's (sysfs shows the netns of whoever mounted it),
//     and under it the cgroup hierarchies (cgroupMounts);
//   - TMP/run over /run and TMP/varlib over /var/lib: what the engines and
//     their tools keep there by default and cannot be told otherwise (runc's
//     /run/runc when podman calls `state` with no --root, the runc shim's
//     sockets in /run/containerd, the named network namespaces in
//     /run/netns, CNI's IPAM leases and cache in /var/lib/cni) lands in the
//     run's temporary directory; TMP/etcdocker over /etc/docker, where
//     dockerd 20.10 writes its key.json whatever its flags say, and TMP/opt
//     over /opt, where the containerd that dockerd starts keeps its
//     /opt/containerd (dockerd gives it no config for that plugin);
//   - the loopback link up, for the registry on 127.0.0.1.
func setupSandbox(tmp string) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making / private: %w", err)
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}
	park := filepath.Join(tmp, ".cgroup")
	if err := os.Mkdir(park, 0o700); err != nil {
		return err
	}
	if err := unix.Mount("/sys/fs/cgroup", park, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("keeping /sys/fs/cgroup: %w", err)
	}
	if err := unix.Mount("sysfs", "/sys", "sysfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /sys: %w", err)
	}
	if err := cgroupMounts(park); err != nil {
		return err
	}
	if err := unix.Unmount(park, unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmounting %s: %w", park, err)
	}
	if err := os.Remove(park); err != nil {
		return err
	}
	for _, b := range [][2]string{{"run", "/run"}, {"varlib", "/var/lib"}, {"etcdocker", "/etc/docker"}, {"opt", "/opt"}} {
		src := filepath.Join(tmp, b[0])
		if err := os.Mkdir(src, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(src, b[1], "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s over %s: %w", src, b[1], err)
		}
	}
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		return fmt.Errorf("ip link set lo up: %v: %s", err, out)
	}
	return nil
}

// cgroupMounts puts the host's cgroup hierarchies, kept at park, on a new
// tmpfs at /sys/fs/cgroup, read-only, as a container engine lays them out.
// Not the host's own /sys/fs/cgroup tmpfs: a runtime that writes where no
// hierarchy is mounted (a hidden one) would write into it, and the files
// would stay on the host below its mounts. make e2e-bench leaves cgroup2's
// unified hierarchy out (RAWNS_E2E_HIDE_UNIFIED=1): crun 1.8 refuses this
// host's hybrid layout, and every runtime then sees the same v1 layout.
func cgroupMounts(park string) error {
	if err := unix.Mount("cgroup", "/sys/fs/cgroup", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=755"); err != nil {
		return fmt.Errorf("mounting a tmpfs on /sys/fs/cgroup: %w", err)
	}
	ms, err := readMounts()
	if err != nil {
		return err
	}
	for _, m := range ms {
		if filepath.Dir(m.target) != park {
			continue
		}
		name := filepath.Base(m.target)
		if name == "unified" && os.Getenv("RAWNS_E2E_HIDE_UNIFIED") == "1" {
			continue
		}
		dst := filepath.Join("/sys/fs/cgroup", name)
		if err := os.Mkdir(dst, 0o755); err != nil && !os.IsExist(err) {
			return err
		}
		if err := unix.Mount(m.target, dst, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s: %w", dst, err)
		}
	}
	// Links such as cpu,cpuacct -> cpu where the host has them.
	ents, _ := os.ReadDir(park)
	for _, e := range ents {
		if e.Type()&os.ModeSymlink != 0 {
			if l, err := os.Readlink(filepath.Join(park, e.Name())); err == nil {
				os.Symlink(l, filepath.Join("/sys/fs/cgroup", e.Name()))
			}
		}
	}
	return unix.Mount("", "/sys/fs/cgroup", "", unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=755")
}

// sandboxNS are the sandbox's namespaces, as the host sees them.
type sandboxNS struct {
	net, mnt, pid uint64 // inode numbers (nsfs)
}

func sandboxNamespaces(pid int) sandboxNS {
	ino := func(kind string) uint64 {
		var st unix.Stat_t
		if unix.Stat(fmt.Sprintf("/proc/%d/ns/%s", pid, kind), &st) != nil {
			return 0
		}
		return st.Ino
	}
	return sandboxNS{net: ino("net"), mnt: ino("mnt"), pid: ino("pid")}
}

// mount is one line of /proc/self/mountinfo, the fields a leak is told by.
type mount struct {
	id     string
	root   string // for an nsfs mount, the namespace: "net:[4026532000]"
	target string
	fstype string
	source string
	super  string // the superblock's options: a cgroup v1 hierarchy's controllers
}

func (m mount) String() string { return fmt.Sprintf("%s (%s from %s)", m.target, m.fstype, m.source) }

// readMounts reads /proc/self/mountinfo (proc(5)).
func readMounts() ([]mount, error) {
	return parseMountinfo("/proc/self/mountinfo")
}

func parseMountinfo(path string) ([]mount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ms []mount
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(tail) < 2 {
			continue
		}
		ms = append(ms, mount{id: fields[0], root: procfs.Unescape(fields[3]), target: procfs.Unescape(fields[4]), fstype: tail[0], source: tail[1], super: strings.Join(tail[2:], " ")})
	}
	return ms, sc.Err()
}

// newMounts lists the mounts of after that were not in before (by mount id,
// which the kernel never reuses while the mount lives).
func newMounts(before, after []mount) []string {
	had := make(map[string]bool, len(before))
	for _, m := range before {
		had[m.id] = true
	}
	var out []string
	for _, m := range after {
		if !had[m.id] {
			out = append(out, m.String())
		}
	}
	return out
}

// processesExcept lists the processes of this PID namespace's /proc other
// than the given pids, as "PID (comm) cmdline".
func processesExcept(skip ...int) []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || contains(skip, pid) {
			continue
		}
		out = append(out, describeProcess(pid))
	}
	sort.Strings(out)
	return out
}

func describeProcess(pid int) string {
	comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	args := strings.ReplaceAll(strings.TrimRight(string(cmdline), "\x00"), "\x00", " ")
	if len(args) > 160 {
		args = args[:160] + "..."
	}
	return fmt.Sprintf("%d (%s) %s", pid, strings.TrimSpace(string(comm)), args)
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}
