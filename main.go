// Command rawns starts a command in new Linux namespaces with a raw clone,
// without os/exec: `rawns run -- sh` gives a shell that is PID 1 of its own
// PID namespace, with its own hostname.
//
// Exit codes follow docker and runc: the command's own code; 128+N when it
// was killed by signal N; 125 when rawns itself failed and nothing was
// started; 126 when the command exists but cannot be executed; 127 when it
// is not found.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
)

// Exit codes of rawns itself (docs/cli.md).
const (
	exitFailed        = 125 // rawns failed; nothing was started
	exitCannotInvoke  = 126 // the command exists but cannot be executed
	exitNotFound      = 127 // the command is not found
	exitTraceMismatch = 124 // --trace saw the kernel disagree with userspace
)

// version is set with -ldflags "-X main.version=..." by the Makefile.
var version = ""

const usage = `rawns starts a command in new Linux namespaces with a raw clone.

Usage:
  rawns run [flags] [--] COMMAND [ARG...]   run COMMAND in new namespaces
  rawns bench [flags]                       compare spawn strategies
  rawns trace [flags]                       watch namespace events host-wide (eBPF)
  rawns version                             print the version
  rawns help                                print this help

Run 'rawns run --help' for the flags of run.
`

func main() {
	os.Exit(rawns(os.Args[1:], os.Stdout, os.Stderr))
}

func rawns(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitFailed
	}
	switch args[0] {
	case "run":
		return runMain(args[1:], stdout, stderr)
	case "init":
		return initMain(args[1:], stderr)
	case "trace":
		return traceMain(args[1:], stdout, stderr)
	case "bench":
		return execSibling("bench", "rawns-bench", args[1:], stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "rawns %s %s %s/%s\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "rawns: unknown command %q; use run, bench, trace, version or help\n", args[0])
	return exitFailed
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}
