package run

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/rawns/rawns/cgroup"
	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/cli"
	"github.com/rawns/rawns/internal/exitcode"
	"github.com/rawns/rawns/internal/jsontext"
	"github.com/rawns/rawns/internal/size"
)

// limitsConcern: resource limits, through a cgroup made for the run
// (package cgroup, docs/cgroups.md). Docker's flag names and units.
var limitsConcern = concern{
	title: "Resource limits (a fresh cgroup for the run)",
	help: `  --memory SIZE        memory limit, e.g. 512m or 1g (units b, k, m, g, t); an
                       OOM kill is reported, and the command exits 137
  --memory-swap SIZE   memory plus swap, as docker means it; -1 for unlimited
                       swap, equal to --memory for none (needs --memory)
  --pids N             at most N processes and threads; a fork beyond fails
  --cpus DECIMAL       CPU time as a number of CPUs, e.g. 0.5 (cpu.max quota
                       over a 100ms period)
  --cpu-weight N       relative CPU weight, 1-10000 (default 100; cpu.shares
                       scaled on cgroup v1)
  --cpuset-cpus LIST   the CPUs the command may run on, e.g. 0-1,3
  --cgroup-parent PATH where the run's cgroup is made: relative to rawns's own
                       cgroup (the default place), or absolute from each
                       hierarchy's root; created when missing
Any of these makes a cgroup named rawns-PID-START-N below the parent, in
each hierarchy used, with the limits written before the command starts; it
is killed and removed after. 'rawns cgroup-clean' removes those of runs
whose rawns was killed.
`,
	flags: []cli.Def{
		{Name: "memory", Kind: cli.String},
		{Name: "memory-swap", Kind: cli.String},
		{Name: "pids", Kind: cli.String},
		{Name: "cpus", Kind: cli.String},
		{Name: "cpu-weight", Kind: cli.String},
		{Name: "cpuset-cpus", Kind: cli.String},
		{Name: "cgroup-parent", Kind: cli.String},
	},
	parse: parseLimits,
}

// limits are the run's resource limits, parsed: the cgroup's options, and
// each limit flag's value as the user gave it, for the messages. config
// holds them behind a pointer, nil for a run without limits, which so pays
// for nothing of them (not even a larger config).
type limits struct {
	opts  cgroup.Options
	given [len(limitFlags)]string // in the order of limitFlags
}

// limitFlags are the flags of the concern, in the order of limits.given.
var limitFlags = [...]string{"memory", "memory-swap", "pids", "cpus", "cpu-weight", "cpuset-cpus", "cgroup-parent"}

func parseLimits(cfg *config, flags cli.Flags) error {
	cfg.limits = nil
	any := false
	for _, f := range limitFlags {
		any = any || flags.Has(f)
	}
	if !any {
		return nil
	}
	l := &limits{opts: cgroup.Options{Stats: true}}
	for i, f := range limitFlags {
		l.given[i] = flags.Get(f, "")
	}
	r := &l.opts.Resources
	var err error
	if v := flags.Get("memory", ""); flags.Has("memory") {
		if r.Memory.Limit, err = size.Parse(v); err != nil {
			return fmt.Errorf("--memory %s: %v", cli.Quote(v), err)
		}
		if r.Memory.Limit < cgroup.MinMemory {
			// Below it the child or its exec meets the limit before the
			// command runs (cgroup.MinMemory says what is charged).
			return fmt.Errorf("--memory %s: rawns cannot start a command under less than 1m (the child's pages before exec and the exec itself are charged to the run); give at least 1m", cli.Quote(v))
		}
	}
	if v := flags.Get("memory-swap", ""); flags.Has("memory-swap") {
		if !flags.Has("memory") {
			return fmt.Errorf("--memory-swap %s needs --memory: it is the total of memory and swap; add --memory SIZE", cli.Quote(v))
		}
		if v == "-1" {
			r.Memory.Swap = -1
		} else if r.Memory.Swap, err = size.Parse(v); err != nil {
			return fmt.Errorf("--memory-swap %s: %v; or -1 for unlimited swap", cli.Quote(v), err)
		} else if r.Memory.Swap < r.Memory.Limit {
			return fmt.Errorf("--memory-swap %s is below --memory %s: it counts memory and swap together; give at least the memory limit", cli.Quote(v), flags.Get("memory", ""))
		}
	}
	if v := flags.Get("pids", ""); flags.Has("pids") {
		n, err := strconv.ParseInt(v, 10, 64)
		if n > cgroup.MaxPids || errors.Is(err, strconv.ErrRange) && n > 0 {
			// Not the N+1 rawns writes on cgroup v1 while it clones
			// (cgroup's v1 enter) that pids.max refused (issue 25).
			return fmt.Errorf("--pids %s: the kernel takes at most %d (PID_MAX_LIMIT, more tasks than any system has); give at most %d", cli.Quote(v), cgroup.MaxPids, cgroup.MaxPids)
		}
		if err != nil || n <= 0 {
			return fmt.Errorf("--pids %s: give a number of processes above zero, e.g. 64", cli.Quote(v))
		}
		r.Pids.Limit = n
	}
	if v := flags.Get("cpus", ""); flags.Has("cpus") {
		if r.CPU.Quota, r.CPU.Period, err = cgroup.ParseCPUs(v); err != nil {
			return fmt.Errorf("--cpus: %v", err)
		}
		// runtime.NumCPU is the CPUs rawns may run on, read by the
		// runtime at start-up anyway.
		if n := runtime.NumCPU(); r.CPU.Quota > int64(n)*cgroup.DefaultPeriod {
			return fmt.Errorf("--cpus %s: rawns may use %d CPUs here; give at most %d", cli.Quote(v), n, n)
		}
	}
	if v := flags.Get("cpu-weight", ""); flags.Has("cpu-weight") {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n < 1 || n > 10000 {
			return fmt.Errorf("--cpu-weight %s: give a weight from 1 to 10000 (100 is the default)", cli.Quote(v))
		}
		r.CPU.Weight = n
	}
	if v := flags.Get("cpuset-cpus", ""); flags.Has("cpuset-cpus") {
		cpus, err := cgroup.ParseList(v)
		if err != nil {
			return fmt.Errorf("--cpuset-cpus: %v", err)
		}
		online, err := os.ReadFile("/sys/devices/system/cpu/online")
		if err == nil {
			have, _ := cgroup.ParseList(strings.TrimSpace(string(online)))
			for _, c := range cpus {
				if !hasInt(have, c) {
					return fmt.Errorf("--cpuset-cpus %s: CPU %d is not online; this machine has CPUs %s", cli.Quote(v), c, strings.TrimSpace(string(online)))
				}
			}
		}
		r.CPU.Cpus = v
	}
	if v := flags.Get("cgroup-parent", ""); flags.Has("cgroup-parent") {
		if v == "" || strings.IndexByte(v, 0) >= 0 {
			return fmt.Errorf("--cgroup-parent %s: give a cgroup path, e.g. rawns or /rawns", cli.Quote(v))
		}
		l.opts.Parent = v
	}
	cfg.limits = l
	return nil
}

func hasInt(l []int, x int) bool {
	for _, y := range l {
		if y == x {
			return true
		}
	}
	return false
}

// limitedRun is the cgroup of one run.
type limitedRun struct {
	cg        *cgroup.Cgroup
	placement cgroup.Placement
	asked     *limits
}

// newLimitedRun makes the run's cgroup; the error is one line for the
// user, naming the flag.
func newLimitedRun(l *limits) (*limitedRun, error) {
	cg, err := cgroup.New(l.opts)
	if err != nil {
		return nil, l.wording(err)
	}
	return &limitedRun{cg: cg, asked: l}, nil
}

// fieldFlags are the flags of rawns run that set each field of package
// cgroup; the CLI has no flag of its own for Period, Shares and Mems, which
// go with --cpus, --cpu-weight and --cpuset-cpus.
var fieldFlags = [...]string{
	cgroup.FieldMemoryLimit: "memory",
	cgroup.FieldMemorySwap:  "memory-swap",
	cgroup.FieldPidsLimit:   "pids",
	cgroup.FieldCPUQuota:    "cpus",
	cgroup.FieldCPUPeriod:   "cpus",
	cgroup.FieldCPUWeight:   "cpu-weight",
	cgroup.FieldCPUShares:   "cpu-weight",
	cgroup.FieldCPUCpus:     "cpuset-cpus",
	cgroup.FieldCPUMems:     "cpuset-cpus",
	cgroup.FieldParent:      "cgroup-parent",
}

// limitFlag is the flag that sets field f, "" for none.
func limitFlag(f cgroup.Field) string {
	if f < 0 || int(f) >= len(fieldFlags) {
		return ""
	}
	return fieldFlags[f]
}

// wording words a cgroup error for the command line: the flag and its
// value, then the reason, then what to do in the flags' terms.
func (l *limits) wording(err error) error {
	fix := cgroupFix(err)
	var ce *cgroup.Error
	if errors.As(err, &ce) {
		if f := limitFlag(ce.Field); f != "" {
			for i, g := range limitFlags {
				if g == f && l.given[i] != "" {
					return fmt.Errorf("--%s %s: %v%s", f, cli.Quote(l.given[i]), ce.Err, fix)
				}
			}
			return fmt.Errorf("--%s: %v%s", f, ce.Err, fix)
		}
		err = ce.Err
	}
	// Not one limit's fault (making the directory, a cgroup file that
	// cannot be read): name the first limit flag given, which asked for
	// the cgroup.
	for i, f := range limitFlags {
		if l.given[i] != "" {
			return fmt.Errorf("--%s %s: %v%s", f, cli.Quote(l.given[i]), err, fix)
		}
	}
	return fmt.Errorf("cgroup: %v%s", err, fix)
}

// cgroupFix is what to do about a cgroup error, in rawns run's flags, to
// follow its message: package cgroup says what is wrong, not which flag
// gives a parent cgroup.
func cgroupFix(err error) string {
	var se *cgroup.SubtreeError
	switch {
	case errors.As(err, &se):
		return "; run rawns from a leaf cgroup whose parent delegates " + se.Controller + ", or give --cgroup-parent a cgroup that has " + se.Controller + " in its cgroup.subtree_control"
	case errors.Is(err, cgroup.ErrNotDelegated):
		return " given as --cgroup-parent"
	}
	return ""
}

// start starts the command in the cgroup.
func (l *limitedRun) start(s *clone.Spec) (*clone.Process, error) {
	p, pl, err := l.cg.Start(s)
	l.placement = pl
	return p, err
}

// startError words a failed start of the run when the kernel met its
// memory limit meanwhile: a limit above cgroup.MinMemory can still be too
// small for a start that needs more (a large environment to copy, a
// fork-style copy of a big rawns). The child is reaped and nothing ran;
// the error is the limit's, exit 125, not the command's (137) nor an exec
// failure's (126: execve reports a failed charge of the arguments as
// E2BIG). It reports false for any other failure.
func (l *limitedRun) startError(w io.Writer, cfg *config, err error) (int, bool) {
	if l.asked.opts.Resources.Memory.Limit == 0 {
		return 0, false
	}
	s := l.cg.Stats()
	name := cli.Quote(cfg.command[0])
	var ce *clone.ChildError
	var what string
	switch {
	case errors.As(err, &ce) && ce.Stage == clone.StageNone && ce.Signal == syscall.SIGKILL && s.OOMKills > 0:
		what = "the kernel's OOM killer killed rawns's child before it could execute " + name
	case s.MemoryFailures > 0 && (errors.Is(err, syscall.ENOMEM) || errors.Is(err, syscall.E2BIG) || errors.Is(err, syscall.ENFILE)):
		what = "the kernel could not charge what starting it needs to the run's cgroup (" + err.Error() + ")"
	default:
		return 0, false
	}
	fmt.Fprintf(w, "rawns run: --memory %s is too small to start %s: %s; nothing ran; give a larger --memory\n", l.asked.given[0], name, what)
	return exitcode.Failed, true
}

// started is -v's line about the cgroup.
func (l *limitedRun) started(w io.Writer) {
	fmt.Fprintf(w, "rawns: cgroup %s (placement %s) in %s\n", l.cg.Name, l.placement, strings.Join(l.cg.Dirs(), " "))
}

// exited reads what the kernel kept, says an OOM kill, and for -v and
// --trace=json reports the figures.
func (l *limitedRun) exited(w io.Writer, cfg *config, st clone.ExitStatus) {
	s := l.cg.Stats()
	if s.OOMKills > 0 {
		what := "a process of the run was"
		if st.Signal == syscall.SIGKILL {
			what = "the command was"
		}
		fmt.Fprintf(w, "rawns run: --memory %s was reached: %s killed by the kernel's OOM killer (%d OOM kill(s) in the run's cgroup)\n", l.asked.given[0], what, s.OOMKills)
	}
	if cfg.verbose {
		fmt.Fprintf(w, "rawns: cgroup: peak memory %s, CPU time %s, peak pids %s, OOM kills %s\n",
			orUnknown(s.MemoryPeak, func(v int64) string { return strconv.FormatFloat(float64(v)/(1<<20), 'f', 1, 64) + " MiB" }),
			orUnknown(int64(s.CPUTime), func(v int64) string { return strconv.FormatFloat(float64(v)/1e6, 'f', 2, 64) + " ms" }),
			orUnknown(s.PidsPeak, func(v int64) string { return strconv.FormatInt(v, 10) }),
			orUnknown(s.OOMKills, func(v int64) string { return strconv.FormatInt(v, 10) }))
	}
	if cfg.trace == "json" {
		b := make([]byte, 0, 256)
		b = append(b, `{"cgroup":{"name":`...)
		b = jsontext.AppendString(b, l.cg.Name)
		b = append(b, `,"placement":`...)
		b = jsontext.AppendString(b, string(l.placement))
		for _, f := range []struct {
			key string
			v   int64
		}{{"memory_peak_bytes", s.MemoryPeak}, {"cpu_time_usec", int64(s.CPUTime) / 1000}, {"pids_peak", s.PidsPeak}, {"oom_kills", s.OOMKills}} {
			b = append(b, `,"`+f.key+`":`...)
			if f.v < 0 {
				b = append(b, "null"...)
			} else {
				b = strconv.AppendInt(b, f.v, 10)
			}
		}
		b = append(b, "}}\n"...)
		w.Write(b)
	}
}

func orUnknown(v int64, f func(int64) string) string {
	if v < 0 {
		return "not kept by this kernel"
	}
	return f(v)
}

// close kills what is left in the cgroup and removes it.
func (l *limitedRun) close(w io.Writer) {
	if err := l.cg.Close(); err != nil {
		fmt.Fprintf(w, "rawns run: removing the run's cgroup: %v\n", err)
	}
}

// CleanMain is `rawns cgroup-clean [--cgroup-parent PATH]`: it removes the
// cgroups that runs whose rawns was killed (SIGKILL, a crash) left below
// the parent, killing what still runs in them. Every limited run does the
// same for its own parent when it ends.
func CleanMain(args []string, stdout, stderr io.Writer) int {
	flags, rest, err := cli.Parse([]cli.Def{{Name: "cgroup-parent", Kind: cli.String}, {Name: "help", Short: "h", Kind: cli.Bool}}, args)
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("unexpected argument %s; rawns cgroup-clean takes only --cgroup-parent PATH", cli.Quote(rest[0]))
	}
	if err != nil {
		fmt.Fprintf(stderr, "rawns cgroup-clean: %v\n", err)
		return exitcode.Failed
	}
	if flags.Has("help") {
		fmt.Fprint(stdout, "Usage: rawns cgroup-clean [--cgroup-parent PATH]\n\nRemoves the cgroups (rawns-PID-START-N) that runs whose rawns is gone left\nbelow PATH (default: rawns's own cgroup), killing what still runs in them,\nand prints each name removed.\n")
		return 0
	}
	names, err := cgroup.CleanStale(cgroup.Options{Parent: flags.Get("cgroup-parent", "")})
	for _, n := range names {
		fmt.Fprintln(stdout, n)
	}
	if err != nil {
		fmt.Fprintf(stderr, "rawns cgroup-clean: %v\n", err)
		return exitcode.Failed
	}
	return 0
}
