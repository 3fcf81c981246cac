//go:build linux && (amd64 || arm64)

package clone

import (
	"sync"

	"golang.org/x/sys/unix"
)

// Spec.GateShared: a gated child (Spec.GateFD) on this process's memory.
//
// A gated child waits, set up, until a later command (OCI's start) writes
// its gate; the process that made it (OCI's create) has usually exited by
// then. Fork-style, the clone copies this process's page tables, flushes
// the other CPUs' TLBs, and every page either side writes afterwards is
// copied on write: on a guest where a page fault costs ~12 µs (shadow
// paging) that is a large part of a create (docs/benchmarks.md). Shared,
// the child is cloned as a shared PID 1 of Spec.Init is (init_unsafe.go):
// clone3 with CLONE_VM|CLONE_CLEAR_SIGHAND and without CLONE_VFORK, on a
// stack mapping of its own (a guard page below), calling childMain itself
// (cloneOnStack), no g, no signal handler, only raw system calls. It reads
// the prepared data until its execve, which may come long after Start
// returned, so the Process keeps that data (and the stack) until it is
// reaped (Wait); a Process that is Released keeps them for the rest of
// this process's life (gateKept), since nothing tells it when the child
// has exec'd. When this process exits first, the memory is the child's
// alone: the kernel keeps an mm while any process uses it, and the child's
// execve drops it.
//
// What the caller promises by asking for it (OCI's create does, see
// package container): until this process exits or reaps the child,
// nothing of the container may reach this process's memory through the
// child, which is this memory. A process that may ptrace the child can
// write it (/proc/PID/mem); so can nothing in the container while it has
// not run (the child is its only process, and it waits at the gate, or
// runs the caller's trusted hooks); create holds the container's lock
// until it exits, so no exec can join before. And a memory cgroup's OOM
// killer kills every process sharing the victim's mm (oom_kill_process),
// so an OOM kill in the container's cgroup while the caller lives would
// kill the caller too: the child's pages are charged to the memory cgroup
// of its mm's owner (this process, outside the container's cgroup) until
// this process exits, so only the kernel objects of the set-up are the
// container's (a few pages), and a create lives milliseconds.
//
// And only in a PID namespace of the child's own (NewPID): then the only
// processes that can name the child are the host's (its parent PID
// namespaces'), which the container cannot be. In a joined PID namespace
// (a pod's, shared with containers that run already, one of them maybe a
// debugging one with CAP_SYS_PTRACE) or in the host's, a process of
// another container could ptrace the child while the caller lives and
// write the caller's memory through it: a way from a container into a
// process running on the host. The mm being non-dumpable (the caller sets
// PR_SET_DUMPABLE 0) narrows that to CAP_SYS_PTRACE in the initial user
// namespace (ptrace(2), "Ptrace access mode checking"), which rootful
// containers may be given; so those stay fork-style, a copy that reaches
// nothing of the caller.
//
// Not shared (fork-style, as without GateShared): without a new PID
// namespace (above), without clone3 (the
// shared clone needs CLONE_CLEAR_SIGHAND: it has no room for the
// runtime's reset of Go's handlers), with Init (PID 1 stays on the memory
// for the container's life), with a time namespace or its offsets (one
// per mm: a CLONE_VM child stays in this one, init_unsafe.go), with a
// parent step (Hold, uid and gid maps) or ModeFork.
func gateSharesMemory(spec *Spec, useClone3 bool) bool {
	return spec.GateShared && spec.GateFD != 0 && useClone3 && !spec.Init &&
		spec.Namespaces&NewPID != 0 &&
		spec.Namespaces&NewTime == 0 && !spec.hasTimeOffsets() &&
		!spec.needsParentStep() && spec.Mode != ModeFork
}

// prepareGateShared turns the clone into a CLONE_VM one on a stack of the
// child's own (gateSharesMemory).
func prepareGateShared(p *prepared) error {
	stack, err := mapChildStack("the gated child (GateShared)")
	if err != nil {
		return err
	}
	d := &p.d
	p.initStack = stack
	d.args.flags |= unix.CLONE_VM
	d.args.stack = uint64(uintptr(stack.base))
	d.args.stackSize = uint64(stack.top() - uintptr(stack.base))
	d.onStack, d.mainPC = true, childMainPC()
	p.gateShared = true
	return nil
}

// gateKept holds the prepared data of released gated children that share
// this process's memory: they may read it until their execve, which
// nothing here can see (Process.Release).
var gateKept struct {
	sync.Mutex
	list []*prepared
}

func keepGateShared(p *prepared) {
	gateKept.Lock()
	gateKept.list = append(gateKept.list, p)
	gateKept.Unlock()
}
