package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/procfs"
)

// v1Group is the run's directories in the v1 hierarchies
// (Documentation/admin-guide/cgroup-v1/ in the kernel), one per hierarchy,
// a hierarchy binding one controller or several (cpu,cpuacct).
type v1Group struct {
	members []*v1Member
	// pidsLimit is the pids limit asked for: pids.max holds one more while
	// the cloning thread is inside (see enter).
	pidsLimit int64
	// made are the parents of the members' directories that create made
	// (MadeParents).
	made []string
}

type v1Member struct {
	h       *Hierarchy
	dir     string
	ctls    []string
	created bool
}

func (g *v1Group) add(ctl string, h *Hierarchy, dir string) {
	for _, m := range g.members {
		if m.h == h {
			m.ctls = append(m.ctls, ctl)
			return
		}
	}
	g.members = append(g.members, &v1Member{h: h, dir: dir, ctls: []string{ctl}})
}

func (g *v1Group) member(ctl string) *v1Member {
	for _, m := range g.members {
		if has(m.ctls, ctl) {
			return m
		}
	}
	return nil
}

func (g *v1Group) create(r *Resources) error {
	for _, m := range g.members {
		if err := mkdirCgroup(m.dir, m.h.Mount, &g.made); err != nil {
			return err
		}
		m.created = true
		for _, ctl := range m.ctls {
			if err := g.limit(m, ctl, r); err != nil {
				return err
			}
		}
	}
	return nil
}

func (g *v1Group) limit(m *v1Member, ctl string, r *Resources) error {
	w := func(field Field, file, val string) error {
		if err := writeFile(m.dir, file, val); err != nil {
			if errors.Is(err, unix.ENOENT) {
				return fieldErr(field, "%s is missing: this kernel's v1 %s controller cannot set it", filepath.Join(m.dir, file), ctl)
			}
			return &Error{Field: field, Err: permHint(err)}
		}
		return nil
	}
	switch ctl {
	case "memory":
		if r.Memory.Limit == 0 {
			return nil
		}
		// memory.memsw.limit_in_bytes may never be below
		// memory.limit_in_bytes: the memory limit goes first.
		if err := w(FieldMemoryLimit, "memory.limit_in_bytes", strconv.FormatInt(r.Memory.Limit, 10)); err != nil {
			return err
		}
		if r.Memory.Swap != 0 {
			err := w(FieldMemorySwap, "memory.memsw.limit_in_bytes", strconv.FormatInt(r.Memory.Swap, 10))
			if errors.Is(err, unix.ENOENT) {
				return fieldErr(FieldMemorySwap, "this kernel does not account swap in cgroup v1 (no memory.memsw.limit_in_bytes; boot with swapaccount=1)")
			}
			return err
		}
	case "pids":
		if r.Pids.Limit == 0 {
			return nil
		}
		g.pidsLimit = r.Pids.Limit
		// One more while the cloning thread is inside (enter); MaxPids
		// has no one more, and "max" is the same there: no system has
		// more tasks.
		v := strconv.FormatInt(r.Pids.Limit+1, 10)
		if r.Pids.Limit >= MaxPids {
			v = "max"
		}
		return w(FieldPidsLimit, "pids.max", v)
	case "cpu":
		c := r.CPU
		if c.Period != 0 {
			if err := w(FieldCPUPeriod, "cpu.cfs_period_us", strconv.FormatUint(c.Period, 10)); err != nil {
				return err
			}
		}
		if c.Quota != 0 {
			if err := w(FieldCPUQuota, "cpu.cfs_quota_us", strconv.FormatInt(c.Quota, 10)); err != nil {
				return err
			}
		}
		sh := c.Shares
		if c.Weight != 0 {
			sh = weightToShares(c.Weight)
		}
		if sh != 0 {
			return w(c.weightField(), "cpu.shares", strconv.FormatUint(sh, 10))
		}
	case "devices":
		return v1Devices(m.dir, r.Devices)
	case "cpuset":
		// A v1 cpuset takes no task until both lists are set (ENOSPC):
		// what is not asked for is copied from the parent.
		parent := filepath.Dir(m.dir)
		cpusetFill(m.h.Mount, parent)
		cpus, mems := r.CPU.Cpus, r.CPU.Mems
		if cpus == "" {
			cpus, _ = readFile(parent, "cpuset.cpus")
		}
		if mems == "" {
			mems, _ = readFile(parent, "cpuset.mems")
		}
		if err := w(FieldCPUCpus, "cpuset.cpus", cpus); err != nil {
			if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ERANGE) {
				have, _ := readFile(parent, "cpuset.cpus")
				return fieldErr(FieldCPUCpus, "CPUs %s are not all available here: the parent cgroup has CPUs %s", cpus, have)
			}
			return err
		}
		return w(FieldCPUMems, "cpuset.mems", mems)
	}
	return nil
}

// enter moves the calling thread (tid) into the run's cgroup in every v1
// hierarchy, so that the child it clones next starts there: a new task
// joins its parent *thread's* cgroups (cgroup_fork), and v1 lets a single
// thread move (its "tasks" file). It returns where to go back to, read
// from /proc/thread-self/cgroup. Only this thread moves, never the
// process; what each controller then does with the thread is in
// docs/cgroups.md.
//
// The memory cgroup is entered last and left first, through a file opened
// before the thread entered: inside it, the thread's kernel allocations
// (an open file, a pipe) are charged to the run, and under a limit of a
// few pages they fail with ENOMEM; the thread must still get out.
func (g *v1Group) enter(tid int) (*v1Back, error) {
	dirs, err := threadDirs(g.members)
	if err != nil {
		return nil, err
	}
	back := &v1Back{dirs: dirs, memFD: -1}
	mem := -1
	for i, m := range g.members {
		if has(m.ctls, "memory") {
			mem = i
			fd, err := unix.Open(filepath.Join(dirs[i], "tasks"), unix.O_WRONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return nil, permHint(&os.PathError{Op: "open", Path: filepath.Join(dirs[i], "tasks"), Err: err})
			}
			back.memFD = fd
		}
	}
	t := strconv.Itoa(tid)
	var entered []int
	for i, m := range g.members {
		if i == mem {
			continue
		}
		if err := writeFile(m.dir, "tasks", t); err != nil {
			g.leave(tid, back, entered)
			return nil, permHint(err)
		}
		entered = append(entered, i)
	}
	if mem >= 0 {
		if err := writeFile(g.members[mem].dir, "tasks", t); err != nil {
			g.leave(tid, back, entered)
			return nil, permHint(err)
		}
		entered = append(entered, mem)
	}
	back.entered = entered
	return back, nil
}

// v1Back is where enter's thread goes back to.
type v1Back struct {
	dirs    []string // per member, the thread's cgroup before enter
	memFD   int      // the memory hierarchy's tasks file of dirs, or -1
	entered []int    // the members entered, in order
}

func (b *v1Back) close() {
	if b.memFD >= 0 {
		unix.Close(b.memFD)
		b.memFD = -1
	}
}

// leave moves the thread back out of the members entered: out of the
// memory cgroup first, through the file enter opened; then it writes the
// pids limit asked for, now that the child exists and the thread is still
// counted, and moves the thread back out of the rest. Between the child's
// exec and here, pids.max was one above the limit with the thread taking
// that one slot, so the command never had more than its limit.
func (g *v1Group) leave(tid int, back *v1Back, entered []int) error {
	defer back.close()
	var errs []error
	t := strconv.Itoa(tid)
	for _, i := range entered {
		if back.memFD >= 0 && has(g.members[i].ctls, "memory") {
			if err := writeFD(back.memFD, t); err != nil {
				errs = append(errs, &os.PathError{Op: "write " + t + " to", Path: filepath.Join(back.dirs[i], "tasks"), Err: err})
			}
		}
	}
	if m := g.member("pids"); m != nil && g.pidsLimit != 0 && len(entered) == len(g.members) {
		if err := writeFile(m.dir, "pids.max", strconv.FormatInt(g.pidsLimit, 10)); err != nil {
			errs = append(errs, err)
		}
	}
	for _, i := range entered {
		if back.memFD >= 0 && has(g.members[i].ctls, "memory") {
			continue
		}
		if err := writeFile(back.dirs[i], "tasks", t); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// threadDirs reads the calling thread's cgroup directory in each member's
// hierarchy.
func threadDirs(ms []*v1Member) ([]string, error) {
	var buf [4096]byte
	b, err := procfs.Read("/proc/thread-self/cgroup", buf[:])
	if err != nil {
		return nil, err
	}
	byCtls := map[string]string{}
	for _, c := range procfs.Cgroups(b) {
		byCtls[c.Controllers] = c.Path
	}
	dirs := make([]string, len(ms))
	for i, m := range ms {
		path, ok := byCtls[strings.Join(m.h.Controllers, ",")]
		if !ok {
			return nil, fmt.Errorf("/proc/thread-self/cgroup has no line for %s", strings.Join(m.h.Controllers, ","))
		}
		if dirs[i], ok = under(m.h.Mount, m.h.root, path); !ok {
			return nil, fmt.Errorf("this thread's %s cgroup %s is outside the mount %s", m.ctls[0], path, m.h.Mount)
		}
	}
	return dirs, nil
}

// kill empties the group. With the freezer controller: freeze, so that
// nothing forks meanwhile, SIGKILL every task listed, thaw (a frozen v1
// task acts on the SIGKILL only once thawed), until none is left. Without
// it, SIGKILL what is listed until the list stays empty.
func (g *v1Group) kill() error {
	var ref *v1Member
	for _, m := range g.members {
		if m.created {
			ref = m
			break
		}
	}
	if ref == nil {
		return nil
	}
	fz := g.member("freezer")
	if fz != nil && !fz.created {
		fz = nil
	}
	empty := func() bool {
		p, err := procsOf(ref.dir)
		return err != nil || len(p) == 0
	}
	if empty() {
		return nil
	}
	ok := waitUntil(10*time.Second, func() bool {
		if fz != nil {
			writeFile(fz.dir, "freezer.state", "FROZEN")
			waitUntil(time.Second, func() bool {
				s, err := readFile(fz.dir, "freezer.state")
				return err != nil || s == "FROZEN"
			})
		}
		pids, _ := procsOf(ref.dir)
		for _, p := range pids {
			unix.Kill(p, unix.SIGKILL)
		}
		if fz != nil {
			writeFile(fz.dir, "freezer.state", "THAWED")
		}
		return empty()
	})
	if !ok {
		return fmt.Errorf("%s: processes left after 10s of SIGKILL", ref.dir)
	}
	return nil
}

func (g *v1Group) remove() error {
	var errs []error
	for _, m := range g.members {
		if !m.created {
			continue
		}
		if err := rmdir(m.dir); err != nil {
			errs = append(errs, err)
			continue
		}
		m.created = false
	}
	return errors.Join(errs...)
}

func (g *v1Group) stats(s *Stats) {
	if m := g.member("memory"); m != nil {
		if v, ok := readInt(m.dir, "memory.max_usage_in_bytes"); ok {
			s.MemoryPeak = v
		}
		if v, ok := keyed(m.dir, "memory.oom_control", "oom_kill"); ok {
			s.OOMKills = v
		}
		if v, ok := readInt(m.dir, "memory.failcnt"); ok {
			s.MemoryFailures = v
		}
	}
	if m := g.member("cpuacct"); m != nil && s.CPUTime < 0 {
		if v, ok := readInt(m.dir, "cpuacct.usage"); ok {
			s.CPUTime = time.Duration(v)
		}
	}
	if m := g.member("pids"); m != nil {
		if v, ok := readInt(m.dir, "pids.peak"); ok {
			// The cloning thread was counted while it was inside (enter),
			// beside the child: two tasks, the peak of that moment. A
			// peak above two came later, without the thread, and stands;
			// two or less is the thread's moment, less the thread. (It is
			// one too low only if the command forked before the thread
			// left, microseconds after its exec.)
			if v <= 2 {
				v = max(v-1, 1)
			}
			s.PidsPeak = v
		}
	}
}

// cpusetFill gives each cpuset directory from mount down to dir that has
// empty lists its parent's: a v1 cpuset starts with none, and a child's
// lists must be within its parent's (EACCES otherwise, cpuset(7)), so a
// cgroup below intermediate directories made for it (a relative
// cgroupsPath a/b/c) could take no CPUs at all. As runc does. Errors are
// left to the write that follows, which names the limit.
func cpusetFill(mount, dir string) {
	rel, err := filepath.Rel(mount, dir)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return
	}
	cur := mount
	for _, part := range strings.Split(rel, "/") {
		up := cur
		cur = filepath.Join(cur, part)
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if v, _ := readFile(cur, f); v != "" {
				continue
			}
			if v, _ := readFile(up, f); v != "" {
				writeFile(cur, f, v)
			}
		}
	}
}
