// Package container is the lifecycle of an OCI container, as the
// runtime-spec's runtime.md describes it: create, start, state, kill,
// delete, and what engines add (pause, resume, ps, update).
//
// A container is a directory of the state root (--root): ROOT/ID, named by
// the container's id, made with mkdir(2), which is what makes two creates
// of one id exclude each other. It holds state.json (written to a
// temporary name and renamed over, so a reader sees the old state or the
// new, never half of one) and is locked with flock(2) on its own fd while
// a command works on it, shared for readers (state, ps, list), exclusive
// for the rest.
//
// The status is derived, not trusted: state.json keeps the pid of the
// container's process and the time it started (field 22 of /proc/PID/stat,
// clock ticks since boot); a pid that is gone, a process that has exited
// (a zombie with no thread left: procfs.Exited), or a pid reused by
// another process (another start time) reads as stopped. A frozen
// cgroup reads as paused; a process still waiting at the start gate as
// created.
package container
