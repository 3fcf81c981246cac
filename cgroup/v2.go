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
)

// v2Group is the run's directory in the cgroup2 hierarchy (cgroup-v2.rst
// in the kernel's Documentation/admin-guide). On a hybrid host it holds no
// controller; it still gives cgroup.kill, cgroup.events and cpu.stat, and
// CLONE_INTO_CGROUP has a target.
type v2Group struct {
	mount, parent, dir string
	controllers        []string // the ones limits are written for
	fd                 int      // O_PATH fd of dir, for clone3, or -1
	created            bool
	// devProgram: the device rules go into an eBPF program attached to
	// dir (no v1 devices controller here).
	devProgram bool
	// optional controllers are enabled for dir when the parent can hand
	// them down (Options.Optional), and left out when it cannot.
	optional []string
	// made are the parents of dir that create made (MadeParents).
	made []string
}

func (g *v2Group) create(r *Resources) error {
	if err := checkCgroupDir(g.parent, g.mount, &g.made); err != nil {
		return err
	}
	for _, ctl := range g.controllers {
		if err := g.enable(g.parent, ctl, fieldOf(ctl, r)); err != nil {
			return err
		}
	}
	for _, ctl := range g.optional {
		if g.enable(g.parent, ctl, FieldNone) == nil {
			g.controllers = append(g.controllers, ctl)
		}
	}
	if err := mkdirCgroup(g.dir, g.mount, &g.made); err != nil {
		return err
	}
	g.created = true
	if err := g.limit(r); err != nil {
		return err
	}
	if g.devProgram {
		if err := g.devices(r.Devices); err != nil {
			return &Error{Field: FieldDevices, Err: err}
		}
	}
	fd, err := unix.Open(g.dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: g.dir, Err: err}
	}
	g.fd = fd
	return nil
}

// enable makes ctl available to dir's children: "+ctl" in dir's
// cgroup.subtree_control, after making it available to dir itself the same
// way up the tree, as far as needed. A controller is offered to a cgroup
// only when its parent enables it (the top-down constraint), and a
// non-root cgroup that holds processes cannot enable a domain controller
// (memory, io) for its children (the no-internal-process constraint:
// EBUSY); the threaded ones (pids, cpu, cpuset) it may. field is what
// errors blame: the field that asked for ctl.
func (g *v2Group) enable(dir, ctl string, field Field) error {
	sub, err := readFile(dir, "cgroup.subtree_control")
	if err != nil {
		return err
	}
	if has(strings.Fields(sub), ctl) {
		return nil
	}
	avail, err := v2Controllers(dir)
	if err != nil {
		return err
	}
	if !has(avail, ctl) {
		if dir == g.mount || !strings.HasPrefix(dir, g.mount+"/") {
			return fieldErr(field, "the %s controller is not available in %s", ctl, g.mount)
		}
		if err := g.enable(filepath.Dir(dir), ctl, field); err != nil {
			return err
		}
	}
	err = writeFile(dir, "cgroup.subtree_control", "+"+ctl)
	switch {
	case errors.Is(err, unix.EBUSY):
		return &Error{Field: field, Err: &SubtreeError{Controller: ctl, Dir: dir}}
	case err != nil:
		return &Error{Field: field, Err: permHint(err)}
	}
	return nil
}

func (g *v2Group) limit(r *Resources) error {
	w := func(field Field, file, val string) error {
		if err := writeFile(g.dir, file, val); err != nil {
			if errors.Is(err, unix.ENOENT) {
				return fieldErr(field, "%s is missing: this kernel's cgroup v2 cannot set it", filepath.Join(g.dir, file))
			}
			return &Error{Field: field, Err: permHint(err)}
		}
		return nil
	}
	if has(g.controllers, "memory") && r.Memory.Limit != 0 {
		if err := w(FieldMemoryLimit, "memory.max", strconv.FormatInt(r.Memory.Limit, 10)); err != nil {
			return err
		}
		if r.Memory.Swap != 0 {
			v := "max"
			if r.Memory.Swap > 0 {
				v = strconv.FormatInt(r.Memory.Swap-r.Memory.Limit, 10)
			}
			if err := w(FieldMemorySwap, "memory.swap.max", v); err != nil {
				if errors.Is(err, unix.ENOENT) {
					return fieldErr(FieldMemorySwap, "this kernel does not account swap (no memory.swap.max; swapaccount=1 or CONFIG_MEMCG_SWAP is missing)")
				}
				return err
			}
		}
	}
	if has(g.controllers, "pids") && r.Pids.Limit != 0 {
		if err := w(FieldPidsLimit, "pids.max", strconv.FormatInt(r.Pids.Limit, 10)); err != nil {
			return err
		}
	}
	if has(g.controllers, "cpu") {
		c := r.CPU
		if c.Quota != 0 || c.Period != 0 {
			q, p := "max", c.Period
			if c.Quota > 0 {
				q = strconv.FormatInt(c.Quota, 10)
			}
			if p == 0 {
				p = DefaultPeriod
			}
			if err := w(c.quotaField(), "cpu.max", q+" "+strconv.FormatUint(p, 10)); err != nil {
				return err
			}
		}
		wt := c.Weight
		if c.Shares != 0 {
			wt = sharesToWeight(c.Shares)
		}
		if wt != 0 {
			if err := w(c.weightField(), "cpu.weight", strconv.FormatUint(wt, 10)); err != nil {
				return err
			}
		}
	}
	if has(g.controllers, "cpuset") {
		if r.CPU.Cpus != "" {
			if err := w(FieldCPUCpus, "cpuset.cpus", r.CPU.Cpus); err != nil {
				if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ERANGE) {
					eff, _ := readFile(g.parent, "cpuset.cpus.effective")
					return fieldErr(FieldCPUCpus, "CPUs %s are not all available here: the parent cgroup has CPUs %s", r.CPU.Cpus, eff)
				}
				return err
			}
		}
		if r.CPU.Mems != "" {
			if err := w(FieldCPUMems, "cpuset.mems", r.CPU.Mems); err != nil {
				return err
			}
		}
	}
	return nil
}

func (g *v2Group) populated() bool {
	v, ok := keyed(g.dir, "cgroup.events", "populated")
	return !ok || v != 0
}

// kill empties the cgroup. cgroup.kill (5.14+) kills every process in it
// and its descendants in one write, forks racing it included. Without it,
// cgroup.freeze (5.2+) stops the group first so that nothing can fork
// while its members are killed one by one (SIGKILL reaches a frozen task).
func (g *v2Group) kill() error {
	if !g.created {
		return nil
	}
	if !g.populated() {
		return nil
	}
	if err := writeFile(g.dir, "cgroup.kill", "1"); err == nil {
		if !waitUntil(10*time.Second, func() bool { return !g.populated() }) {
			return fmt.Errorf("%s: processes left 10s after cgroup.kill", g.dir)
		}
		return nil
	}
	frozen := writeFile(g.dir, "cgroup.freeze", "1") == nil
	ok := waitUntil(10*time.Second, func() bool {
		pids, err := procsOf(g.dir)
		if err != nil {
			return true
		}
		for _, p := range pids {
			unix.Kill(p, unix.SIGKILL)
		}
		return !g.populated()
	})
	if frozen {
		writeFile(g.dir, "cgroup.freeze", "0")
	}
	if !ok {
		return fmt.Errorf("%s: processes left after 10s of SIGKILL", g.dir)
	}
	return nil
}

func (g *v2Group) remove() error {
	if g.fd >= 0 {
		unix.Close(g.fd)
		g.fd = -1
	}
	if !g.created {
		return nil
	}
	if err := rmdir(g.dir); err != nil {
		return err
	}
	g.created = false
	return nil
}

func (g *v2Group) stats(s *Stats) {
	if us, ok := keyed(g.dir, "cpu.stat", "usage_usec"); ok {
		s.CPUTime = time.Duration(us) * time.Microsecond
	}
	if has(g.controllers, "memory") {
		if v, ok := readInt(g.dir, "memory.peak"); ok {
			s.MemoryPeak = v
		}
		if v, ok := keyed(g.dir, "memory.events", "oom_kill"); ok {
			s.OOMKills = v
		}
		if v, ok := keyed(g.dir, "memory.events", "max"); ok {
			s.MemoryFailures = v
		}
	}
	if has(g.controllers, "pids") {
		if v, ok := readInt(g.dir, "pids.peak"); ok {
			s.PidsPeak = v
		}
	}
}

// devices attaches the device program of rules to the directory
// (devices.go). BPF_PROG_ATTACH wants an fd of the directory itself, not
// an O_PATH one.
func (g *v2Group) devices(rules []DeviceRule) error {
	fd, err := unix.Open(g.dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: g.dir, Err: err}
	}
	defer unix.Close(fd)
	return attachDeviceProgram(fd, deviceProgram(rules))
}
