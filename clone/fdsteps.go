package clone

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// The program's fd table, planned in the parent and made by the child's
// segFDs steps: Stdio on 0, 1 and 2, ExtraFDs on 3, 4, ..., each with
// close-on-exec cleared, and the fds the child itself still needs after
// that (the error pipe, the gate, ExecFD) kept above them, close-on-exec.
// The child then marks every fd from 3+len(ExtraFDs) up close-on-exec
// (close_range(2); childFDs), so the program holds exactly what was asked
// (CVE-2024-21626: no fd of the host it did not ask for).
//
// The parent knows every number involved, so the order of the dup3(2)s is
// decided here, where it can be tested, not in the child: targets are
// written in increasing order, and a source that a target written before
// its last use would overwrite is first copied above every fd in use, as
// is a kept fd that sits on a target. A console's slave (Spec.
// ConsoleSocket), whose number the parent cannot know, is put by the child
// on consoleFD, a number reserved here, before the steps run.

// fdOp is one step of the plan: dup3(from, to, flags), or, when from ==
// to, fcntl(to, F_SETFD, 0), which clears close-on-exec in place (dup3
// refuses equal fds).
type fdOp struct {
	from, to int
	cloexec  bool // the copy stays close-on-exec: a move, not a target
	target   int  // for a target, its index in srcs; -1 for a move
}

// fdPlan is the plan for srcs (the source of fd i for each i) and the
// kept fds.
type fdPlan struct {
	ops []fdOp
	// kept holds the numbers the kept fds have after ops, in the order
	// given; -1 for none.
	kept [numKept]int
	// consoleFD is the number reserved for a console's slave, or -1.
	consoleFD int
	// firstCloexec is the first fd above the targets: len(srcs).
	firstCloexec int
}

// numKept is the number of fds planFDs keeps for the child: the error
// pipe, the gate, ExecFD.
const numKept = 3

// planFDs plans the fd table, appending its steps to ops (a buffer of the
// caller's: a plain run's plan allocates nothing). srcs[i] is the parent's
// fd that becomes fd i (-1 for the console's slave, whose number is
// reserved here); keep are fds the child needs after the steps (-1 for
// none). Every number in srcs and keep is open in the child when the steps
// run.
func planFDs(srcs []int, keep [numKept]int, ops []fdOp) fdPlan {
	n := len(srcs)
	next := n
	console := false
	for _, fd := range srcs {
		next = max(next, fd+1)
		console = console || fd < 0
	}
	for _, fd := range keep {
		next = max(next, fd+1)
	}
	pl := fdPlan{ops: ops, kept: keep, consoleFD: -1, firstCloexec: n}
	if console {
		pl.consoleFD = next
		next++
	}
	// src is where target i's file is before any step.
	src := func(i int) int {
		if srcs[i] < 0 {
			return pl.consoleFD
		}
		return srcs[i]
	}
	// copyOf is where a move put fd, or -1.
	copyOf := func(fd int) int {
		for _, op := range pl.ops {
			if op.target < 0 && op.from == fd {
				return op.to
			}
		}
		return -1
	}
	move := func(fd int) int {
		if c := copyOf(fd); c >= 0 {
			return c
		}
		pl.ops = append(pl.ops, fdOp{from: fd, to: next, cloexec: true, target: -1})
		next++
		return next - 1
	}
	// A kept fd on a target that is written is copied above first.
	for k, fd := range keep {
		if fd >= 0 && fd < n && src(fd) != fd {
			pl.kept[k] = move(fd)
		}
	}
	// A source on a target that is written before the source's last use
	// (targets are written in increasing order) is copied above first.
	for i := range n {
		if fd := src(i); fd < n && fd != i && src(fd) != fd && lastUse(srcs, pl.consoleFD, fd) > fd {
			move(fd)
		}
	}
	for i := range n {
		fd := src(i)
		if c := copyOf(fd); c >= 0 {
			fd = c
		}
		pl.ops = append(pl.ops, fdOp{from: fd, to: i, target: i})
	}
	return pl
}

// lastUse is the highest target whose source is fd.
func lastUse(srcs []int, consoleFD, fd int) int {
	last := -1
	for i, s := range srcs {
		if s == fd || s < 0 && consoleFD == fd {
			last = i
		}
	}
	return last
}

// fdSteps emits the plan into segFDs. The steps carry no stepInfo: a
// failing one is described from its own arguments (describeFDStep).
func (b *stepBuilder) fdSteps(pl fdPlan) {
	b.serving("", -1, StageFDs)
	for _, op := range pl.ops {
		switch {
		case op.from == op.to:
			b.sys("", unix.SYS_FCNTL, val(uintptr(op.to)), val(unix.F_SETFD), val(0))
		case op.cloexec:
			b.sys("", unix.SYS_DUP3, val(uintptr(op.from)), val(uintptr(op.to)), val(unix.O_CLOEXEC))
		default:
			b.sys("", unix.SYS_DUP3, val(uintptr(op.from)), val(uintptr(op.to)), val(0))
		}
	}
	b.serving("", -1, StageNone)
}

// describeFDStep fills in a ChildError from a failing step of segFDs.
func describeFDStep(ce *ChildError, st *step) {
	target := int(st.a[1])
	switch {
	case st.trap == unix.SYS_FCNTL:
		ce.Syscall, target = "fcntl F_SETFD 0", int(st.a[0])
	case st.a[2] == unix.O_CLOEXEC:
		ce.Syscall, target = "dup3 O_CLOEXEC", -1
	default:
		ce.Syscall = "dup3"
	}
	switch {
	case target < 0:
		ce.Subject = "moving fd " + strconv.Itoa(int(st.a[0])) + " above the program's"
	case target < 3:
		ce.List, ce.Index = "Stdio", target
		ce.Subject = "fd " + strconv.Itoa(target) + " (Stdio[" + strconv.Itoa(target) + "])"
	default:
		ce.List, ce.Index = "ExtraFDs", target-3
		ce.Subject = "fd " + strconv.Itoa(target) + " (ExtraFDs[" + strconv.Itoa(target-3) + "])"
	}
}

// maxFDSteps is the most steps a plan of n targets and k kept fds makes:
// a target step each, a move for each source and each kept fd at most.
func maxFDSteps(n, k int) int { return 2*n + k }
