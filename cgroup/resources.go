package cgroup

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Resources are the limits of one run. They are shaped like the OCI
// runtime spec's linux.resources (config.json), so that an OCI bundle maps
// onto them field by field: Memory is linux.resources.memory, CPU is .cpu,
// Pids is .pids. A zero field means "not set": the kernel's default, which
// is no limit, stays.
type Resources struct {
	Memory Memory
	CPU    CPU
	Pids   Pids
	// Devices is linux.resources.devices: the device rules, in order
	// (devices.go).
	Devices []DeviceRule
}

// Memory is linux.resources.memory.
type Memory struct {
	// Limit is the memory limit in bytes (v2 memory.max, v1
	// memory.limit_in_bytes).
	Limit int64
	// Swap is memory plus swap in bytes, as OCI and docker's --memory-swap
	// mean it; -1 is unlimited swap. v2 writes Swap-Limit to
	// memory.swap.max; v1 writes Swap to memory.memsw.limit_in_bytes. It
	// needs Limit.
	Swap int64
}

// CPU is linux.resources.cpu, plus Weight, cgroup v2's native form of
// Shares.
type CPU struct {
	// Quota and Period (microseconds): the group may run Quota µs of CPU
	// time per Period µs (v2 cpu.max, v1 cpu.cfs_quota_us and
	// cpu.cfs_period_us). Period 0 is the kernel's default, 100000.
	Quota  int64
	Period uint64
	// Shares is cgroup v1's relative weight (cpu.shares, 2..262144, default
	// 1024); Weight is v2's (cpu.weight, 1..10000, default 100). Give one;
	// each backend converts to its own with the formula runc and crun use.
	Shares uint64
	Weight uint64
	// Cpus and Mems are cpuset lists such as "0-2,4".
	Cpus string
	Mems string
}

// quotaField is the field of the CPU time limit that is set: Quota, else
// Period.
func (c *CPU) quotaField() Field {
	if c.Quota == 0 && c.Period != 0 {
		return FieldCPUPeriod
	}
	return FieldCPUQuota
}

// weightField is the field of the relative weight that is set: Shares,
// else Weight.
func (c *CPU) weightField() Field {
	if c.Shares != 0 {
		return FieldCPUShares
	}
	return FieldCPUWeight
}

// Pids is linux.resources.pids.
type Pids struct {
	// Limit is the maximum number of tasks (processes and threads) in the
	// group (pids.max).
	Limit int64
}

// MaxPids is the largest pids limit the kernel takes: PID_MAX_LIMIT
// (include/linux/threads.h), 4194304 on the 64-bit kernels rawns is built
// for. pids.max refuses anything above it with EINVAL (kernel/cgroup/pids.c:
// PIDS_MAX, PID_MAX_LIMIT + 1, stands for "max" itself), and no system has
// more tasks than that, so a limit of MaxPids never bites.
const MaxPids = 1 << 22

// DefaultPeriod is the CFS period the kernel uses when none is written.
const DefaultPeriod = 100000

// MinMemory is the smallest memory limit Validate takes: 1 MiB. What a run
// is charged before its command runs is the child's own memory (a
// fork-style child's copy of rawns's page tables and the pages it writes
// before exec) and the exec itself (the new program's page tables, stack
// and argument pages). The most measured was 331 KiB, for --init; a
// vfork-style /bin/true needed 195 KiB (Linux 6.18, amd64, cgroup v1:
// the smallest --memory under which `rawns run ... -- /bin/true` exits 0).
// Below that the kernel refuses the clone or the exec (ENOMEM, E2BIG) or
// kills the child; 1 MiB leaves room for a bigger rawns and other kernels.
// Docker's floor is 6 MiB (it also counts the runtime's own start-up).
const MinMemory = 1 << 20

// IsZero reports whether no limit is set.
func (r *Resources) IsZero() bool {
	return r.Memory == Memory{} && r.CPU == CPU{} && r.Pids == Pids{} && len(r.Devices) == 0
}

// Validate checks r without touching the system. Its errors are *Error,
// naming the field at fault.
func (r *Resources) Validate() error {
	m := r.Memory
	if m.Limit < 0 {
		return fieldErr(FieldMemoryLimit, "memory limit %d is negative", m.Limit)
	}
	if m.Limit > 0 && m.Limit < MinMemory {
		return &Error{Field: FieldMemoryLimit, Err: fmt.Errorf("memory limit %d bytes is below %d (1 MiB), the smallest a command can be started under: the child's own pages before exec and the exec itself are charged to the run", m.Limit, MinMemory)}
	}
	if m.Swap != 0 {
		if m.Limit == 0 {
			return fieldErr(FieldMemorySwap, "a memory+swap limit needs a memory limit too")
		}
		if m.Swap != -1 && m.Swap < m.Limit {
			return fieldErr(FieldMemorySwap, "memory+swap limit %d is below the memory limit %d; it counts memory and swap together", m.Swap, m.Limit)
		}
	}
	c := r.CPU
	if c.Quota < 0 || c.Quota > 0 && c.Quota < 1000 {
		return fieldErr(FieldCPUQuota, "CPU quota %dµs: the kernel needs at least 1000µs per period", c.Quota)
	}
	if c.Period != 0 && (c.Period < 1000 || c.Period > 1000000) {
		return fieldErr(FieldCPUPeriod, "CPU period %dµs is outside the kernel's 1000..1000000µs", c.Period)
	}
	if c.Shares != 0 && c.Weight != 0 {
		return fieldErr(FieldCPUWeight, "give CPU shares (v1) or a CPU weight (v2), not both")
	}
	if c.Shares != 0 && (c.Shares < 2 || c.Shares > 262144) {
		return fieldErr(FieldCPUShares, "CPU shares %d is outside 2..262144", c.Shares)
	}
	if c.Weight != 0 && c.Weight > 10000 {
		return fieldErr(FieldCPUWeight, "CPU weight %d is outside 1..10000", c.Weight)
	}
	for _, l := range []struct {
		field Field
		what  string
		s     string
	}{{FieldCPUCpus, "cpuset cpus", c.Cpus}, {FieldCPUMems, "cpuset mems", c.Mems}} {
		if l.s != "" {
			if _, err := ParseList(l.s); err != nil {
				return &Error{Field: l.field, Err: fmt.Errorf("%s: %w", l.what, err)}
			}
		}
	}
	if r.Pids.Limit < 0 {
		return fieldErr(FieldPidsLimit, "pids limit %d is negative", r.Pids.Limit)
	}
	if r.Pids.Limit > MaxPids {
		return fieldErr(FieldPidsLimit, "pids limit %d is above %d, the most the kernel takes (PID_MAX_LIMIT: no system has more tasks); give at most %d", r.Pids.Limit, MaxPids, MaxPids)
	}
	if err := validateDevices(r.Devices); err != nil {
		return err
	}
	return nil
}

// weight converts v1 shares to a v2 weight, as runc and crun do: the
// ranges 2..262144 and 1..10000 mapped linearly.
func sharesToWeight(s uint64) uint64 {
	return 1 + ((s-2)*9999)/262142
}

// weightToShares is the inverse of sharesToWeight.
func weightToShares(w uint64) uint64 {
	return 2 + ((w-1)*262142)/9999
}

// ParseCPUs turns docker's --cpus (a decimal number of CPUs, 0.25 being a
// quarter of one) into a CFS quota over DefaultPeriod, in microseconds.
func ParseCPUs(s string) (quota int64, period uint64, err error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, 0, fmt.Errorf("%q is not a number of CPUs; give a decimal such as 0.5 or 2", s)
	}
	if f <= 0 {
		return 0, 0, fmt.Errorf("%q CPUs: give a number above zero", s)
	}
	q := math.Round(f * DefaultPeriod)
	if q < 1000 {
		return 0, 0, fmt.Errorf("%q CPUs is below the kernel's minimum quota, 0.01 CPUs", s)
	}
	if q > 1<<40 {
		return 0, 0, fmt.Errorf("%q CPUs is too large", s)
	}
	return int64(q), DefaultPeriod, nil
}

// ParseList parses a cpuset list ("0-2,4,7-8") into the numbers it names,
// in order, as cpuset(7) writes them.
func ParseList(s string) ([]int, error) {
	var out []int
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("empty list; give CPU numbers such as 0-1,3")
	}
	for _, part := range strings.Split(strings.TrimSpace(s), ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 0 || b < a || b > 1<<16 {
			return nil, fmt.Errorf("%q is not a list such as 0-1,3", s)
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out, nil
}
