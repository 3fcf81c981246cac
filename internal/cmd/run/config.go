package run

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/cli"
	"github.com/rawns/rawns/internal/signals"
	"github.com/rawns/rawns/network"
)

// config is a parsed and checked `rawns run` command line.
type config struct {
	spec    clone.Spec
	verbose bool
	init    bool
	tty     bool     // -t: a pty of its own (tty.go)
	trace   string   // "" for no --trace, else "text" or "json"
	command []string // as given, before the PATH search
	// infoFD and statusFD are --info-fd and --json-status-fd, or -1.
	infoFD, statusFD int
	fs               *filesystem      // the filesystem flags, nil without any
	limits           *limits          // the limit flags, nil without any (limits.go)
	net              *network.Options // --network bridge or pasta (network.go), else nil
	netRun           *netRun          // the run's network once started (network.go)
}

// A concern is one part of rawns run's command line: its flags, its
// section of --help, and the step that turns those flags into the config.
// Each concern lives in a file of its own (namespaces.go, process.go,
// output.go, ...): a new part of the runtime adds a file and one line in
// concerns, not a branch in one long function.
type concern struct {
	title string // the --help section's heading
	help  string // the section's lines
	flags []cli.Def
	// parse reads the concern's flags into cfg. It runs in the order of
	// concerns, after every earlier concern: a later one may rely on what
	// an earlier one set (--mount-proc adds mnt before --propagation
	// checks for it).
	parse func(cfg *config, flags cli.Flags) error
}

// concerns are the parts of the command line, in the order they are
// parsed and shown in --help. Pointers, not copies: the linker lays out
// a table of addresses as static data, while copying the concerns'
// values would be work for the package's init on every run.
var concerns = []*concern{
	&namespacesConcern,
	&processConcern,
	&filesystemConcern,
	&networkConcern,
	&securityConcern,
	&limitsConcern,
	&outputConcern,
}

const usageHead = `Usage: rawns run [flags] [--] COMMAND [ARG...]

Runs COMMAND in new namespaces, created by a raw clone(2)/clone3(2) and
execve(2). With a PID namespace the command is PID 1 inside it. The exit
status is the command's; 128+N if it was killed by signal N; 125 if rawns
failed (nothing started); 126 if COMMAND cannot be executed; 127 if it is not
found.
`

// usageTail follows the forwarded signals' line (usage).
const usageTail = `If rawns dies, the command is killed.

Examples:
  rawns run -- sh -c 'echo "pid $$ on $(hostname)"'     # pid 1 on container
  rawns run -v --hostname web1 -- hostname
  rawns run --ns pid,mnt --mount-proc -- ps -e          # only the command
  rawns run --ns all --map-root-user --mount-proc --init -- sh
                                    # every kind new, root inside, its own /proc
  rawns run --ns user,pid,uts,mnt --map-root-user --mount-proc -- id -u   # rootless
`

// usage is rawns run's --help: the head, each concern's section, the tail.
func usage() string {
	var b strings.Builder
	b.WriteString(usageHead)
	for _, c := range concerns {
		b.WriteString("\n" + c.title + ":\n" + c.help)
	}
	b.WriteString("\nSignals " + signals.List(signals.Forwarded[:]) + " sent\nto rawns are forwarded to the command. ")
	b.WriteString(usageTail)
	return b.String()
}

var errHelp = errors.New("help requested")

// parse turns the arguments of `rawns run` into a config. Its errors are
// one line that names the flag or value at fault and the fix.
func parse(args []string) (*config, error) {
	// The concerns' flag lists, on the stack: one allocation fewer on
	// every run (docs/benchmarks.md counts what each costs). Raise the
	// bound when the concerns outgrow it; every test of parse would
	// panic on the index first.
	var groups [16][]cli.Def
	for i, c := range concerns {
		groups[i] = c.flags
	}
	flags, command, err := cli.Options{Hint: compatHint}.ParseGroups(groups[:len(concerns)], args)
	if err != nil {
		return nil, err
	}
	if flags.Has("help") {
		if err := hostnameAfterHelp(args, command); err != nil { // compat.go
			return nil, err
		}
		return nil, errHelp
	}
	if len(command) == 0 {
		return nil, errors.New("no command given; put the command after the flags, e.g. rawns run -- sh")
	}
	if flags.Has("verbose") {
		if err := volumeAfterVerbose(args, command); err != nil { // compat.go
			return nil, err
		}
	}
	cfg := &config{command: command}
	for _, c := range concerns {
		if err := c.parse(cfg, flags); err != nil {
			return nil, err
		}
	}
	// Here, not in the namespaces concern: --mount-proc and every
	// filesystem flag add mnt, the latter in a later concern (issue 25:
	// --propagation with --bind was told to add mnt).
	if flags.Has("propagation") && cfg.spec.Namespaces&clone.NewMount == 0 {
		return nil, errors.New("--propagation needs a new mount namespace; add mnt to --ns, or a flag that makes one (--mount-proc, --rootfs, --bind, --tmpfs, ...)")
	}
	// The spec's own rules, said in terms of the flags. The program's path
	// is not known before the PATH search, which reports a missing or
	// empty command itself (127); a placeholder stands in for it here.
	cfg.spec.Path, cfg.spec.Args = "COMMAND", command
	err = cfg.spec.Validate()
	cfg.spec.Path, cfg.spec.Args = "", nil
	if err != nil {
		return nil, flagError(err, flags)
	}
	return cfg, nil
}

// flagError words an error of clone.Spec.Validate for the command line:
// the flag that set the field at fault, and which kind to add to --ns.
func flagError(err error, flags cli.Flags) error {
	var se *clone.SpecError
	if !errors.As(err, &se) {
		return err
	}
	flag := ""
	switch se.Field {
	case "Hostname":
		flag = "hostname"
	case "UIDMap":
		flag = "map-user"
	case "GIDMap":
		flag = "map-group"
	case "MonotonicOffset":
		flag = "monotonic"
	case "BoottimeOffset":
		flag = "boottime"
	}
	if flag == "" || !flags.Has(flag) {
		return fmt.Errorf("%v; add %s to --ns", err, se.Needs)
	}
	return fmt.Errorf("--%s %q needs a new %s namespace%s; add %s to --ns", flag, flags.Get(flag, ""), se.Needs.Title(), se.Reason, se.Needs)
}

// chainHold makes fn run in the parent while the child is held before
// exec (clone.Spec.Hold), after whatever Hold the spec has already: -v and
// --trace both read the child there.
func chainHold(s *clone.Spec, fn func(h clone.Held) error) {
	prev := s.Hold
	s.Hold = func(h clone.Held) error {
		if err := fn(h); err != nil {
			return err
		}
		if prev != nil {
			return prev(h)
		}
		return nil
	}
}
