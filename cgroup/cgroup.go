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

	"github.com/rawns/rawns/internal/procfs"
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
	// Optional are controllers the cgroup joins where that is cheap,
	// though no limit needs them now: an OCI container's cgroup is
	// updated and measured later (Update). Only cgroup v2's: enabling a
	// controller there is one write to the parent's subtree_control,
	// while a v1 hierarchy more is two migrations of the cloning thread,
	// each of which may wait for an RCU grace period (cgroup v1 takes
	// cgroup_threadgroup_rwsem for writing: milliseconds, tens of them
	// on a busy host).
	Optional []string
}

// Error is a failure that one field of the Options is to blame for: the
// field, in this package's own terms, and why. A caller words the field in
// its own: rawns run as the flag that set it (--memory), the OCI layer as
// the path in config.json (linux.resources.memory.limit).
type Error struct {
	Field Field
	Err   error
}

func (e *Error) Error() string { return e.Field.String() + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Field names a field of Options: the one an Error is about.
type Field int

// The fields an Error may name, with the cgroup files they are written to.
const (
	FieldNone        Field = iota
	FieldParent            // Options.Parent: where the run's cgroup is made
	FieldName              // Options.Name: the cgroup's own name
	FieldMemoryLimit       // Resources.Memory.Limit: memory.max, memory.limit_in_bytes
	FieldMemorySwap        // Resources.Memory.Swap: memory.swap.max, memory.memsw.limit_in_bytes
	FieldPidsLimit         // Resources.Pids.Limit: pids.max
	FieldCPUQuota          // Resources.CPU.Quota: cpu.max, cpu.cfs_quota_us
	FieldCPUPeriod         // Resources.CPU.Period: cpu.max, cpu.cfs_period_us
	FieldCPUShares         // Resources.CPU.Shares: cpu.shares (cpu.weight on v2)
	FieldCPUWeight         // Resources.CPU.Weight: cpu.weight (cpu.shares on v1)
	FieldCPUCpus           // Resources.CPU.Cpus: cpuset.cpus
	FieldCPUMems           // Resources.CPU.Mems: cpuset.mems
	FieldDevices           // Resources.Devices: devices.allow and devices.deny, v2's device program
)

// String is the field's path in Options ("Resources.Memory.Limit").
func (f Field) String() string {
	switch f {
	case FieldParent:
		return "Parent"
	case FieldName:
		return "Name"
	case FieldMemoryLimit:
		return "Resources.Memory.Limit"
	case FieldMemorySwap:
		return "Resources.Memory.Swap"
	case FieldPidsLimit:
		return "Resources.Pids.Limit"
	case FieldCPUQuota:
		return "Resources.CPU.Quota"
	case FieldCPUPeriod:
		return "Resources.CPU.Period"
	case FieldCPUShares:
		return "Resources.CPU.Shares"
	case FieldCPUWeight:
		return "Resources.CPU.Weight"
	case FieldCPUCpus:
		return "Resources.CPU.Cpus"
	case FieldCPUMems:
		return "Resources.CPU.Mems"
	case FieldDevices:
		return "Resources.Devices"
	}
	return "Options"
}

func fieldErr(f Field, format string, a ...any) error {
	return &Error{Field: f, Err: fmt.Errorf(format, a...)}
}

// ErrNotDelegated is in the chain of an error for lack of permission to
// make or write a cgroup: making cgroups needs root, or a cgroup delegated
// to the user, and a caller may say how its user gives one as the parent
// (Options.Parent).
var ErrNotDelegated = errors.New("making cgroups needs root, or a cgroup delegated to your user")

// notDelegated is an error that errors.Is reads as ErrNotDelegated.
type notDelegated struct{ error }

func (e notDelegated) Is(target error) bool { return target == ErrNotDelegated }
func (e notDelegated) Unwrap() error        { return e.error }

// SubtreeError is cgroup v2's refusal to enable a controller for the
// children of a cgroup that holds processes (the "no internal processes"
// rule, cgroup-v2.rst): the parent must be a cgroup without processes that
// has the controller in its cgroup.subtree_control.
type SubtreeError struct {
	Controller string
	Dir        string // the cgroup that holds processes
}

func (e *SubtreeError) Error() string {
	return fmt.Sprintf("cannot enable the %s controller below %s: that cgroup holds processes, and cgroup v2 lets only a cgroup without processes (or the root) hand the %s controller to its children", e.Controller, e.Dir, e.Controller)
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
	c := &Cgroup{
		Name:   opts.Name,
		layout: lay,
		res:    opts.Resources,
		parent: opts.Parent,
	}
	if c.Name == "" {
		// A name of this process's own; its start time read only here,
		// where it is needed (rawns-oci names every cgroup itself).
		start, err := selfStart()
		if err != nil {
			return nil, err
		}
		c.Name = "rawns-" + strconv.Itoa(os.Getpid()) + "-" + start + "-" + strconv.FormatUint(seq.Add(1), 10)
	} else if opts.Name != filepath.Base(opts.Name) || opts.Name == "." || opts.Name == ".." {
		return nil, fieldErr(FieldName, "cgroup name %q: give one directory name", opts.Name)
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

// wanted lists the controllers the resources need, with the field each
// serves (for errors); optional ones serve statistics only.
func wanted(r *Resources, stats bool) (need map[string]Field, optional []string) {
	need = map[string]Field{}
	if r.Memory.Limit != 0 {
		need["memory"] = FieldMemoryLimit
	}
	if r.Pids.Limit != 0 {
		need["pids"] = FieldPidsLimit
	}
	switch {
	case r.CPU.Quota != 0 || r.CPU.Period != 0:
		need["cpu"] = r.CPU.quotaField()
	case r.CPU.Shares != 0 || r.CPU.Weight != 0:
		need["cpu"] = r.CPU.weightField()
	}
	switch {
	case r.CPU.Cpus != "":
		need["cpuset"] = FieldCPUCpus
	case r.CPU.Mems != "":
		need["cpuset"] = FieldCPUMems
	}
	if stats {
		optional = []string{"memory", "pids"}
	}
	return need, optional
}

// fieldOf is the field of r that controller ctl serves, for errors; for a
// controller asked for statistics only, the field it would limit.
func fieldOf(ctl string, r *Resources) Field {
	switch ctl {
	case "memory":
		return FieldMemoryLimit
	case "pids":
		return FieldPidsLimit
	case "cpu":
		if r.CPU.Quota == 0 && r.CPU.Period == 0 && (r.CPU.Shares != 0 || r.CPU.Weight != 0) {
			return r.CPU.weightField()
		}
		return r.CPU.quotaField()
	case "cpuset":
		if r.CPU.Cpus == "" && r.CPU.Mems != "" {
			return FieldCPUMems
		}
		return FieldCPUCpus
	}
	return FieldNone
}

// assign decides, controller by controller, which hierarchy serves it: a
// v1 hierarchy bound to it, else cgroup2 if its root offers it.
func (c *Cgroup) assign(stats bool, extra []string) error {
	need, optional := wanted(&c.res, stats)
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
		field, ok := need[ctl]
		if !ok {
			continue
		}
		if !place(ctl) {
			where := "no v1 hierarchy is mounted for it"
			if c.layout.V2 != nil {
				where += " and " + filepath.Join(c.layout.V2.Mount, "cgroup.controllers") + " does not list it"
			}
			return fieldErr(field, "the %s controller is missing on this host (%s); the kernel was built without it or it is disabled on the command line (cgroup_disable=)", ctl, where)
		}
	}
	for _, ctl := range optional {
		place(ctl)
	}
	var opt2 []string
	if c.layout.V2 != nil {
		for _, ctl := range extra {
			if has(root2, ctl) && !has(ctl2, ctl) && c.layout.V1[ctl] == nil {
				opt2 = append(opt2, ctl)
			}
		}
	}
	// The devices controller is v1's; cgroup v2 has an eBPF program
	// instead (devices.go), attached to the v2 directory.
	devProgram := false
	if len(c.res.Devices) > 0 {
		switch {
		case c.layout.V1["devices"] != nil:
			ctl1 = append(ctl1, "devices")
		case c.layout.V2 != nil:
			devProgram = true
		default:
			return fieldErr(FieldDevices, "no devices controller is mounted and no cgroup v2 hierarchy: device rules cannot be applied")
		}
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
		c.v2 = &v2Group{parent: dir, dir: filepath.Join(dir, c.Name), controllers: ctl2, fd: -1, mount: c.layout.V2.Mount, devProgram: devProgram, optional: opt2}
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
		return "", fieldErr(FieldParent, "cgroup parent %q climbs out of the caller's cgroup; give a path below it, or an absolute one from the hierarchy's root", p)
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
	if err := c.Remove(); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.cleanStale(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Remove kills what is left in the cgroup and removes its directories,
// as Close does, without looking for stale cgroups of other runs, and the
// parent directories it made (MadeParents) that nothing else uses.
func (c *Cgroup) Remove() error {
	var errs []error
	if err := c.Kill(); err != nil {
		errs = append(errs, err)
	}
	for _, b := range c.backends() {
		if err := b.remove(); err != nil {
			errs = append(errs, err)
		}
	}
	RemoveParents(c.MadeParents())
	return errors.Join(errs...)
}

// MadeParents lists the parent directories New made for the cgroup (a
// cgroupsPath a/b/c whose a/b did not exist), parents first: they are the
// container's to remove with it (RemoveParents), as nobody else asked for
// them. A Cgroup from Load has none; its caller keeps them.
func (c *Cgroup) MadeParents() []string {
	var d []string
	if c.v2 != nil {
		d = append(d, c.v2.made...)
	}
	if c.v1 != nil {
		d = append(d, c.v1.made...)
	}
	return d
}

// RemoveParents removes the directories of MadeParents, children first,
// each only when empty: a directory another cgroup has come to use since
// (EBUSY, ENOTEMPTY) stays, and so does one already gone.
func RemoveParents(dirs []string) {
	for i := len(dirs) - 1; i >= 0; i-- {
		unix.Rmdir(dirs[i])
	}
}

// selfStart returns this process's start time in clock ticks since boot
// (field 22 of /proc/self/stat, proc(5)): with the pid, it names a process
// for good, pid reuse notwithstanding.
func selfStart() (string, error) {
	return procStart(0)
}

func procStart(pid int) (string, error) {
	st, err := procfs.StartTime(pid)
	if err != nil {
		return "", err
	}
	return strconv.FormatUint(st, 10), nil
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

// readFile reads a cgroup file with raw system calls (procfs.Read): no
// os.File, whose first use starts the runtime's poller (epoll, an eventfd,
// its code and memory) in every create, run and delete of rawns-oci.
func readFile(dir, file string) (string, error) {
	b, err := procfs.Read(filepath.Join(dir, file), make([]byte, 512))
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

// mkdirCgroup makes dir and, like mkdir -p, its missing parents, which it
// appends to made, parents first; a parent that exists must be a
// directory of a cgroup filesystem.
func mkdirCgroup(dir string, mount string, made *[]string) error {
	parent := filepath.Dir(dir)
	if err := checkCgroupDir(parent, mount, made); err != nil {
		return err
	}
	if err := unix.Mkdir(dir, 0o755); err != nil {
		return permHint(&os.PathError{Op: "mkdir", Path: dir, Err: err})
	}
	return nil
}

// checkCgroupDir makes parent (and its parents up to the mount) when
// missing, appending what it made to made, and refuses one that is not a
// cgroup directory.
func checkCgroupDir(dir, mount string, made *[]string) error {
	var st unix.Statfs_t
	err := unix.Statfs(dir, &st)
	if err == unix.ENOENT {
		if dir == mount || !strings.HasPrefix(dir, mount+"/") {
			return fieldErr(FieldParent, "%s does not exist", dir)
		}
		if err := checkCgroupDir(filepath.Dir(dir), mount, made); err != nil {
			return err
		}
		err := unix.Mkdir(dir, 0o755)
		if err != nil && err != unix.EEXIST {
			return &Error{Field: FieldParent, Err: permHint(&os.PathError{Op: "mkdir", Path: dir, Err: err})}
		}
		if err == nil {
			*made = append(*made, dir)
		}
		return nil
	}
	if err != nil {
		return &Error{Field: FieldParent, Err: &os.PathError{Op: "statfs", Path: dir, Err: err}}
	}
	if st.Type != unix.CGROUP_SUPER_MAGIC && st.Type != unix.CGROUP2_SUPER_MAGIC {
		return fieldErr(FieldParent, "%s is not a cgroup directory (not on a cgroup filesystem); give a path inside %s", dir, mount)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fieldErr(FieldParent, "%s is not a cgroup directory", dir)
	}
	return nil
}

// permHint adds what would grant the permission to EACCES and EPERM.
func permHint(err error) error {
	if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EROFS) {
		return notDelegated{fmt.Errorf("%w: %v (its directory and cgroup.procs, cgroup.subtree_control owned by you, as systemd's Delegate=yes does)", err, ErrNotDelegated)}
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
