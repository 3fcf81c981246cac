// Package cgroup makes the cgroup a run is limited by, places the child in
// it before it execs, reports what the kernel measured, and removes it.
//
// It is the parent side of resource limits: New makes a uniquely named
// cgroup below the caller's own (in each hierarchy used) and writes the
// limits before anything runs there; Start clones the command into it (a
// cgroup v2 directory through clone3's CLONE_INTO_CGROUP, v1 hierarchies by
// moving the cloning thread in for the clone); Stats reads peak memory, CPU
// time, peak pids and OOM kills; Close kills what is left and removes the
// directories, and also removes the cgroups of earlier runs whose rawns
// was killed before it could (CleanStale).
//
// Two backends sit behind one small interface, as crun splits its cgroup
// managers: v2 (the unified hierarchy) and v1 (one hierarchy per
// controller). On a hybrid host both are used at once: limits in v1, the
// controller-less cgroup2 directory for cgroup.kill and CPU time.
// Resources follows the OCI runtime spec's linux.resources.
//
// Nothing here runs at start-up: no package-level state but a counter, no
// init. A run without limits never calls into it. docs/cgroups.md tells
// how cgroups work and why the placement is what it is.
package cgroup
