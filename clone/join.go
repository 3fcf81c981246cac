package clone

import (
	"errors"
	"fmt"
	"slices"

	"golang.org/x/sys/unix"
)

// Join is one existing namespace (or several, through a pidfd) for the
// child to enter with setns(2): OCI's linux.namespaces[].path, and an
// exec into a running container.
type Join struct {
	// Kinds is the namespace kind(s) to enter: with an nsfs FD exactly
	// its one kind; with a pidfd, any set of kinds the target does not
	// share with the caller (setns of a pidfd enters each kind named,
	// and a time namespace needs a process alone on its memory even when
	// it is the caller's own).
	Kinds Namespaces
	// FD is an nsfs fd (open("/proc/PID/ns/net"), or a bind mount of
	// one), or a pidfd (pidfd_open(2), Process.PidFD, Linux 5.8+).
	FD int
}

// nsGetNSType is NS_GET_NSTYPE of linux/nsfs.h, _IO(0xb7, 0x3) (Linux
// 4.11+): the CLONE_NEW* kind of an nsfs fd.
const nsGetNSType = 0xb703

// joinOrder is the order the child enters the kinds in: the user namespace
// first, which gives the capabilities the others need (setns(2): entering
// a namespace needs CAP_SYS_ADMIN in the user namespace that owns it);
// the mount namespace last, as runc and crun do, since it changes the
// root and working directory; pid is the cloning thread's (joinsPID).
var joinOrder = [...]Namespaces{NewUser, NewIPC, NewUTS, NewNet, NewCgroup, NewTime, NewMount, NewPID}

// joined is the set of kinds Join enters.
func (s *Spec) joined() Namespaces {
	var set Namespaces
	for _, j := range s.Join {
		set |= j.Kinds
	}
	return set
}

// validateJoin checks Join: each fd is what it claims, no kind twice, none
// both joined and created, and a user namespace either joined or created
// alone.
func (s *Spec) validateJoin() error {
	var seen Namespaces
	for i, j := range s.Join {
		what := fmt.Sprintf("Join[%d] (%s, fd %d)", i, j.Kinds, j.FD)
		if j.Kinds == 0 || j.Kinds&^AllNamespaces != 0 {
			return fmt.Errorf("%s: give one or more namespace kinds", what)
		}
		if j.FD < 0 {
			return fmt.Errorf("%s: give an open fd of the namespace, or a pidfd", what)
		}
		if seen&j.Kinds != 0 {
			return fmt.Errorf("%s: %s joined twice", what, seen&j.Kinds)
		}
		seen |= j.Kinds
		if both := s.Namespaces & j.Kinds; both != 0 {
			return fmt.Errorf("%s: %s is both joined and created (Namespaces); give one or the other", what, both)
		}
		kind, err := unix.IoctlRetInt(j.FD, nsGetNSType)
		switch {
		case err == nil && Namespaces(kind) != j.Kinds:
			return fmt.Errorf("%s: the fd is a %s namespace", what, Namespaces(kind))
		case err == nil:
		case err == unix.ENOTTY || err == unix.EINVAL:
			// Not nsfs: a pidfd, or nothing to join.
			if err := unix.PidfdSendSignal(j.FD, 0, nil, 0); err != nil && err != unix.EPERM {
				if err == unix.ESRCH {
					return fmt.Errorf("%s: the process of the pidfd is gone", what)
				}
				return fmt.Errorf("%s: neither a namespace nor a pidfd (%v)", what, err)
			}
			if !kernelAtLeast(5, 8) {
				return fmt.Errorf("%s: entering namespaces through a pidfd needs Linux 5.8; give an fd of /proc/PID/ns/KIND per kind", what)
			}
		default:
			return fmt.Errorf("%s: %v; give an open fd of the namespace", what, err)
		}
	}
	if seen == 0 {
		return nil
	}
	if s.Namespaces&NewUser != 0 {
		return errors.New("a user namespace created by the clone owns no privilege over namespaces joined after it: join the user namespace too, or join nothing")
	}
	if seen&NewTime != 0 && s.Mode == ModeVfork {
		return errors.New("joining a time namespace needs a process alone on its memory (setns(2)); use fork or auto")
	}
	return nil
}

// joinsPID reports the Join entry that enters a PID namespace, or -1.
func (s *Spec) joinsPID() int {
	for i, j := range s.Join {
		if j.Kinds&NewPID != 0 {
			return i
		}
	}
	return -1
}

// joinSteps emits segJoin: a setns(2) per entry, in joinOrder of each
// entry's first kind, the PID namespace left out (the cloning thread
// enters it around the clone: childData.pidJoinFD).
func (b *stepBuilder) joinSteps(spec *Spec) {
	order := make([]int, len(spec.Join))
	for i := range order {
		order[i] = i
	}
	rank := func(k Namespaces) int {
		for r, o := range joinOrder {
			if k&o != 0 {
				return r
			}
		}
		return len(joinOrder)
	}
	slices.SortStableFunc(order, func(a, c int) int { return rank(spec.Join[a].Kinds) - rank(spec.Join[c].Kinds) })
	for _, i := range order {
		j := spec.Join[i]
		kinds := j.Kinds &^ NewPID
		if kinds == 0 {
			continue
		}
		b.serving("Join", i, StageJoin)
		b.sys("setns", unix.SYS_SETNS, val(uintptr(j.FD)), val(uintptr(kinds)))
	}
	b.serving("", -1, StageNone)
}
