// Command rawns-trace is the eBPF half of rawns. It links
// github.com/cilium/ebpf (package trace/bpf), which the rawns binary must
// not: linking it costs every `rawns run` about 1 ms of start-up (page faults
// and package initialisation), --trace or not. rawns runs this binary only
// when eBPF is wanted; `make build` builds both, side by side in bin/.
//
//	rawns-trace watch [--json] [--pid PID] [--comm NAME] [--ns ID]
//	rawns-trace exec-helper --target PID [--timeout DURATION]
//	rawns-trace overhead [--rounds N] [--calls N] [--execs N] [--events N] [--modes LIST]
//
// `rawns-trace overhead` measures what the watcher costs the rest of the
// host (docs/trace.md has the figures and the command).
//
// `rawns trace ARGS...` execs `rawns-trace watch ARGS...`: the host-wide
// watcher of namespace changes (trace/bpf.WatchMain).
//
// # The exec-helper protocol
//
// `rawns run --trace` starts `rawns-trace exec-helper --target <rawns's pid>`
// before it clones the command, with pipes on stdin and stdout (stderr is
// rawns's). Every message is one line ending in "\n":
//
//  1. The helper loads and attaches the exec tracer for the descendants of
//     PID (trace/bpf.LoadExecTracer), then writes "ready". If it cannot, it
//     writes one error line and exits 125.
//  2. rawns writes host pids on stdin, one per line. For each, the helper
//     waits up to --timeout (default 5s) for that pid's first exec after
//     the tracer was attached and writes the event line
//     (trace.ExecEvent.AppendWire), or an error line.
//  3. On EOF on stdin the helper detaches everything and exits 0.
//
// An event line is "exec " and KEY=VALUE pairs separated by single spaces:
//
//	exec host-pid=4242 ns-pid=1 ns-level=1 comm="true" filename="/bin/true" nodename="box" uts=4026532178/1802 ipc=4026531839/1 ...
//
// Strings are quoted as by Go's strconv.Quote; each namespace kind the
// kernel has follows under its /proc/PID/ns name as INODE, or INODE/ID on
// kernels with ns_id. An unknown key or kind is an error for rawns: both
// binaries ship together, so the format is theirs alone, and text rather
// than JSON so that rawns need not link encoding/json.
//
// An error line is "error REASON MESSAGE":
//
//	error permission "trace: load ...: needs root or CAP_BPF+CAP_PERFMON: ..."
//
// REASON is permission, no-btf, unsupported, usage, timeout, closed or "-"
// (none), MESSAGE one line quoted like the strings above
// (trace.HelperErrorLine). trace.ParseHelperLine decodes an answer.
//
// The helper is rawns's child, so it matches its own filter; that is
// harmless: events are looked up by host pid, and it execs nothing after
// attaching. It ignores SIGINT, SIGQUIT and SIGHUP (a Ctrl-C reaches the
// whole foreground process group; rawns forwards it to the command and
// decides) and dies with rawns (PR_SET_PDEATHSIG, set by package clone).
package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/rawns/rawns/internal/exitcode"
	"github.com/rawns/rawns/trace/bpf"
)

const usage = `usage: rawns-trace COMMAND [ARG...]

The eBPF half of rawns (it links cilium/ebpf, which rawns itself does not).
  rawns-trace watch [flags]                   what 'rawns trace' runs; see --help
  rawns-trace exec-helper --target PID        what 'rawns run --trace' runs: a
                                              line protocol on stdin/stdout
  rawns-trace overhead [flags]                what the watcher costs the host:
                                              syscall and exec rates, watcher
                                              off and on in alternation
`

func main() {
	os.Exit(rawnsTrace(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func rawnsTrace(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitcode.Failed
	}
	switch args[0] {
	case "watch":
		return bpf.WatchMain(args[1:], stdout, stderr)
	case "exec-helper":
		signal.Ignore(syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP)
		return execHelper(args[1:], stdin, stdout, loadExecTracer)
	case "overhead":
		return overheadMain(args[1:], stdout, stderr)
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "rawns-trace: unknown command %q; use watch, exec-helper or overhead (rawns-trace --help)\n", args[0])
	return exitcode.Failed
}
