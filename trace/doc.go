// Package trace proves from the kernel side which namespaces a process is in.
//
// It loads a small eBPF program (trace.c, compiled by bpf2go into the
// committed bpf_bpfel.go and bpf_bpfel.o, so building needs no clang) that
// reads, at exec time, the namespace identifiers the kernel holds for a task:
// the inode number of every namespace and, on kernels that have it (6.18+),
// the 64-bit ns_common.ns_id that is never reused. Userspace's view
// (/proc/PID/ns/*) is read by [ReadProcNS]; [Verify] compares the two.
//
// Importing the package does no work: nothing happens at init, and the
// embedded object is only parsed by [LoadExecTracer] and [WatchMain].
// See docs/trace.md.
package trace

//go:generate go tool bpf2go -tags linux -target bpfel -type event -output-stem bpf bpf trace.c -- -I. -O2 -g -Wall -Werror
