// Command rawns-bench is `rawns bench`: spawn strategies compared side by
// side (package bench, docs/benchmarks.md). It is a binary of its own so
// that rawns, whose start-up is measured by this very benchmark, does not
// link the benchmark's code (os/exec, the statistics, the SVG writer): every
// package linked in costs start-up page faults. rawns execs it for
// `rawns bench`; it expects rawns and spawn-c next to it.
package main

import (
	"os"

	"github.com/rawns/rawns/bench"
)

func main() {
	// The tutorials' re-exec of /proc/self/exe, one of the strategies
	// measured: the re-executed copy lands here.
	if len(os.Args) > 1 && os.Args[1] == bench.ReexecArg {
		bench.ReexecChild() // does not return
	}
	os.Exit(bench.Main(os.Args[1:], os.Stdout, os.Stderr))
}
