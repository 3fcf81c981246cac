// Command rawns starts a command in new Linux namespaces with a raw clone,
// without os/exec: `rawns run -- sh` gives a shell that is PID 1 of its own
// PID namespace, with its own hostname.
//
// This package is the table of verbs; each verb lives in a package of its
// own. Exit codes follow docker and runc (internal/exitcode, docs/cli.md).
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	nsinit "github.com/rawns/rawns/init"
	"github.com/rawns/rawns/internal/cli"
	"github.com/rawns/rawns/internal/cmd/run"
	"github.com/rawns/rawns/internal/exitcode"
	"github.com/rawns/rawns/internal/sibling"
)

// version is set with -ldflags "-X main.version=..." by the Makefile.
var version = ""

const usage = `rawns starts a command in new Linux namespaces with a raw clone.

Usage:
  rawns run [flags] [--] COMMAND [ARG...]   run COMMAND in new namespaces
  rawns bench [flags]                       compare spawn strategies
  rawns trace [flags]                       watch namespace events host-wide (eBPF)
  rawns cgroup-clean [--cgroup-parent PATH] remove cgroups left by killed runs
  rawns init -- PATH ARGV0 [ARG...]         run PATH as the child of a minimal init
  rawns version                             print the version
  rawns help [COMMAND]                      print this help, or COMMAND's

Run 'rawns run --help' (or 'rawns help run') for the flags of run.
`

func main() {
	os.Exit(rawns(os.Args[1:], os.Stdout, os.Stderr))
}

func rawns(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitcode.Failed
	}
	verb, rest := args[0], args[1:]
	switch verb {
	case "run":
		return run.Main(rest, stdout, stderr)
	case "cgroup-clean":
		// Removes the cgroups of limited runs whose rawns was killed.
		return run.CleanMain(rest, stdout, stderr)
	case "init":
		// An init as a Go program, like tini (--init does not use it:
		// its PID 1 is the cloned child itself).
		return nsinit.Main(rest, stderr)
	case "trace":
		// The eBPF side is a sibling binary: rawns links none of it.
		return sibling.Exec("trace", "rawns-trace", append([]string{"watch"}, rest...), stderr)
	case "bench":
		return sibling.Exec("bench", "rawns-bench", rest, stderr)
	case "version", "--version":
		if len(rest) > 0 {
			return extraWords(verb, rest, stderr)
		}
		fmt.Fprintf(stdout, "rawns %s %s %s/%s\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	case "help", "--help", "-h":
		if len(rest) > 0 {
			return helpOf(verb, rest, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "rawns: unknown command %q; use run, bench, trace, cgroup-clean, init, version or help\n", verb)
	return exitcode.Failed
}

// extraWords refuses words after a verb that takes none, rather than
// ignoring what the user meant.
func extraWords(verb string, rest []string, stderr io.Writer) int {
	fmt.Fprintf(stderr, "rawns %s takes no arguments, but got %s\n", verb, cli.Quote(rest[0]))
	return exitcode.Failed
}

// helpOf is `rawns help COMMAND`, as git and go read it: COMMAND's own
// --help. init, version and help have no flags to list: the usage, which
// shows their one line, stands for them.
func helpOf(verb string, rest []string, stdout, stderr io.Writer) int {
	if len(rest) > 1 {
		fmt.Fprintf(stderr, "rawns %s takes one command name, but got %s and %s\n", verb, cli.Quote(rest[0]), cli.Quote(rest[1]))
		return exitcode.Failed
	}
	switch rest[0] {
	case "run", "bench", "trace", "cgroup-clean":
		return rawns([]string{rest[0], "--help"}, stdout, stderr)
	case "init", "version", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "rawns %s: unknown command %s; use run, bench, trace, cgroup-clean, init, version or help\n", verb, cli.Quote(rest[0]))
	return exitcode.Failed
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
