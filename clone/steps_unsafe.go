//go:build linux && (amd64 || arm64)

package clone

import (
	"fmt"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The step table: the child's variable-length work, compiled by the parent
// into prepared system calls that the child makes in order (runSteps),
// one rawSyscall6 each. What varies with the spec (the namespaces joined,
// the mounts, the procfs writes, the fds the program gets) is a list the
// parent expands; the child has one loop for all of it, instead of a block
// per concern.
//
// The table is split into segments, each run at its place in the child's
// order (childMain): segJoin among the namespace steps, segMount after
// them, segProcfs after the mounts, segFDs after the console. A segment
// ends where the next begins (childData.seg).
//
// Indices: a uint16 into an array of 1<<16 entries, which the compiler
// proves in range without a check (a signed or wider index brought
// runtime.panicIndex into the child, which the guard refuses). The parent
// allocates exactly the steps a spec needs and the child reads no further
// than the last segment's end; the array type only lets the compiler
// prove the index. Slot numbers are masked with numSlots-1 the same way,
// and the parent never emits a slot it did not allocate.

const (
	// maxSteps bounds the table: a uint16 index.
	maxSteps = 1 << 16
	// numSlots bounds the fd slots (fixed ones and one per bind source,
	// MaxMounts at most): masked with numSlots-1.
	numSlots = 2048
)

// The segments of the table, in the child's order. childData.seg has
// segSlots entries, indexed masked with segSlots-1.
const (
	segJoin = iota
	segProcfs
	segMount
	segFDs
	numSegs

	segSlots = 8
)

// numSegs must fit in childData.seg.
var _ [segSlots - numSegs]struct{}

// step is one prepared system call: trap(a[0], ..., a[5]), every pointer
// argument already pointing into memory the parent prepared. Bit i of
// slots says that a[i] is not a value but a slot number, whose value the
// child passes instead: a slot holds what an earlier step returned (save),
// so that open_tree's fd reaches move_mount without the parent knowing its
// number.
//
// Control flow is forward only, so the walk always ends: after a success
// the child skips skipOK steps; after one of the errnos of ok (EEXIST for
// a mount point that is there, ENOENT for a masked path that is not,
// ENOTDIR for one that is a file), it skips that errno's steps; any other
// errno fails the child with the step's stage and index.
type step struct {
	trap   uintptr
	a      [6]uintptr
	slots  uint8
	stage  uint8 // the Stage reported if the step fails
	save   uint16
	skipOK uint16
	ok     [2]stepErrno
}

// stepErrno is an errno that counts as success, and the steps to skip
// after it; errno 0 is none.
type stepErrno struct {
	errno, skip uint16
}

// allow makes errno count as success for st, skipping skip steps after it.
func (st *step) allow(errno unix.Errno, skip int) {
	for i := range st.ok {
		if st.ok[i].errno == 0 {
			st.ok[i] = stepErrno{uint16(errno), uint16(skip)}
			return
		}
	}
	panic("clone: a step allows two errnos at most")
}

// runSteps makes the steps of segment seg. On failure it leaves the stage
// and the step's index (plus one, 0 meaning "no step") in d.report and
// returns the errno.
//
//go:nosplit
//go:norace
//go:nocheckptr
func runSteps(d *childData, seg int) syscall.Errno {
	var (
		first, end uint32
		k          uint32 // the step's index: uint32, so that k+1+skip cannot wrap
		j          uint
		st         *step
		arg        [6]uintptr
		ret        uintptr
		errno      syscall.Errno
	)
	end = uint32(d.seg[seg&(segSlots-1)])
	if seg > 0 {
		first = uint32(d.seg[(seg-1)&(segSlots-1)])
	}
	for k = first; k < end; {
		st = &d.steps[uint16(k)]
		for j = 0; j < uint(len(arg)); j++ {
			arg[j] = st.a[j]
			if st.slots&(1<<j) != 0 {
				arg[j] = d.slot[arg[j]&(numSlots-1)]
			}
		}
		ret, _, errno = rawSyscall6(st.trap, arg[0], arg[1], arg[2], arg[3], arg[4], arg[5])
		switch {
		case errno == 0:
			if st.save != slotNone {
				d.slot[st.save&(numSlots-1)] = ret
			}
			k += 1 + uint32(st.skipOK)
		case uintptr(errno) == uintptr(st.ok[0].errno):
			k += 1 + uint32(st.ok[0].skip)
		case uintptr(errno) == uintptr(st.ok[1].errno):
			k += 1 + uint32(st.ok[1].skip)
		default:
			d.x.report.stage = uint32(st.stage)
			d.x.report.step = k + 1
			return errno
		}
	}
	return 0
}

// Slots every segment may use. slotNone: the result is not kept (and a
// table without slots needs no slot array).
const (
	slotNone     = iota
	slotRoot     // O_PATH fd of the root
	slotMnt      // a detached mount: open_tree(2) or fsmount(2)
	slotFS       // a filesystem context: fsopen(2)
	slotAt       // the target or its parent directory: openat2(2)
	slotOvl      // the overlay's filesystem context
	slotTmp      // the overlay's tmpfs
	slotDevNull  // the host's /dev/null, O_PATH: what masks a file
	slotUmask    // the umask before a device node's mknodat
	slotProc     // the child's own proc, detached (procfs.go)
	slotRootTree // the root's tree, detached (mountSteps)

	// slotBind+i holds the i-th mount of the list that is taken detached
	// before anything is attached: a bind's source, a new filesystem.
	slotBind = 16
)

// stepInfo is what the parent knows of a step, to name it in an error.
type stepInfo struct {
	syscall, detail string
	list            string // the Spec list the step serves an entry of: "Mounts", "ExtraFDs", ...; "" for none
	index           int    // the entry's index there
}

// stepArg is one argument of a step while it is built: a value (a number,
// or a pointer into the prepared buffers), or a slot number.
type stepArg struct {
	slot bool
	v    uintptr
}

func val(v uintptr) stepArg { return stepArg{v: v} }
func slot(n uint16) stepArg { return stepArg{slot: true, v: uintptr(n)} }

// stepBuilder builds the table in two passes over the same code: the first
// only counts (steps, string bytes, open_hows, mount_attrs, slots; for the
// mounts assuming that no mount point exists, the most steps there can
// be); the second writes into buffers of those capacities, which
// therefore never move, so a pointer into them can be taken at once. One
// allocation per buffer, no growth: in a process that lives a few
// milliseconds each fresh heap page is a page fault, about 12 µs on the
// VMs rawns is measured on.
type stepBuilder struct {
	count bool

	steps []step
	info  []stepInfo
	strs  []byte
	hows  []unix.OpenHow
	attrs []unix.MountAttr

	nsteps, nstrs, nhows, nattrs int
	nslots                       int // slots used: the highest number plus one
	scratch                      step
	seg                          [segSlots]uint16

	noInfo  bool   // segFDs: its steps describe themselves (describeFDStep)
	atDir   string // the directory whose fd slotAt holds, or ""
	created string // the file the last step created, its fd in slotAt

	// What the steps being emitted serve, for stepInfo.
	list  string
	index int
	stage Stage
}

func (b *stepBuilder) str(s string) stepArg {
	if b.count {
		b.nstrs += len(s) + 1
		return stepArg{}
	}
	off := len(b.strs)
	b.strs = append(append(b.strs, s...), 0)
	return val(uintptr(unsafe.Pointer(&b.strs[off])))
}

func (b *stepBuilder) how(h unix.OpenHow) stepArg {
	if b.count {
		b.nhows++
		return stepArg{}
	}
	b.hows = append(b.hows, h)
	return val(uintptr(unsafe.Pointer(&b.hows[len(b.hows)-1])))
}

func (b *stepBuilder) attr(a unix.MountAttr) stepArg {
	if b.count {
		b.nattrs++
		return stepArg{}
	}
	b.attrs = append(b.attrs, a)
	return val(uintptr(unsafe.Pointer(&b.attrs[len(b.attrs)-1])))
}

// serving sets what the next steps serve: an entry of a Spec list, or
// nothing (list "").
func (b *stepBuilder) serving(list string, index int, stage Stage) {
	b.list, b.index, b.stage = list, index, stage
}

// sys appends one system call; the options set on the step it returns
// (saveTo, allow, skipOK) apply to it.
func (b *stepBuilder) sys(name string, trap uintptr, args ...stepArg) *step {
	return b.sysd(name, "", trap, args...)
}

// sysd is sys with a detail for errors (the filesystem type, the option).
func (b *stepBuilder) sysd(name, detail string, trap uintptr, args ...stepArg) *step {
	for _, a := range args {
		if a.slot {
			b.nslots = max(b.nslots, int(a.v)+1)
		}
	}
	if b.count {
		b.nsteps++
		b.scratch = step{}
		return &b.scratch
	}
	b.steps = append(b.steps, step{trap: trap, stage: uint8(b.stage)})
	if !b.noInfo {
		b.info = append(b.info, stepInfo{syscall: name, detail: detail, list: b.list, index: b.index})
	}
	st := &b.steps[len(b.steps)-1]
	for j, a := range args {
		st.a[j] = a.v
		if a.slot {
			st.slots |= 1 << j
		}
	}
	return st
}

// n is the number of steps emitted so far, in either pass: what skips
// are counted with.
func (b *stepBuilder) n() int {
	if b.count {
		return b.nsteps
	}
	return len(b.steps)
}

// at is the i-th step emitted (the scratch step in the counting pass).
func (b *stepBuilder) at(i int) *step {
	if b.count {
		return &b.scratch
	}
	return &b.steps[i]
}

// saveTo makes st save its result in slot n.
func (b *stepBuilder) saveTo(st *step, n uint16) {
	b.nslots = max(b.nslots, int(n)+1)
	st.save = n
}

// endSegment closes segment seg at the current step.
func (b *stepBuilder) endSegment(seg int) {
	n := b.nsteps
	if !b.count {
		n = len(b.steps)
	}
	b.seg[seg] = uint16(n)
}

// stepTable views steps as the fixed-size array the child indexes with a
// uint16 (no bounds check, so no call to panicIndex on the child path). The
// child reads only the entries below the last segment's end, which steps
// holds; the array type only lets the compiler prove the index in range.
//
//go:nocheckptr
func stepTable(steps []step) *[maxSteps]step {
	return (*[maxSteps]step)(unsafe.Pointer(unsafe.SliceData(steps)))
}

// slotTable is stepTable for the slots: slots holds every slot number the
// steps use.
//
//go:nocheckptr
func slotTable(slots []uintptr) *[numSlots]uintptr {
	return (*[numSlots]uintptr)(unsafe.Pointer(unsafe.SliceData(slots)))
}

// describeStep fills in a ChildError from the i-th step of the table.
// Stages of the table: StageJoin, StageSysctl, StageOOMScoreAdj, the mount
// phase's, StageFDs.
func (p *prepared) describeStep(spec *Spec, ce *ChildError, i int) {
	ce.Step = i
	if i >= int(p.table.seg[segMount]) {
		describeFDStep(ce, &p.table.steps[i])
		return
	}
	info := p.table.info[i]
	ce.Syscall, ce.List, ce.Index = info.syscall, info.list, info.index
	if info.detail != "" {
		ce.Syscall += " " + info.detail
	}
	switch {
	case info.list == "Mounts":
		ce.Subject = spec.Mounts[info.index].String()
	case info.list == "Sysctls":
		ce.Subject = "sysctl " + spec.Sysctls[info.index].Name
	case info.list == "Join":
		ce.Subject = "join " + spec.Join[info.index].Kinds.String()
	case ce.Stage == StageOOMScoreAdj:
		ce.Subject = "oom_score_adj"
	case ce.Stage == StagePivot:
		ce.Subject = "pivot_root into " + spec.Root
	case ce.Stage == StageReadOnlyRoot:
		ce.Subject = "making / read-only"
	case ce.Stage == StageRootPropagation:
		ce.Subject = "the propagation of /"
	case ce.Stage == StageChdir:
		ce.Subject = "chdir " + spec.Dir
	case spec.Overlay || spec.OverlayDir != "":
		ce.Subject = "overlay on " + spec.Root
	case spec.Root != "":
		ce.Subject = "root " + spec.Root
	default:
		ce.Subject = "the mount phase"
	}
}

// buildTable compiles the segments the parent knows before the clone
// (joins, mounts, procfs writes); segFDs needs the error pipe's number and
// comes after (finishTable). A spec with none of them allocates nothing
// here: a plain run pays for no table but its three fd steps.
func (p *prepared) buildTable(spec *Spec) error {
	hasMounts := spec.hasMountPhase()
	nfds := 3 + len(spec.ExtraFDs)
	c := &stepBuilder{count: true}
	c.joinSteps(spec)
	if hasMounts {
		c.sharedBindSteps(spec)
	}
	c.endSegment(segJoin)
	c.procfsSteps(spec)
	c.endSegment(segProcfs)
	if hasMounts {
		c.mountSteps(spec, nil)
	}
	c.joinedDirSteps(spec)
	c.endSegment(segMount)
	if most := c.nsteps + maxFDSteps(nfds, numKept); most >= maxSteps {
		return fmt.Errorf("the spec needs up to %d system calls in the child's table; at most %d fit: give fewer mounts", most, maxSteps-1)
	}
	if c.nsteps == 0 {
		return nil
	}
	b := &p.table
	*b = stepBuilder{
		steps: make([]step, 0, c.nsteps+maxFDSteps(nfds, numKept)),
		info:  make([]stepInfo, 0, c.nsteps),
	}
	if c.nstrs > 0 {
		b.strs = make([]byte, 0, c.nstrs)
	}
	if c.nhows > 0 {
		b.hows = make([]unix.OpenHow, 0, c.nhows)
	}
	if c.nattrs > 0 {
		b.attrs = make([]unix.MountAttr, 0, c.nattrs)
	}
	b.joinSteps(spec)
	if hasMounts {
		b.sharedBindSteps(spec)
	}
	b.endSegment(segJoin)
	b.procfsSteps(spec)
	b.endSegment(segProcfs)
	if hasMounts {
		ex, err := newExistence(spec.Root)
		if err != nil {
			return err
		}
		b.mountSteps(spec, ex)
		ex.close()
	}
	b.joinedDirSteps(spec)
	b.endSegment(segMount)
	if c.nslots > 0 {
		p.slots = make([]uintptr, c.nslots)
		p.d.slot = slotTable(p.slots)
	}
	return nil
}

// finishTable emits segFDs once the error pipe exists, and points the
// child at the table.
func (p *prepared) finishTable(spec *Spec, errPipe int) {
	d := &p.d
	var srcBuf [8]int
	var opsBuf [8]fdOp
	srcs := srcBuf[:0]
	switch {
	case spec.ConsoleSocket != 0:
		srcs = append(srcs, -1, -1, -1) // the console's slave
	case spec.Stdio != nil:
		srcs = append(srcs, spec.Stdio...)
	default:
		srcs = append(srcs, 0, 1, 2)
	}
	srcs = append(srcs, spec.ExtraFDs...)
	pl := planFDs(srcs, [numKept]int{errPipe, d.gateFD, d.execFD}, opsBuf[:0])
	b := &p.table
	if b.steps == nil {
		b.steps = make([]step, 0, len(pl.ops))
	}
	b.noInfo = true
	b.fdSteps(pl)
	b.endSegment(segFDs)
	d.steps = stepTable(b.steps)
	d.seg = b.seg
	d.pipe, d.x.pipe = errPipe, errPipe
	d.pipeAfterFDs, d.gateFD, d.execFD = pl.kept[0], pl.kept[1], pl.kept[2]
	d.consoleFD = uintptr(pl.consoleFD)
	d.firstCloexec = uintptr(pl.firstCloexec)
	if d.shimPipe {
		strconv.AppendInt(p.shimPipe[:0], int64(d.pipeAfterFDs), 10)
	}
	if d.execFD >= 0 {
		strconv.AppendInt(append(p.execProc[:0], "/proc/self/fd/"...), int64(d.execFD), 10)
		d.execProc = &p.execProc[0]
	}
}
