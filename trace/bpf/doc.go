// Package bpf loads the eBPF side of rawns's proof of isolation: a small
// program (trace.c, compiled by bpf2go into the committed bpf_bpfel.go and
// bpf_bpfel.o, so building needs no clang) that reads, at exec time, the
// namespace identifiers the kernel holds for a task: the inode number of
// every namespace and, on kernels that have it (6.18+), the 64-bit
// ns_common.ns_id that is never reused. [LoadExecTracer] reports the execs
// of one process's descendants; [WatchMain] watches namespace changes on the
// whole host. The types they report and the comparison with userspace's
// view are in package github.com/rawns/rawns/trace, which has no cilium/ebpf
// dependency.
//
// This package links github.com/cilium/ebpf, whose start-up cost rawns run
// must not pay: only cmd/rawns-trace imports it.
//
// Importing the package does no work: nothing happens at init, and the
// embedded object is only parsed by [LoadExecTracer] and [WatchMain].
// See docs/trace.md.
package bpf

//go:generate go tool bpf2go -tags linux -target bpfel -type event -type proof -type exec_event -output-stem bpf bpf trace.c -- -I. -O2 -g -Wall -Werror
