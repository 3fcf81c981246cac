package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Options say where to make a run's cgroup and what to limit.
type Options struct {
	Resources Resources
	// Parent is where the run's cgroup is made, in every hierarchy used.
	// Empty: the caller's own cgroup, so that the run's limits nest inside
	// the caller's and nothing escapes them. Relative: below the caller's
	// own cgroup. Absolute: from the hierarchy's root. Missing directories
	// are created and left in place (they are the user's).
	Parent string
	// Layout is the host's; nil reads it (ReadLayout).
	Layout *Layout
	// Stats asks for the memory and pids controllers even when no limit
	// needs them, for Stats' peak memory and peak pids.
	Stats bool
	// Name, if set, is the cgroup's directory name below Parent instead
	// of rawns-PID-START-SEQ: an OCI container's cgroup, which outlives
	// the process that makes it and is found again by its directories
	// (Load). CleanStale never takes such a cgroup for a stale run's.
	Name string
	// Optional are controllers the cgroup joins when the host has them,
	// though no limit needs them now: an OCI container's cgroup is
	// updated, paused and measured later (Update, Freeze, Pids).
	Optional []string
}

// Error is a failure that one resource is to blame for. Limit names it the
// way rawns run's flags do ("memory", "pids", "cpus", "cpu-weight",
// "cpuset-cpus", "memory-swap", "cgroup-parent"), so that the command line
// can name the flag.
type Error struct {
	Limit string
	Err   error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func limitErr(limit string, format string, a ...any) error {
	return &Error{Limit: limit, Err: fmt.Errorf(format, a...)}
}

// backend is what each cgroup version implements for one run's cgroup,
// after crun's split of cgroup managers (libcrun/cgroup-internal.h): make
// the directories and write the limits; kill everything inside; remove;
// read the statistics.
type backend interface {
	create(res *Resources) error
	kill() error
	remove() error
	stats(*Stats)
}

// Cgroup is one run's cgroup: a directory in the cgroup2 hierarchy, in the
// v1 hierarchies of the controllers it limits, or both (hybrid layout).
type Cgroup struct {
	// Name is the directory name in every hierarchy: rawns-PID-START-SEQ,
	// the creating process's pid and start time (so that a later run can
	// tell whether its creator is gone) and a per-process counter.
	Name string

	layout *Layout
	res    Resources
	v2     *v2Group // nil when the layout has no cgroup2 hierarchy
	v1     *v1Group // nil when no v1 controller is used
	parent string
}

var seq atomic.Uint64

// New makes the run's cgroup and writes its limits, before anything is
// started in it. Close removes it. On error nothing is left behind.
func New(opts Options) (*Cgroup, error) {
	if err := opts.Resources.Validate(); err != nil {
		return nil, err
	}
	lay := opts.Layout
	if lay == nil {
		var err error
		if lay, err = ReadLayout(); err != nil {
			return nil, err
		}
	}
	start, err := selfStart()
	if err != nil {
		return nil, err
	}
	c := &Cgroup{
		Name:   "rawns-" + strconv.Itoa(os.Getpid()) + "-" + start + "-" + strconv.FormatUint(seq.Add(1), 10),
		layout: lay,
		res:    opts.Resources,
		parent: opts.Parent,
	}
	if opts.Name != "" {
		if opts.Name != filepath.Base(opts.Name) || opts.Name == "." || opts.Name == ".." {
			return nil, limitErr("cgroup-parent", "cgroup name %q: give one directory name", opts.Name)
		}
		c.Name = opts.Name
	}
	if err := c.assign(opts.Stats, opts.Optional); err != nil {
		return nil, err
	}
	for _, b := range c.backends() {
		if err := b.create(&c.res); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// wanted lists the controllers the resources need, with the limit each
// serves (for errors); optional ones serve statistics only.
func wanted(r *Resources, stats bool, extra []string) (need map[string]string, optional []string) {
	need = map[string]string{}
	if r.Memory.Limit != 0 {
		need["memory"] = "memory"
	}
	if r.Pids.Limit != 0 {
		need["pids"] = "pids"
	}
	switch {
	case r.CPU.Quota != 0 || r.CPU.Period != 0:
		need["cpu"] = "cpus"
	case r.CPU.Shares != 0 || r.CPU.Weight != 0:
		need["cpu"] = "cpu-weight"
	}
	if r.CPU.Cpus != "" || r.CPU.Mems != "" {
		need["cpuset"] = "cpuset-cpus"
	}
	if stats {
		optional = []string{"memory", "pids"}
	}
	optional = append(optional, extra...)
	return need, optional
}

// assign decides, controller by controller, which hierarchy serves it: a
// v1 hierarchy bound to it, else cgroup2 if its root offers it.
func (c *Cgroup) assign(stats bool, extra []string) error {
	need, optional := wanted(&c.res, stats, extra)
	var root2 []string
	if c.layout.V2 != nil {
		root2, _ = v2Controllers(c.layout.V2.Mount)
	}
	var ctl1, ctl2 []string
	place := func(ctl string) bool {
		if c.layout.V1[ctl] != nil {
			if !has(ctl1, ctl) {
				ctl1 = append(ctl1, ctl)
			}
			return true
		}
		if has(root2, ctl) {
			if !has(ctl2, ctl) {
				ctl2 = append(ctl2, ctl)
			}
			return true
		}
		return false
	}
	for _, ctl := range []string{"memory", "pids", "cpu", "cpuset"} {
		limit, ok := need[ctl]
		if !ok {
			continue
		}
		if !place(ctl) {
			where := "no v1 hierarchy is mounted for it"
			if c.layout.V2 != nil {
				where += " and " + filepath.Join(c.layout.V2.Mount, "cgroup.controllers") + " does not list it"
			}
			return limitErr(limit, "the %s controller is missing on this host (%s); the kernel was built without it or it is disabled on the command line (cgroup_disable=)", ctl, where)
		}
	}
	for _, ctl := range optional {
		place(ctl)
	}
	if c.layout.V2 == nil {
		// v1 only: CPU time from cpuacct, kill-all through the freezer.
		for _, ctl := range []string{"cpuacct", "freezer"} {
			if c.layout.V1[ctl] != nil && !has(ctl1, ctl) {
				ctl1 = append(ctl1, ctl)
			}
		}
	}
	if c.layout.V2 != nil {
		dir, err := c.parentDir(c.layout.V2)
		if err != nil {
			return err
		}
		c.v2 = &v2Group{parent: dir, dir: filepath.Join(dir, c.Name), controllers: ctl2, fd: -1, mount: c.layout.V2.Mount}
	}
	if len(ctl1) > 0 {
		g := &v1Group{}
		for _, ctl := range ctl1 {
			h := c.layout.V1[ctl]
			dir, err := c.parentDir(h)
			if err != nil {
				return err
			}
			g.add(ctl, h, filepath.Join(dir, c.Name))
		}
		c.v1 = g
	}
	return nil
}

// parentDir resolves Options.Parent in hierarchy h.
func (c *Cgroup) parentDir(h *Hierarchy) (string, error) {
	p := c.parent
	switch {
	case p == "":
		return h.Own, nil
	case filepath.IsAbs(p):
		return filepath.Join(h.Mount, filepath.Clean(p)), nil
	}
	clean := filepath.Clean(p)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", limitErr("cgroup-parent", "cgroup parent %q climbs out of the caller's cgroup; give a path below it, or an absolute one from the hierarchy's root", p)
	}
	return filepath.Join(h.Own, clean), nil
}

func (c *Cgroup) backends() []backend {
	var bs []backend
	if c.v2 != nil {
		bs = append(bs, c.v2)
	}
	if c.v1 != nil {
		bs = append(bs, c.v1)
	}
	return bs
}

// Dirs lists the run's cgroup directories, cgroup2's first.
func (c *Cgroup) Dirs() []string {
	var d []string
	if c.v2 != nil {
		d = append(d, c.v2.dir)
	}
	if c.v1 != nil {
		for _, m := range c.v1.members {
			d = append(d, m.dir)
		}
	}
	return d
}

// Member is one directory of the run's cgroup.
type Member struct {
	Version int // 1 or 2
	// Controllers are the controllers the run uses through the
	// directory: those it limits or reads (v2), or those of the v1
	// hierarchy it uses.
	Controllers []string
	Dir         string
}

// Members lists the run's cgroup directories with their controllers,
// cgroup2's first: what rawns run --trace checks the command's cgroups
// against.
func (c *Cgroup) Members() []Member {
	var ms []Member
	if c.v2 != nil {
		ms = append(ms, Member{Version: 2, Controllers: c.v2.controllers, Dir: c.v2.dir})
	}
	if c.v1 != nil {
		for _, m := range c.v1.members {
			ms = append(ms, Member{Version: 1, Controllers: m.ctls, Dir: m.dir})
		}
	}
	return ms
}

// Stats are what the kernel kept about a run. A value of -1 means this
// kernel or layout does not keep it.
type Stats struct {
	MemoryPeak int64         // bytes: v2 memory.peak (5.19+), v1 memory.max_usage_in_bytes
	CPUTime    time.Duration // user+system: v2 cpu.stat usage_usec, v1 cpuacct.usage
	PidsPeak   int64         // pids.peak (v2 6.1+, v1)
	OOMKills   int64         // memory.events oom_kill (v2), memory.oom_control oom_kill (v1)
	// MemoryFailures counts the times a charge met the memory limit: v2
	// memory.events max, v1 memory.failcnt. Above zero, something was
	// refused memory or had to be reclaimed for it; an allocation the
	// kernel could not satisfy then fails (ENOMEM, or E2BIG from
	// execve's copy of the arguments) or ends in an OOM kill.
	MemoryFailures int64
}

// Stats reads the run's statistics; call it after the command has exited
// and before Close.
func (c *Cgroup) Stats() Stats {
	s := Stats{MemoryPeak: -1, CPUTime: -1, PidsPeak: -1, OOMKills: -1, MemoryFailures: -1}
	for _, b := range c.backends() {
		b.stats(&s)
	}
	return s
}

// Kill sends SIGKILL to every process left in the cgroup and waits until
// it is empty: through cgroup.kill where the kernel has it (5.14+), else
// by freezing it (so that nothing forks meanwhile), killing what is listed
// and thawing, until nothing is left.
func (c *Cgroup) Kill() error {
	if c.v2 != nil && c.v2.created {
		return c.v2.kill()
	}
	if c.v1 != nil {
		return c.v1.kill()
	}
	return nil
}

// Close kills what is left in the cgroup, removes its directories, and
// then removes stale cgroups that earlier runs killed with SIGKILL left
// under the same parents (CleanStale). It may be called more than once.
func (c *Cgroup) Close() error {
	var errs []error
	if err := c.Kill(); err != nil {
		errs = append(errs, err)
	}
	for _, b := range c.backends() {
		if err := b.remove(); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := c.cleanStale(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// selfStart returns this process's start time in clock ticks since boot
// (field 22 of /proc/self/stat, proc(5)): with the pid, it names a process
// for good, pid reuse notwithstanding.
func selfStart() (string, error) {
	return procStart("self")
}

func procStart(pid string) (string, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return "", err
	}
	// The command name (field 2) may hold spaces and parentheses: fields
	// are counted after its last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return "", fmt.Errorf("/proc/%s/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return "", fmt.Errorf("/proc/%s/stat: %d fields", pid, len(f)+2)
	}
	return f[19], nil // field 22
}

// writeFile writes val to dir/file with one write(2), as cgroupfs wants
// each value in one write.
func writeFile(dir, file, val string) error {
	fd, err := unix.Open(filepath.Join(dir, file), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: filepath.Join(dir, file), Err: err}
	}
	defer unix.Close(fd)
	for {
		_, err = unix.Write(fd, []byte(val))
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return &os.PathError{Op: "write " + strconv.Quote(strings.TrimSpace(val)) + " to", Path: filepath.Join(dir, file), Err: err}
	}
	return nil
}

// writeFD writes val to an open cgroup file with one write(2).
func writeFD(fd int, val string) error {
	for {
		_, err := unix.Write(fd, []byte(val))
		if err != unix.EINTR {
			return err
		}
	}
}

func readFile(dir, file string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	return strings.TrimSpace(string(b)), err
}

func readInt(dir, file string) (int64, bool) {
	s, err := readFile(dir, file)
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// keyed reads "key value" lines (memory.events, cpu.stat) and returns key's.
func keyed(dir, file, key string) (int64, bool) {
	s, err := readFile(dir, file)
	if err != nil {
		return 0, false
	}
	for _, l := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(l, " "); ok && k == key {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// mkdirCgroup makes dir and, like mkdir -p, its missing parents; a parent
// that exists must be a directory of a cgroup filesystem.
func mkdirCgroup(dir string, mount string) error {
	parent := filepath.Dir(dir)
	if err := checkCgroupDir(parent, mount); err != nil {
		return err
	}
	if err := unix.Mkdir(dir, 0o755); err != nil {
		return permHint(&os.PathError{Op: "mkdir", Path: dir, Err: err})
	}
	return nil
}

// checkCgroupDir makes parent (and its parents up to the mount) when
// missing, and refuses one that is not a cgroup directory.
func checkCgroupDir(dir, mount string) error {
	var st unix.Statfs_t
	err := unix.Statfs(dir, &st)
	if err == unix.ENOENT {
		if dir == mount || !strings.HasPrefix(dir, mount+"/") {
			return limitErr("cgroup-parent", "%s does not exist", dir)
		}
		if err := checkCgroupDir(filepath.Dir(dir), mount); err != nil {
			return err
		}
		if err := unix.Mkdir(dir, 0o755); err != nil && err != unix.EEXIST {
			return &Error{Limit: "cgroup-parent", Err: permHint(&os.PathError{Op: "mkdir", Path: dir, Err: err})}
		}
		return nil
	}
	if err != nil {
		return &Error{Limit: "cgroup-parent", Err: &os.PathError{Op: "statfs", Path: dir, Err: err}}
	}
	if st.Type != unix.CGROUP_SUPER_MAGIC && st.Type != unix.CGROUP2_SUPER_MAGIC {
		return limitErr("cgroup-parent", "%s is not a cgroup directory (not on a cgroup filesystem); give a path inside %s", dir, mount)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return limitErr("cgroup-parent", "%s is not a cgroup directory", dir)
	}
	return nil
}

// permHint adds what would grant the permission to EACCES and EPERM.
func permHint(err error) error {
	if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EROFS) {
		return fmt.Errorf("%w: making cgroups needs root, or a cgroup delegated to your user (its directory and cgroup.procs, cgroup.subtree_control owned by you, as systemd's Delegate=yes does) given as --cgroup-parent", err)
	}
	return err
}

// waitUntil polls cond with growing sleeps, up to limit.
func waitUntil(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	d := 50 * time.Microsecond
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(d)
		d = min(2*d, 10*time.Millisecond)
	}
}

// procsOf lists the pids in dir's cgroup.procs.
func procsOf(dir string) ([]int, error) {
	s, err := readFile(dir, "cgroup.procs")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(s) {
		if p, err := strconv.Atoi(f); err == nil {
			pids = append(pids, p)
		}
	}
	return pids, nil
}

// rmdir removes a cgroup directory, retrying while the kernel still
// counts exiting tasks in it (EBUSY).
func rmdir(dir string) error {
	var err error
	waitUntil(2*time.Second, func() bool {
		err = unix.Rmdir(dir)
		return err != unix.EBUSY
	})
	if err == nil || err == unix.ENOENT {
		return nil
	}
	return &os.PathError{Op: "rmdir", Path: dir, Err: err}
}
