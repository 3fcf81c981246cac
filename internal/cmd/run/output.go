package run

import (
	"errors"
	"fmt"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/cli"
)

// outputConcern: how the clone is made and what rawns reports.
var outputConcern = concern{
	title: "Mechanism and output",
	help: `  --clone STYLE        vfork (default when possible), fork, or auto
  --trace[=FORMAT]     verify from the kernel side, with eBPF, that at exec the
                       command has the namespaces, root, cgroups, user, caps,
                       seccomp, no_new_privs and rlimits asked for; FORMAT text
                       (default) or json; a mismatch makes rawns exit 124.
                       Needs root or CAP_BPF+CAP_PERFMON
  -v, --verbose        report on stderr what the parent sees: both pids, the
                       hostname, each namespace's inode, and the exit status
  --info-fd FD         write the child's pid and namespace inodes to FD as one
                       JSON object once it runs, then close FD
  --json-status-fd FD  write that object to FD, then with --trace the kernel's
                       verdict, then the exit code: one JSON object a line
  -h, --help           this help
`,
	flags: []cli.Def{
		{Name: "clone", Kind: cli.String},
		{Name: "trace", Kind: cli.Optional},
		{Name: "verbose", Short: "v", Kind: cli.Bool},
		{Name: "info-fd", Kind: cli.String},
		{Name: "json-status-fd", Kind: cli.String},
		{Name: "help", Short: "h", Kind: cli.Bool},
	},
	parse: parseOutput,
}

func parseOutput(cfg *config, flags cli.Flags) error {
	s := &cfg.spec
	cfg.verbose = flags.Has("verbose")
	var err error
	if cfg.infoFD, err = parseFD(flags, "info-fd"); err != nil {
		return err
	}
	if cfg.statusFD, err = parseFD(flags, "json-status-fd"); err != nil {
		return err
	}
	if flags.Has("clone") {
		if s.Mode, err = clone.ParseMode(flags.Get("clone", "")); err != nil {
			return fmt.Errorf("--clone: %v", err)
		}
	}
	if s.Mode == clone.ModeVfork && (s.UIDMap != nil || s.GIDMap != nil) {
		return errors.New("--clone vfork: the parent must write the user namespace's maps before the child execs, which a vfork-style clone forbids; use --clone fork or auto")
	}
	if flags.Has("trace") {
		switch cfg.trace = flags.Get("trace", ""); cfg.trace {
		case "":
			cfg.trace = "text"
		case "text", "json":
		default:
			return fmt.Errorf("--trace=%s: unknown format; use --trace, --trace=text or --trace=json", cli.Quote(cfg.trace))
		}
		if s.Mode == clone.ModeVfork {
			return errors.New("--trace reads the child's namespaces before it execs, which a vfork-style clone forbids; drop --clone vfork")
		}
		if s.MonotonicOffset != 0 || s.BoottimeOffset != 0 {
			return errors.New("--trace cannot check a time namespace with clock offsets: the child enters it only at exec, after rawns inspects it; drop --monotonic/--boottime or --trace")
		}
	}
	return nil
}
