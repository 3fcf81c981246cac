package bench

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/cli"
	"github.com/rawns/rawns/internal/exitcode"
	"github.com/rawns/rawns/internal/size"
)

const usage = `usage: rawns bench [flags] [-- CMD [ARG...]]

Spawns CMD (default /bin/true) in new namespaces by every strategy, in
interleaved rounds in a fresh random order each round, and prints per
strategy: runs, min, median, p90, p99, max, and the ratio to the C
reference (the median over rounds of the paired per-round ratio).

Views:
  (default)          in process: each spawn timed from start to reap inside
                     this process; the C reference times its own spawns
  --whole            whole process: "TOOL ... CMD" timed start to exit for
                     rawns run, the C reference, the smallest Go programs
                     spawning each way, unshare, bwrap, crun and runc (those
                     installed)

Dimensions:
  --ns LIST          namespaces to create, comma-separated kinds, all or
                     none (default pid,uts); kinds: KINDS
  --ns-sweep         every set: none, pid+uts, pid+uts plus each other kind
                     alone, all
  --rss LIST         parent memory to touch first, comma-separated sizes in
                     --memory's units (0,256m,1g); one run each (default 0;
                     in process)
  --parallel LIST    spawning goroutines, comma-separated; above 1 the figure
                     is wall time per spawn (default 1; in process)
  --strategies LIST  in-process strategies, comma-separated (default all:
                     STRATEGIES); also rawns-vfork-cgroup and
                     rawns-fork-cgroup, a cgroup with limits per spawn
  --hostname NAME    hostname in a new UTS namespace, where the strategy can
                     set one (default bench)
  --tools LIST       whole process: only these rows, comma-separated names
                     as the table prints them (c-ref is always run, the
                     reference); e.g. the OCI rows: rawns-oci-run,
                     crun-oci-run,runc-oci-run,rawns-oci-lifecycle,
                     crun-oci-lifecycle,runc-oci-lifecycle

Rounds:
  --rounds N         counted rounds (default 30 in process, 20 whole)
  --batch N          spawns per strategy per round (default 10, 5 whole)
  --warmup N         warm-up rounds, not counted (default 2)
  --seed N           seed of the round order (default: from the clock)

Output (default: an aligned table):
  --json, --csv      the same figures as JSON (with per-round medians) or CSV
  --gobench          the Go benchmark format, one line per round, for benchstat
  --svg FILE         also write a chart of the distributions to FILE
  --no-progress      no progress line on stderr

Programs:
  --cref PATH        the C reference (default: spawn-c beside this program,
                     then on PATH)
  --rawns PATH       the rawns whose run --whole times (default: rawns
                     beside this program)
  --once STRATEGY    spawn once that way and exit with its status (internal,
                     for --whole when a peer program is missing)

Exit status: 0; 125 for bad flags or when the benchmark could not run
(nothing is printed on stdout then); 128+N when stopped by signal N (SIGINT,
SIGTERM, SIGHUP: after the batch in flight, its temporary files removed).
`

// benchFlags are the flags of rawns bench.
var benchFlags = []cli.Def{
	{Name: "whole", Kind: cli.Bool},
	{Name: "ns", Kind: cli.String},
	{Name: "ns-sweep", Kind: cli.Bool},
	{Name: "hostname", Kind: cli.String},
	{Name: "strategies", Kind: cli.String},
	{Name: "tools", Kind: cli.String},
	{Name: "rounds", Kind: cli.String},
	{Name: "batch", Kind: cli.String},
	{Name: "warmup", Kind: cli.String},
	{Name: "rss", Kind: cli.String},
	{Name: "parallel", Kind: cli.String},
	{Name: "json", Kind: cli.Bool},
	{Name: "csv", Kind: cli.Bool},
	{Name: "gobench", Kind: cli.Bool},
	{Name: "svg", Kind: cli.String},
	{Name: "cref", Kind: cli.String},
	{Name: "rawns", Kind: cli.String},
	{Name: "seed", Kind: cli.String},
	{Name: "no-progress", Kind: cli.Bool},
	{Name: "once", Kind: cli.String},
	{Name: "help", Short: "h", Kind: cli.Bool},
}

// options are the parsed flags of rawns bench.
type options struct {
	whole          bool
	nsList         string
	nsSweep        bool
	hostname       string
	strategies     string
	tools          []string
	rounds, batch  int
	warmup         int
	rss, parallel  string
	json, csv, gob bool
	svg            string
	cref, rawns    string
	seed           uint64
	noProgress     bool
	once           string
	// stopped reports the signal that asked the run to stop (stop.go),
	// 0 while none has.
	stopped func() syscall.Signal
}

// Main runs rawns bench with args (the arguments after "bench") and returns
// the exit code: 0, or exitcode.Failed for bad flags or a benchmark that could
// not run.
func Main(args []string, stdout, stderr io.Writer) int {
	o, cmd, err := parseOptions(args)
	if err == errHelp {
		help := strings.NewReplacer("KINDS", clone.KindNames(), "STRATEGIES", strings.Join(StrategyNames(), ","))
		help.WriteString(stdout, usage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "rawns bench: %v\n", err)
		return exitcode.Failed
	}
	return run(&o, cmd, stdout, stderr)
}

var errHelp = errors.New("help")

// parseOptions parses the flags of rawns bench; cmd is what follows them.
func parseOptions(args []string) (o options, cmd []string, err error) {
	flags, cmd, err := cli.Parse(benchFlags, args)
	if err != nil {
		return o, nil, err
	}
	if flags.Has("help") {
		return o, nil, errHelp
	}
	o.whole, o.nsSweep = flags.Has("whole"), flags.Has("ns-sweep")
	o.json, o.csv, o.gob, o.noProgress = flags.Has("json"), flags.Has("csv"), flags.Has("gobench"), flags.Has("no-progress")
	o.nsList = flags.Get("ns", "pid,uts")
	o.hostname = flags.Get("hostname", "bench")
	o.strategies = flags.Get("strategies", "")
	if t := flags.Get("tools", ""); t != "" {
		for _, name := range strings.Split(t, ",") {
			o.tools = append(o.tools, strings.TrimSpace(name))
		}
	}
	o.rss, o.parallel = flags.Get("rss", "0"), flags.Get("parallel", "1")
	o.svg, o.cref, o.rawns, o.once = flags.Get("svg", ""), flags.Get("cref", ""), flags.Get("rawns", ""), flags.Get("once", "")
	if o.rounds, err = flags.Int("rounds", 0, 1); err != nil {
		return o, nil, err
	}
	if o.batch, err = flags.Int("batch", 0, 1); err != nil {
		return o, nil, err
	}
	if o.warmup, err = flags.Int("warmup", 2, 0); err != nil {
		return o, nil, err
	}
	if o.seed, err = flags.Uint64("seed", 0); err != nil {
		return o, nil, err
	}
	for _, f := range []string{"svg", "cref", "rawns", "once", "strategies", "hostname", "tools"} {
		if flags.Has(f) && flags.Get(f, "") == "" {
			return o, nil, fmt.Errorf("--%s needs a non-empty value", f)
		}
	}
	known := append(StrategyNames(), CgroupStrategyNames...)
	if o.strategies != "" {
		for _, name := range strings.Split(o.strategies, ",") {
			if !slices.Contains(known, strings.TrimSpace(name)) {
				return o, nil, fmt.Errorf("--strategies: unknown strategy %q; known: %s", name, strings.Join(known, ","))
			}
		}
	}
	if o.once != "" && !slices.Contains(known, o.once) {
		return o, nil, fmt.Errorf("--once: unknown strategy %q; known: %s", o.once, strings.Join(known, ","))
	}
	// A flag of the other view would be ignored: refuse it rather than
	// measure something else than was asked for.
	for _, f := range []string{"rss", "parallel", "strategies"} {
		if o.whole && flags.Has(f) {
			return o, nil, fmt.Errorf("--%s applies to the in-process view only (--whole times whole programs, each tool found); drop --%s or --whole", f, f)
		}
	}
	for _, f := range []string{"rawns", "tools"} {
		if !o.whole && o.once == "" && flags.Has(f) {
			return o, nil, fmt.Errorf("--%s applies to the whole-process view only; add --whole or drop --%s", f, f)
		}
	}
	return o, cmd, nil
}

// run is rawns bench once its flags are parsed.
func run(o *options, cmd []string, stdout, stderr io.Writer) int {
	if n := btoi(o.json) + btoi(o.csv) + btoi(o.gob); n > 1 {
		fmt.Fprintln(stderr, "rawns bench: give at most one of --json, --csv and --gobench")
		return exitcode.Failed
	}

	if len(cmd) == 0 {
		cmd = []string{"/bin/true"}
	}
	env := os.Environ()
	path, err := clone.LookPath(cmd[0], clone.EnvPath(env))
	if err == nil {
		// LookPath takes a name with a slash as it is; every strategy
		// would then fail on it, one note each. Say it once, up front.
		var st unix.Stat_t
		if unix.Stat(path, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || unix.Access(path, unix.X_OK) != nil {
			err = fmt.Errorf("%s: not an executable file; give the command to spawn after --", path)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "rawns bench: %v\n", err)
		return exitcode.Failed
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintf(stderr, "rawns bench: %v\n", err)
		return exitcode.Failed
	}
	defer null.Close()
	base := Job{Path: path, Args: cmd, Env: env, Hostname: o.hostname, Null: null}

	if o.once != "" {
		return runOnce(o, base, stderr)
	}

	sets, err := namespaceSets(o.nsList, o.nsSweep)
	if err != nil {
		fmt.Fprintf(stderr, "rawns bench: %v\n", err)
		return exitcode.Failed
	}
	rss, err := parseList(o.rss, parseSize)
	if err != nil {
		fmt.Fprintf(stderr, "rawns bench: --rss: %v\n", err)
		return exitcode.Failed
	}
	par, err := parseList(o.parallel, func(s string) (int64, error) {
		n, err := strconv.ParseInt(s, 10, 32)
		if err == nil && n < 1 {
			err = errors.New("must be at least 1")
		}
		return n, err
	})
	if err != nil {
		fmt.Fprintf(stderr, "rawns bench: --parallel: %v\n", err)
		return exitcode.Failed
	}
	if o.rounds <= 0 {
		o.rounds = map[bool]int{false: 30, true: 20}[o.whole]
	}
	if o.batch <= 0 {
		o.batch = map[bool]int{false: 10, true: 5}[o.whole]
	}
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	if o.cref == "" {
		o.cref = findCref()
	}

	rep := newReport(o, cmd)
	var progress func(Progress)
	if !o.noProgress && isTerminal(stderr) {
		progress = progressLine(stderr)
	}
	// SIGINT, SIGTERM and SIGHUP stop the run after the batch in flight,
	// and the temporary files go on the way out (stop.go).
	stop := catchStop()
	o.stopped = stop.signal
	if o.whole {
		err = runWhole(o, rep, base, sets, progress)
	} else {
		err = runInProcess(o, rep, base, sets, rss, par, progress)
	}
	stop.release()
	if progress != nil {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if sig := stop.signal(); sig != 0 {
		fmt.Fprintf(stderr, "rawns bench: stopped by %s; its temporary files are removed, nothing is reported\n", unix.SignalName(sig))
		return 128 + int(sig)
	}
	if err != nil {
		fmt.Fprintf(stderr, "rawns bench: %v\n", err)
		return exitcode.Failed
	}

	switch {
	case o.json:
		err = writeJSON(stdout, rep)
	case o.csv:
		err = writeCSV(stdout, rep)
	case o.gob:
		err = writeGobench(stdout, rep)
	default:
		err = writeTable(stdout, rep)
	}
	if err == nil && o.svg != "" {
		err = writeSVGFile(o.svg, rep)
	}
	if err != nil {
		fmt.Fprintf(stderr, "rawns bench: %v\n", err)
		return exitcode.Failed
	}
	return 0
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// runOnce is rawns bench --once: one spawn by one strategy, for the
// whole-process view of the Go strategies.
func runOnce(o *options, job Job, stderr io.Writer) int {
	ns, err := parseNamespaces(o.nsList)
	if err != nil {
		fmt.Fprintf(stderr, "rawns bench: %v\n", err)
		return exitcode.Failed
	}
	job.Namespaces = ns
	job.Null = nil // the tool's own stdio, as a CLI would
	s, err := NewStrategy(o.once, &job, o.cref)
	if err == nil && !s.CanSpawn() {
		err = fmt.Errorf("%s cannot spawn once", o.once)
	}
	if err == nil {
		err = s.Spawn()
	}
	if err != nil {
		fmt.Fprintf(stderr, "rawns bench: %v\n", err)
		return exitcode.Failed
	}
	return 0
}

func parseNamespaces(list string) (clone.Namespaces, error) {
	if list == "none" {
		return 0, nil
	}
	return clone.ParseNamespaces(strings.ReplaceAll(list, "+", ","))
}

// namespaceSets returns the sets to run: list alone, or with sweep the
// sets a user asks about.
func namespaceSets(list string, sweep bool) ([]clone.Namespaces, error) {
	if !sweep {
		ns, err := parseNamespaces(list)
		return []clone.Namespaces{ns}, err
	}
	pu := clone.NewPID | clone.NewUTS
	sets := []clone.Namespaces{0, pu}
	for _, k := range clone.Kinds {
		if k.Flag&pu == 0 {
			sets = append(sets, pu|k.Flag)
		}
	}
	return append(sets, clone.AllNamespaces), nil
}

// nsLabel names a set in labels and benchmark names, where commas would
// split CSV fields: pid+uts.
func nsLabel(ns clone.Namespaces) string {
	return strings.ReplaceAll(ns.String(), ",", "+")
}

func parseList(s string, parse func(string) (int64, error)) ([]int64, error) {
	var out []int64
	for _, f := range strings.Split(s, ",") {
		v, err := parse(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q: %v", f, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// parseSize parses 0 (nothing touched) or a size in the units of rawns
// run's --memory (package size): 4096, 256M, 1.5g, 2GiB.
func parseSize(s string) (int64, error) {
	if s == "0" {
		return 0, nil
	}
	n, err := size.Parse(s)
	if err != nil {
		// parseList names the value already.
		return 0, errors.New("not a size; give 0, or a number with an optional unit b, k, m, g or t (256m, 1g)")
	}
	return n, nil
}

// formatSize is the inverse of parseSize for labels.
func formatSize(n int64) string {
	switch {
	case n == 0:
		return "0"
	case n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + "G"
	case n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "M"
	case n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "K"
	}
	return strconv.FormatInt(n, 10)
}

// findCref looks for spawn-c beside this program (bin/ after make), then on
// PATH; "" if neither has it.
func findCref() string {
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "spawn-c")
		if unix.Access(p, unix.X_OK) == nil {
			return p
		}
	}
	if p, err := exec.LookPath("spawn-c"); err == nil {
		return p
	}
	return ""
}

// runInProcess runs the in-process view: one interleaved run per parent
// memory size, each over every namespace set, concurrency and strategy.
func runInProcess(o *options, rep *Report, base Job, sets []clone.Namespaces, rss, par []int64, progress func(Progress)) error {
	names := StrategyNames()
	if o.strategies != "" {
		names = strings.Split(o.strategies, ",")
	}
	baseSet := sets[0]
	for _, s := range sets {
		if s == clone.NewPID|clone.NewUTS {
			baseSet = s
		}
	}
	seen := map[string]bool{}
	note := func(s string) {
		if !seen[s] {
			seen[s] = true
			rep.Notes = append(rep.Notes, s)
		}
	}
	if o.cref == "" {
		note("C reference: spawn-c not found (run make, or pass --cref); ratios are to os-exec instead")
	}
	var firstRSS []Result
	for ri, size := range rss {
		var (
			cases []Case
			index = map[string]int{}
		)
		key := func(ns clone.Namespaces, p int64, name string) string {
			return fmt.Sprintf("%d/%d/%s", ns, p, name)
		}
		for _, ns := range sets {
			job := base
			job.Namespaces = ns
			for _, p := range par {
				for _, name := range names {
					s, err := NewStrategy(strings.TrimSpace(name), &job, o.cref)
					if err != nil {
						note(fmt.Sprintf("%s (ns=%s): %v; skipped", name, nsLabel(ns), err))
						continue
					}
					labels := []Label{{"ns", nsLabel(ns)}}
					if len(rss) > 1 || size != 0 {
						labels = append(labels, Label{"rss", formatSize(size)})
					}
					if len(par) > 1 || p != 1 {
						labels = append(labels, Label{"parallel", strconv.FormatInt(p, 10)})
					}
					index[key(ns, p, s.Name)] = len(cases)
					cases = append(cases, Case{Strategy: s, Labels: labels, Parallel: int(p)})
				}
			}
		}
		if len(cases) == 0 {
			return fmt.Errorf("no strategy can run here: %s", strings.Join(rep.Notes, "; "))
		}
		for i := range cases {
			c := &cases[i]
			ns, _ := parseNamespaces(c.Labels[0].Value)
			p := int64(c.Parallel)
			c.Ref, c.Base = -1, -1
			for _, ref := range []string{"c-vfork", "os-exec"} {
				if j, ok := index[key(ns, p, ref)]; ok {
					c.Ref = j
					break
				}
			}
			if len(sets) > 1 || len(par) > 1 {
				if j, ok := index[key(baseSet, par[0], c.Strategy.Name)]; ok && j != i {
					c.Base = j
				}
			}
		}
		var ballast []byte
		if size > 0 {
			var err error
			if ballast, err = touch(size); err != nil {
				return fmt.Errorf("--rss %s: %w", formatSize(size), err)
			}
		}
		if size > 0 || len(rss) > 1 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("rss=%s: this process held %s of touched private memory; the C reference did not (its figure is the small-parent floor)", formatSize(size), formatSize(size)))
		}
		if o.stopped() != 0 {
			return nil
		}
		res := Run(cases, Plan{Rounds: o.rounds, Batch: o.batch, Warmup: o.warmup, Seed: o.seed + uint64(ri), Stop: o.stopped}, progress)
		if ballast != nil {
			unix.Munmap(ballast)
		}
		for i := range res {
			if res[i].Err != "" {
				note(describeErr(&res[i]))
			}
		}
		// Across memory sizes the runs are separate: the ratio to the
		// first size is a ratio of medians, not paired.
		if ri == 0 {
			firstRSS = res
		} else {
			for i := range res {
				r := &res[i]
				for _, f := range firstRSS {
					if f.Name == r.Name && f.Err == "" && sameLabelsBut(f.Labels, r.Labels, "rss") && !r.BasePaired {
						r.BaseRatio = r.Median / f.Median
						r.BaseOf = labelString(f.Labels)
					}
				}
			}
		}
		rep.Results = append(rep.Results, res...)
	}
	rep.Reference = "c-vfork"
	if o.cref == "" {
		rep.Reference = "os-exec"
	}
	return nil
}

func sameLabelsBut(a, b []Label, key string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || (a[i].Value != b[i].Value && a[i].Key != key) {
			return false
		}
	}
	return true
}

// touch maps size bytes of private memory and faults every page in, the
// way a parent with that much live heap would have it.
func touch(size int64) ([]byte, error) {
	return unix.Mmap(-1, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE)
}

// runWhole runs the whole-process view, one interleaved run over every
// namespace set and tool.
func runWhole(o *options, rep *Report, base Job, sets []clone.Namespaces, progress func(Progress)) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	rawns := o.rawns
	if rawns == "" {
		// rawns-bench is installed beside rawns (make build).
		rawns = filepath.Join(filepath.Dir(self), "rawns")
	}
	dir, err := os.MkdirTemp("", "rawns-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	host, err := startLauncher(false)
	if err != nil {
		return err
	}
	defer host.stop()
	var hide, netl *launcher
	defer func() {
		if hide != nil {
			hide.stop()
		}
		if netl != nil {
			netl.stop()
		}
	}()

	var (
		cases []Case
		found = map[string]bool{}
		seen  = map[string]bool{}
	)
	refOf := map[clone.Namespaces]int{}
	// The OCI lifecycle rows wait for the container's process, which
	// create leaves orphaned: this process must be its subreaper.
	if err := setSubreaper(true); err != nil {
		return err
	}
	defer setSubreaper(false)
	for si, ns := range sets {
		job := base
		job.Namespaces = ns
		sub := filepath.Join(dir, strconv.Itoa(si))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		tools, notes := wholeTools(&job, rawns, self, o.cref, sub)
		for _, n := range notes {
			if !seen[n] {
				seen[n] = true
				rep.Notes = append(rep.Notes, n)
			}
		}
		for _, t := range tools {
			if o.stopped() != 0 {
				return nil
			}
			if len(o.tools) > 0 && t.name != "c-ref" && !slices.Contains(o.tools, t.name) {
				continue
			}
			l := host
			if t.hideUnified {
				if hide == nil {
					if hide, err = startLauncher(true); err != nil {
						rep.Notes = append(rep.Notes, t.name+": "+err.Error()+"; skipped")
						continue
					}
				}
				l = hide
			}
			if t.ownNet {
				if netl == nil {
					if netl, err = startNetLauncher(); err != nil {
						rep.Notes = append(rep.Notes, t.name+": "+err.Error()+"; skipped")
						netl = nil
						continue
					}
				}
				l = netl
			}
			if err := checkTool(t, l, &job); err != nil {
				rep.Notes = append(rep.Notes, fmt.Sprintf("%s (ns=%s): cannot do the job here, skipped: %v", t.name, nsLabel(ns), err))
				continue
			}
			found[t.name] = true
			if t.name == "c-ref" || (t.name == "command-alone" && o.cref == "") {
				refOf[ns] = len(cases)
			}
			cases = append(cases, Case{Strategy: toolStrategy(t, l, &job), Labels: []Label{{"ns", nsLabel(ns)}}, Ref: -1, Base: -1})
		}
	}
	var names []string
	for _, n := range []string{"c-ref", "c-empty", "rawns-run", "rawns-run-seccomp", "rawns-run-init", "rawns-run-init-vm", "go-empty", "go-os", "go-clone", "go-os-exec", "go-reexec", "unshare", "bwrap", "rawns-rootfs", "bwrap-rootfs", "rawns-net-bridge", "rawns-net-none", "rawns-ns-net", "bwrap-unshare-net", "crun", "runc",
		"rawns-oci-run", "crun-oci-run", "runc-oci-run", "rawns-oci-lifecycle", "crun-oci-lifecycle", "runc-oci-lifecycle"} {
		if found[n] {
			names = append(names, n)
		}
	}
	rep.Notes = append([]string{"found and run: " + strings.Join(names, ", ")}, rep.Notes...)
	for i := range cases {
		ns, _ := parseNamespaces(cases[i].Labels[0].Value)
		if j, ok := refOf[ns]; ok {
			cases[i].Ref = j
		}
	}
	res := Run(cases, Plan{Rounds: o.rounds, Batch: o.batch, Warmup: o.warmup, Seed: o.seed, Stop: o.stopped}, progress)
	for i := range res {
		if res[i].Err != "" {
			rep.Notes = append(rep.Notes, describeErr(&res[i]))
		}
	}
	rep.Results = res
	rep.Notes = append(rep.Notes, goFloor(res)...)
	rep.Notes = append(rep.Notes, rootfsNotes(res)...)
	rep.Notes = append(rep.Notes, privilegeCost(res)...)
	rep.Notes = append(rep.Notes, initCost(res)...)
	rep.Notes = append(rep.Notes, netNotes(res)...)
	rep.Notes = append(rep.Notes, ociNotes(res)...)
	rep.Reference = "c-ref"
	if o.cref == "" {
		rep.Reference = "command-alone"
	}
	return nil
}

// isTerminal reports whether w is a terminal, for the progress line.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// progressLine returns a progress callback that redraws one line on w.
func progressLine(w io.Writer) func(Progress) {
	var last time.Time
	return func(p Progress) {
		if now := time.Now(); now.Sub(last) < 50*time.Millisecond {
			return
		} else {
			last = now
		}
		phase := fmt.Sprintf("round %d", p.Round)
		if p.Round <= 0 {
			phase = "warm-up"
		}
		fmt.Fprintf(w, "\r\033[K%3d%% %s  %s %s", 100*p.Done/max(p.Total, 1), phase, p.Name, labelString(p.Labels))
	}
}

// Report is everything one rawns bench run measured.
type Report struct {
	View      string    `json:"view"` // "in-process" or "whole-process"
	Command   []string  `json:"command"`
	Rounds    int       `json:"rounds"`
	Batch     int       `json:"batch"`
	Warmup    int       `json:"warmup"`
	Seed      uint64    `json:"seed"`
	Reference string    `json:"reference"`
	Go        string    `json:"go"`
	Arch      string    `json:"arch"`
	Kernel    string    `json:"kernel"`
	CPU       string    `json:"cpu"`
	CPUs      int       `json:"cpus"`
	Date      time.Time `json:"date"`
	Notes     []string  `json:"notes"`
	Results   []Result  `json:"results"`
}

func newReport(o *options, cmd []string) *Report {
	r := &Report{View: "in-process", Command: cmd, Rounds: o.rounds, Batch: o.batch, Warmup: o.warmup, Seed: o.seed,
		Go: runtime.Version(), Arch: runtime.GOOS + "/" + runtime.GOARCH, CPUs: runtime.NumCPU(), Date: time.Now().UTC().Truncate(time.Second)}
	if o.whole {
		r.View = "whole-process"
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		r.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				r.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	return r
}
