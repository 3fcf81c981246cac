package bench

import (
	"fmt"
	"runtime"

	"github.com/rawns/rawns/cgroup"
	"github.com/rawns/rawns/clone"
)

// CgroupStrategyNames are the limited-run strategies: rawns-vfork and
// rawns-fork with a cgroup of their own per spawn (made with a memory, a
// pids and a CPU limit, the child placed in it, the kernel's figures read,
// killed-all and removed; docs/cgroups.md). Not in the default list, which
// stays comparable with earlier runs; ask for them with --strategies, next
// to rawns-vfork for the ratio:
//
//	rawns bench --strategies c-vfork,rawns-vfork,rawns-vfork-cgroup
var CgroupStrategyNames = []string{"rawns-vfork-cgroup", "rawns-fork-cgroup"}

// cgroupLimits are the limits of every limited spawn.
var cgroupLimits = cgroup.Resources{
	Memory: cgroup.Memory{Limit: 64 << 20},
	Pids:   cgroup.Pids{Limit: 64},
	CPU:    cgroup.CPU{Quota: 50000, Period: 100000},
}

func newCgroupStrategy(name string, job *Job) (*Strategy, error) {
	spec := clone.Spec{
		Path: job.Path, Args: job.Args, Env: job.Env,
		Namespaces: job.Namespaces, Hostname: job.hostname(),
		Mode: clone.ModeVfork, Syscall: clone.SyscallClone3,
	}
	if name == "rawns-fork-cgroup" {
		spec.Mode = clone.ModeFork
	}
	if job.Null != nil {
		fd := int(job.Null.Fd())
		spec.Stdio = []int{fd, fd, fd}
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	// One cgroup made and removed up front: a host without the
	// controllers, or without privilege, is a note, not a failure.
	cg, err := cgroup.New(cgroup.Options{Resources: cgroupLimits})
	if err != nil {
		return nil, err
	}
	cg.Close()
	about := fmt.Sprintf("rawns clone.StartHere %s-style in a cgroup of its own per spawn (cgroup.New with memory, pids and cpu limits, Start, Stats, Close)", spec.Mode)
	return &Strategy{Name: name, About: about, spawn: func() error {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		cg, err := cgroup.New(cgroup.Options{Resources: cgroupLimits})
		if err != nil {
			return err
		}
		defer cg.Close()
		s := spec
		p, _, err := cg.Start(&s)
		if err != nil {
			return err
		}
		st, err := p.Wait()
		if err != nil {
			return err
		}
		cg.Stats()
		if st.ExitCode() != 0 {
			return fmt.Errorf("%s: %v", job.Path, st)
		}
		return cg.Close()
	}}, nil
}
