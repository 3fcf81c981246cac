// Package trace is the cilium-free half of rawns's kernel-side proof of
// isolation: the namespace kinds and ids ([Kind], [NSID],
// [KindsFromCloneFlags]), userspace's view of a process's namespaces
// ([ReadProcNS]), the kernel's view of one exec ([ExecEvent], with the
// one-line text form the exec helper sends it in), and the comparison of
// the two ([Verify], [Report]).
//
// The eBPF program and its loader live in package
// github.com/rawns/rawns/trace/bpf, which links github.com/cilium/ebpf and is
// only built into the rawns-trace binary (cmd/rawns-trace). The rawns binary
// imports this package alone, so its start-up pays nothing for cilium/ebpf
// (about 1 ms per run on the development VM); `go list -deps ./trace` must
// not list cilium. See docs/trace.md.
package trace
