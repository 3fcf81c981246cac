package cgroup

import (
	"errors"
	"runtime"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
)

// Placement names how Start put the last child in its cgroup.
type Placement string

const (
	// PlaceCloneInto: clone3 with CLONE_INTO_CGROUP; the child is born in
	// its cgroup v2 directory, and the clone style is unchanged.
	PlaceCloneInto Placement = "clone3-into-cgroup"
	// PlaceThread: the cloning thread moves into the v1 cgroups before the
	// clone and back after; the child is born there, the clone style is
	// unchanged. On a hybrid host the cgroup2 directory is still reached
	// with CLONE_INTO_CGROUP in the same clone ("clone3-into-cgroup+thread").
	PlaceThread Placement = "thread"
	// PlaceHold: no clone3 on a cgroup v2 host. The child is cloned
	// fork-style and waits before exec while the parent writes its pid to
	// cgroup.procs (clone.Spec.Hold): still in place before exec, but
	// vfork-style is lost.
	PlaceHold Placement = "fork-hold"
)

// Start starts spec inside the cgroup and returns once the program has
// exec'd, in place from its first instruction: the child is created
// inside (v2, CLONE_INTO_CGROUP) or by a thread that is inside (v1), or,
// where clone3 is missing on a pure v2 host, placed while it waits before
// exec. spec is not modified.
//
// Start clones from the calling thread, as clone.StartHere after
// clone.PinThread: off the main thread the calling goroutine stays locked
// to its OS thread and must outlive the child (PR_SET_PDEATHSIG fires when
// the cloning thread exits).
func (c *Cgroup) Start(spec *clone.Spec) (*clone.Process, Placement, error) {
	s := *spec
	if s.Init && s.Mode == clone.ModeAuto {
		// PID 1 as a copy of this process, never on its memory: an OOM
		// kill of PID 1 in the cgroup's memory limit would kill every
		// process that shares its memory (clone/init_unsafe.go).
		s.Mode = clone.ModeFork
	}
	clone.PinThread()
	useFD := c.v2 != nil && c.v2.fd >= 0 && s.Syscall != clone.SyscallClone
	if useFD {
		s.UseCgroupFD, s.CgroupFD = true, int32(c.v2.fd)
	}
	if c.v1 == nil {
		if useFD {
			p, err := clone.StartHere(&s)
			if !errors.Is(err, clone.ErrNoCloneIntoCgroup) {
				return p, PlaceCloneInto, err
			}
		}
		// The spec as adjusted above (Init's fork-style), not the
		// caller's.
		return c.startHold(&s)
	}
	p, err := c.startThreadV1(&s)
	pl := PlaceThread
	if useFD {
		pl = PlaceCloneInto + "+" + PlaceThread
	}
	if errors.Is(err, clone.ErrNoCloneIntoCgroup) {
		// A hybrid host without clone3: the limits are all in v1, which
		// the thread reaches; drop the controller-less cgroup2 directory
		// (kill-all then goes through the freezer, if mounted).
		c.v2.remove()
		c.v2 = nil
		if fz := c.layout.V1["freezer"]; fz != nil && c.v1.member("freezer") == nil {
			if dir, err := c.parentDir(fz); err == nil {
				m := &v1Member{h: fz, dir: dir + "/" + c.Name, ctls: []string{"freezer"}}
				if mkdirCgroup(m.dir, fz.Mount, &c.v1.made) == nil {
					m.created = true
					c.v1.members = append(c.v1.members, m)
				}
			}
		}
		s.UseCgroupFD = false
		p, err = c.startThreadV1(&s)
		pl = PlaceThread
	}
	return p, pl, err
}

// startThreadV1 is startThread from a thread that is not the process's
// thread-group leader when the v1 memory controller is used. v1 charges a
// page to the memcg of its mm's owner, the leader, not of the thread that
// faults (mm->owner, mm/memcontrol.c; docs/cgroups.md measured it): with the
// leader inside, every page rawns itself touched during the clone was
// charged to the run, and under a small --memory the kernel's OOM killer
// chose rawns, the biggest process in the run's memcg, and killed it with
// its vfork child before anything could be said or removed (exit 137, the
// cgroups left). From another thread, rawns's memory stays in rawns's own
// cgroup, and so does a vfork child's before exec (it shares rawns's mm);
// what the run is charged is the child's own: a fork-style child's page
// tables and copy-on-write pages, and the command from its exec. The OOM
// killer never picks rawns then: it walks the run's processes by their
// thread-group leader (CSS_TASK_ITER_PROCS), and rawns's is outside, and a
// child in vfork is never its victim (oom_badness skips in_vfork tasks).
func (c *Cgroup) startThreadV1(s *clone.Spec) (*clone.Process, error) {
	if c.v1.member("memory") == nil || unix.Gettid() != unix.Getpid() {
		return c.startThread(s)
	}
	var p *clone.Process
	var err error
	onMover(func() { p, err = c.startThread(s) })
	return p, err
}

// The mover: a goroutine locked to an OS thread of its own for the life of
// the process, started on the first run that needs it. It must live that
// long because it is the child's parent thread: PR_SET_PDEATHSIG fires when
// the thread that cloned exits (prctl(2)), and a goroutine that exits while
// locked takes its thread with it.
var (
	moverOnce sync.Once
	moverc    chan func()
)

// onMover runs fn on the mover's thread, which is never the thread-group
// leader, and waits for it.
func onMover(fn func()) {
	// The caller stays on its thread meanwhile: the main thread, locked to
	// the main goroutine, runs nothing else, so the mover cannot be started
	// there.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	moverOnce.Do(func() {
		moverc = make(chan func())
		go func() {
			runtime.LockOSThread()
			// Never unlocked, never returns: see above.
			for fn := range moverc {
				fn()
			}
		}()
	})
	done := make(chan struct{})
	moverc <- func() { fn(); close(done) }
	<-done
}

// startThread clones with the calling thread inside the v1 cgroups. The
// goroutine is locked to its thread from the move in to the move out, so
// that the thread moved is the thread that clones.
func (c *Cgroup) startThread(s *clone.Spec) (*clone.Process, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid := unix.Gettid()
	// A thread that joins a v1 cpuset takes its CPUs as affinity, and
	// going back gives it the old cpuset's, not what it had: keep it.
	var mask unix.CPUSet
	haveMask := c.v1.member("cpuset") != nil && unix.SchedGetaffinity(0, &mask) == nil
	back, err := c.v1.enter(tid)
	if err != nil {
		return nil, err
	}
	p, err := clone.StartHere(s)
	lerr := c.v1.leave(tid, back, back.entered)
	if haveMask {
		unix.SchedSetaffinity(0, &mask)
	}
	if err == nil && lerr != nil {
		// The command runs, but this thread may be left in its cgroup:
		// stop it rather than run half-limited.
		p.Signal(unix.SIGKILL)
		p.Wait()
		return nil, lerr
	}
	return p, err
}

// startHold is the placement without clone3 on a v2 host: fork-style, the
// child waits before exec while its pid goes into cgroup.procs.
func (c *Cgroup) startHold(spec *clone.Spec) (*clone.Process, Placement, error) {
	s := *spec
	s.UseCgroupFD = false
	if s.Mode == clone.ModeVfork {
		s.Mode = clone.ModeAuto
	}
	inner := s.Hold
	s.Hold = func(h clone.Held) error {
		if err := writeFile(c.v2.dir, "cgroup.procs", strconv.Itoa(h.Pid)); err != nil {
			return permHint(err)
		}
		if inner != nil {
			return inner(h)
		}
		return nil
	}
	p, err := clone.StartHere(&s)
	return p, PlaceHold, err
}
