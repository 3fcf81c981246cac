// Package clone starts a program in new Linux namespaces with a raw clone(2) or
// clone3(2) followed by execve(2), without os/exec and without re-executing the
// calling binary.
//
// The parent prepares every byte the child will touch (paths, argv, envp, the
// hostname, the clone arguments) before the clone. Between clone returning 0
// and execve the child is a copy of a multi-threaded Go process with a single
// thread left, so it runs only nosplit code that makes raw system calls on that
// memory: no allocation, no locks, no stack growth, no write barriers. A failing
// step sends (stage, errno) to the parent over a close-on-exec pipe and exits;
// the parent turns it into a *ChildError. The model for this file layout is
// $GOROOT/src/syscall/exec_linux.go.
//
// Two clone styles are offered:
//
//   - vfork-style (CLONE_VM|CLONE_VFORK), the default: the child borrows the
//     parent's address space, so no page tables are copied and no
//     copy-on-write faults follow; the cloning thread sleeps until the child
//     has exec'd or died. Its cost does not grow with the parent's memory.
//   - fork-style: the child gets a copy-on-write copy of the address space.
//     The parent runs on after the clone, which is required when the parent
//     must act before the child execs (writing uid/gid maps of a new user
//     namespace, reading the child's namespaces while it is held).
//
// Which thread clones matters: PR_SET_PDEATHSIG fires when the *thread*
// that cloned exits, not the process (prctl(2)), so a short-lived thread
// would kill its children at once. Two entry points give a thread that
// lives long enough:
//
//   - Start hands the spec to one spawner goroutine, started on first use,
//     that keeps its OS thread locked for the life of the process: safe from
//     any goroutine, at the cost of two thread switches per spawn.
//   - StartHere clones from the calling goroutine's own thread; call
//     PinThread right before it, which does nothing on the main thread (the
//     Go runtime never ends it) and locks the goroutine to its thread
//     elsewhere. rawns run clones this way, from main.
//
// A child that dies before execve without a report (a seccomp filter that
// kills, the OOM killer) is told from a started one by the exec marker, a
// byte it writes to the error pipe right before execve: Start then returns
// a *ChildError with the signal.
package clone
