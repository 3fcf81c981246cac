// Package peers holds the smallest Go programs that do what a Go tool
// built another way would do, for the whole-process view of rawns bench
// (docs/benchmarks.md). Each is a main package of its own, built by make
// into bin/ beside rawns-bench, so that a row measures only the way of
// spawning and Go's own start-up, not the size of rawns-bench:
//
//	go-empty     an empty main: the Go runtime's start-up and exit alone
//	go-clone     package clone (StartHere + Wait), what rawns run spawns
//	             with, without rawns's flags or signal relay
//	go-os-exec   os/exec with SysProcAttr.Cloneflags (no hostname: os/exec
//	             cannot run code in the child before exec)
//	go-reexec    the tutorials' way: os/exec of /proc/self/exe in new
//	             namespaces; the copy sets the hostname and execs
//
// The spawning ones take CLONEFLAGS HOSTNAME CMD [ARG...]: the clone flags
// as a number (0x prefix for hex), "-" for no hostname. They exit with the
// command's status, 125 when they fail themselves.
package peers
