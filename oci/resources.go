package oci

import (
	"path"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/rawns/rawns/cgroup"
)

// Cgroup is where the container's cgroup goes and what it limits.
type Cgroup struct {
	// Path is linux.cgroupsPath, cleaned: absolute from each hierarchy's
	// root, or relative to the caller's own cgroup; "" puts the cgroup
	// below the caller's own, named by the container's id.
	Path string
	// Resources are linux.resources' limits.
	Resources cgroup.Resources
}

// cgroupsPath maps linux.cgroupsPath. systemd's "slice:prefix:name"
// form (what containerd 1.6's CRI writes whenever a pod's cgroup parent
// ends in ".slice", SystemdCgroup = false or not) is, without
// --systemd-cgroup (which rawns-oci refuses), a plain relative path, as
// runc's cgroupfs manager takes it (specconv's CreateCgroupConfig only
// splits it at ':' for its systemd driver): one directory literally named
// "test.slice:cri-containerd:ID" below the caller's own cgroup in each
// hierarchy. ':' is an ordinary byte in a cgroup directory's name.
func (c *converter) cgroupsPath(p string) error {
	if p == "" {
		return nil
	}
	if strings.IndexByte(p, 0) >= 0 {
		return errorf("linux.cgroupsPath", "contains a NUL byte")
	}
	clean := path.Clean(p)
	if !path.IsAbs(clean) && (clean == ".." || strings.HasPrefix(clean, "../")) {
		return errorf("linux.cgroupsPath", "%q climbs out of the caller's cgroup; give a path below it, or an absolute one", p)
	}
	if clean == "/" || clean == "." {
		return errorf("linux.cgroupsPath", "%q is a hierarchy's root (or the caller's own cgroup), which the container cannot own; give a path below it", p)
	}
	c.cg.Path = clean
	return nil
}

// resources maps linux.resources onto cgroup.Resources. A field left at
// its zero value (null, 0, false, an empty list) is not set, as engines
// send empty objects for limits they were not asked for; a value rawns
// cannot apply is an error naming it.
func (c *converter) resources(r *specs.LinuxResources) error {
	const p = "linux.resources"
	res := &c.cg.Resources
	if m := r.Memory; m != nil {
		mp := p + ".memory"
		if m.Limit != nil {
			switch v := *m.Limit; {
			case v > 0:
				res.Memory.Limit = v
			case v == -1, v == 0: // unlimited
			default:
				return errorf(mp+".limit", "%d is negative; give a number of bytes, or -1 for no limit", v)
			}
		}
		if m.Swap != nil {
			switch v := *m.Swap; {
			case v > 0:
				if res.Memory.Limit == 0 {
					return errorf(mp+".swap", "memory plus swap needs memory.limit too")
				}
				if v < res.Memory.Limit {
					return errorf(mp+".swap", "%d is below memory.limit %d; it counts memory and swap together", v, res.Memory.Limit)
				}
				res.Memory.Swap = v
			case v == -1:
				if res.Memory.Limit != 0 {
					res.Memory.Swap = -1
				}
			case v == 0:
			default:
				return errorf(mp+".swap", "%d is negative; give a number of bytes, or -1 for unlimited swap", v)
			}
		}
		switch {
		case m.Reservation != nil && *m.Reservation != 0:
			return unsupported(mp+".reservation", "a soft limit is not written by rawns's cgroup package yet")
		case m.Kernel != nil && *m.Kernel != 0:
			return unsupported(mp+".kernel", "kernel memory limits are deprecated in the kernel (5.4) and gone from cgroup v2")
		case m.KernelTCP != nil && *m.KernelTCP != 0:
			return unsupported(mp+".kernelTCP", "kernel TCP memory limits are not written by rawns")
		case m.Swappiness != nil && *m.Swappiness != ^uint64(0):
			// (uint64)-1 is docker's "not set", as runc reads it.
			return unsupported(mp+".swappiness", "swappiness is not written by rawns's cgroup package yet")
		case m.DisableOOMKiller != nil && *m.DisableOOMKiller:
			return unsupported(mp+".disableOOMKiller", "turning the OOM killer off is cgroup v1 only, and not written by rawns")
		case m.CheckBeforeUpdate != nil && *m.CheckBeforeUpdate:
			return unsupported(mp+".checkBeforeUpdate", "not implemented")
		}
	}
	if cpu := r.CPU; cpu != nil {
		cp := p + ".cpu"
		if cpu.Shares != nil && *cpu.Shares != 0 {
			if *cpu.Shares < 2 || *cpu.Shares > 262144 {
				return errorf(cp+".shares", "%d is outside the kernel's 2..262144", *cpu.Shares)
			}
			res.CPU.Shares = *cpu.Shares
		}
		if cpu.Quota != nil {
			switch v := *cpu.Quota; {
			case v > 0:
				if v < 1000 {
					return errorf(cp+".quota", "%dµs is below the kernel's minimum of 1000µs per period", v)
				}
				res.CPU.Quota = v
			case v == -1, v == 0: // no limit
			default:
				return errorf(cp+".quota", "%d is negative; give microseconds per period, or -1 for no limit", v)
			}
		}
		if cpu.Period != nil && *cpu.Period != 0 {
			if *cpu.Period < 1000 || *cpu.Period > 1000000 {
				return errorf(cp+".period", "%dµs is outside the kernel's 1000..1000000µs", *cpu.Period)
			}
			res.CPU.Period = *cpu.Period
		}
		for _, l := range []struct{ name, v string }{{"cpus", cpu.Cpus}, {"mems", cpu.Mems}} {
			if l.v == "" {
				continue
			}
			if _, err := cgroup.ParseList(l.v); err != nil {
				return errorf(cp+"."+l.name, "%v", err)
			}
		}
		res.CPU.Cpus, res.CPU.Mems = cpu.Cpus, cpu.Mems
		switch {
		case cpu.RealtimeRuntime != nil && *cpu.RealtimeRuntime != 0:
			return unsupported(cp+".realtimeRuntime", "real-time CPU limits are not written by rawns")
		case cpu.RealtimePeriod != nil && *cpu.RealtimePeriod != 0:
			return unsupported(cp+".realtimePeriod", "real-time CPU limits are not written by rawns")
		case cpu.Burst != nil && *cpu.Burst != 0:
			return unsupported(cp+".burst", "cpu.max.burst is not written by rawns yet")
		case cpu.Idle != nil && *cpu.Idle != 0:
			return unsupported(cp+".idle", "cpu.idle is not written by rawns yet")
		}
	}
	if pl := r.Pids; pl != nil && pl.Limit > 0 {
		res.Pids.Limit = pl.Limit // 0 and negative: no limit, as runc reads them
	}
	if len(r.Devices) > 0 {
		if err := c.deviceRules(r.Devices); err != nil {
			return err
		}
	}
	// dockerd sends blockIO with weight 0 for "not set" (runc skips a
	// zero weight); anything else is a limit rawns would not apply.
	if b := r.BlockIO; b != nil && ((b.Weight != nil && *b.Weight != 0) || (b.LeafWeight != nil && *b.LeafWeight != 0) || len(b.WeightDevice) > 0 ||
		len(b.ThrottleReadBpsDevice) > 0 || len(b.ThrottleWriteBpsDevice) > 0 ||
		len(b.ThrottleReadIOPSDevice) > 0 || len(b.ThrottleWriteIOPSDevice) > 0) {
		return unsupported(p+".blockIO", "block I/O limits are not written by rawns")
	}
	if len(r.HugepageLimits) > 0 {
		return unsupported(p+".hugepageLimits", "hugetlb limits are not written by rawns yet")
	}
	if n := r.Network; n != nil && (n.ClassID != nil || len(n.Priorities) > 0) {
		return unsupported(p+".network", "net_cls and net_prio are cgroup v1 controllers that rawns does not use")
	}
	if len(r.Rdma) > 0 {
		return unsupported(p+".rdma", "RDMA limits are not written by rawns")
	}
	if len(r.Unified) > 0 {
		return unsupported(p+".unified", "raw cgroup v2 files are not written by rawns yet")
	}
	if err := res.Validate(); err != nil {
		return errorf(p, "%v", err)
	}
	return nil
}

// Resources maps a linux.resources object alone, as `update --resources`
// reads it.
func Resources(r *specs.LinuxResources) (cgroup.Resources, error) {
	c := &converter{}
	if err := c.resources(r); err != nil {
		return cgroup.Resources{}, err
	}
	return c.cg.Resources, nil
}

// defaultDeviceRules are allowed after config.json's rules, as runc
// allows them: mknod of any node (a device node is of no use without the
// rules to open it), the default devices of runtime-linux.md, the
// console, and the ptys of the container's devpts.
var defaultDeviceRules = []cgroup.DeviceRule{
	{Allow: true, Type: 'c', Major: -1, Minor: -1, Access: "m"},
	{Allow: true, Type: 'b', Major: -1, Minor: -1, Access: "m"},
	{Allow: true, Type: 'c', Major: 1, Minor: 3, Access: "rwm"},    // null
	{Allow: true, Type: 'c', Major: 1, Minor: 5, Access: "rwm"},    // zero
	{Allow: true, Type: 'c', Major: 1, Minor: 7, Access: "rwm"},    // full
	{Allow: true, Type: 'c', Major: 1, Minor: 8, Access: "rwm"},    // random
	{Allow: true, Type: 'c', Major: 1, Minor: 9, Access: "rwm"},    // urandom
	{Allow: true, Type: 'c', Major: 5, Minor: 0, Access: "rwm"},    // tty
	{Allow: true, Type: 'c', Major: 5, Minor: 1, Access: "rwm"},    // console
	{Allow: true, Type: 'c', Major: 5, Minor: 2, Access: "rwm"},    // ptmx
	{Allow: true, Type: 'c', Major: 136, Minor: -1, Access: "rwm"}, // pts/N
}

// deviceRules maps linux.resources.devices onto the devices controller's
// rules, in order, with runc's default allowed devices after them.
func (c *converter) deviceRules(ds []specs.LinuxDeviceCgroup) error {
	rules := make([]cgroup.DeviceRule, 0, len(ds)+len(defaultDeviceRules))
	for i, d := range ds {
		dp := index("linux.resources.devices", i)
		r := cgroup.DeviceRule{Allow: d.Allow, Major: -1, Minor: -1, Access: d.Access}
		switch d.Type {
		case "", "a":
			r.Type = 'a'
		case "c", "u":
			r.Type = 'c'
		case "b":
			r.Type = 'b'
		default:
			return errorf(dp+".type", "%q; give a (all), c (character) or b (block)", d.Type)
		}
		if d.Major != nil {
			if *d.Major < 0 || *d.Major > 0xfff {
				return errorf(dp+".major", "%d is not a major device number (0-4095)", *d.Major)
			}
			r.Major = *d.Major
		}
		if d.Minor != nil {
			if *d.Minor < 0 || *d.Minor > 0xfffff {
				return errorf(dp+".minor", "%d is not a minor device number (0-1048575)", *d.Minor)
			}
			r.Minor = *d.Minor
		}
		if r.Access == "" {
			r.Access = "rwm"
		}
		if strings.Trim(r.Access, "rwm") != "" {
			return errorf(dp+".access", "%q; give a set of r, w and m", d.Access)
		}
		if r.Type == 'a' && (r.Major >= 0 || r.Minor >= 0) {
			return errorf(dp+".type", "type a (all devices) takes no major or minor")
		}
		rules = append(rules, r)
	}
	c.cg.Resources.Devices = append(rules, defaultDeviceRules...)
	return nil
}
