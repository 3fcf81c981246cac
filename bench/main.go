package bench

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
)

const usage = `usage: rawns bench [flags] [-- CMD [ARG...]]

Spawns CMD (default /bin/true) in new namespaces by every strategy, in
interleaved rounds in a fresh random order each round, and prints per
strategy: runs, min, median, p90, p99, max, and the ratio to the C
reference (the median over rounds of the paired per-round ratio).

Views:
  (default)   in process: each spawn timed from start to reap inside this
              process; the C reference times its own spawns (spawn-c --loop)
  --whole     whole process: "TOOL ... CMD" timed start to exit for rawns
              run, the C reference binary, unshare, bwrap, crun, runc (those
              installed), and Go programs using os/exec and the re-exec

Flags:
`

// options are the parsed flags of rawns bench.
type options struct {
	whole          bool
	nsList         string
	nsSweep        bool
	hostname       string
	strategies     string
	rounds, batch  int
	warmup         int
	rss, parallel  string
	json, csv, gob bool
	svg            string
	cref, rawns    string
	seed           uint64
	noProgress     bool
	once           string
}

// Main runs rawns bench with args (the arguments after "bench") and returns
// the exit code: 0, 1 when the benchmark could not run, 2 for a usage error.
func Main(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("rawns bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	fs.BoolVar(&o.whole, "whole", false, "whole-process view: time `TOOL ... CMD` start to exit")
	fs.StringVar(&o.nsList, "ns", "pid,uts", "namespaces to create: a comma-separated `list` of "+clone.KindNames()+", all, or none")
	fs.BoolVar(&o.nsSweep, "ns-sweep", false, "run every namespace set: none, pid+uts, pid+uts plus each other kind alone, all")
	fs.StringVar(&o.hostname, "hostname", "bench", "hostname set in a new UTS namespace by the strategies that can")
	fs.StringVar(&o.strategies, "strategies", "", "in-process strategies to run, comma-separated (default all: "+strings.Join(StrategyNames(), ",")+")")
	fs.IntVar(&o.rounds, "rounds", 0, "counted rounds (default 30 in process, 20 whole)")
	fs.IntVar(&o.batch, "batch", 0, "spawns per strategy per round (default 10 in process, 5 whole)")
	fs.IntVar(&o.warmup, "warmup", 2, "warm-up rounds, not counted")
	fs.StringVar(&o.rss, "rss", "0", "parent memory to touch before spawning, a comma-separated `list` of sizes (0,256M,1G,2G); one run each")
	fs.StringVar(&o.parallel, "parallel", "1", "spawning goroutines, a comma-separated `list`; above 1 the figure is wall time per spawn (1/throughput)")
	fs.BoolVar(&o.json, "json", false, "print JSON")
	fs.BoolVar(&o.csv, "csv", false, "print CSV")
	fs.BoolVar(&o.gob, "gobench", false, "print the Go benchmark format, one line per round, for benchstat")
	fs.StringVar(&o.svg, "svg", "", "also write a chart of the distributions to `file`")
	fs.StringVar(&o.cref, "cref", "", "the C reference binary (default: spawn-c beside this program, then on PATH)")
	fs.StringVar(&o.rawns, "rawns", "", "the rawns binary whose run command --whole times (default: rawns beside this program)")
	fs.Uint64Var(&o.seed, "seed", 0, "seed of the round order (default: from the clock)")
	fs.BoolVar(&o.noProgress, "no-progress", false, "no progress line on stderr")
	fs.StringVar(&o.once, "once", "", "spawn once with this in-process `strategy` and exit with its status (used by --whole)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if n := btoi(o.json) + btoi(o.csv) + btoi(o.gob); n > 1 {
		fmt.Fprintln(stderr, "rawns bench: give at most one of --json, --csv and --gobench")
		return 2
	}

	cmd := fs.Args()
	if len(cmd) == 0 {
		cmd = []string{"/bin/true"}
	}
	env := os.Environ()
	path, err := clone.LookPath(cmd[0], clone.EnvPath(env))
	if err != nil {
		fmt.Fprintf(stderr, "rawns bench: %v\n", err)
		return 2
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintf(stderr, "rawns bench: %v\n", err)
		return 1
	}
	defer null.Close()
	base := Job{Path: path, Args: cmd, Env: env, Hostname: o.hostname, Null: null}

	if o.once != "" {
		return runOnce(&o, base, stderr)
	}

	sets, err := namespaceSets(o.nsList, o.nsSweep)
	if err != nil {
		fmt.Fprintf(stderr, "rawns bench: %v\n", err)
		return 2
	}
	rss, err := parseList(o.rss, parseSize)
	if err != nil {
		fmt.Fprintf(stderr, "rawns bench: --rss: %v\n", err)
		return 2
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
		return 2
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

	rep := newReport(&o, cmd)
	var progress func(Progress)
	if !o.noProgress && isTerminal(stderr) {
		progress = progressLine(stderr)
	}
	if o.whole {
		if len(rss) > 1 || rss[0] != 0 || len(par) > 1 || par[0] != 1 {
			rep.Notes = append(rep.Notes, "--rss and --parallel apply to the in-process view only; ignored")
		}
		err = runWhole(&o, rep, base, sets, progress)
	} else {
		err = runInProcess(&o, rep, base, sets, rss, par, progress)
	}
	if progress != nil {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if err != nil {
		fmt.Fprintf(stderr, "rawns bench: %v\n", err)
		return 1
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
		return 1
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
		return 2
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
		return 1
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

// parseSize parses 0, 4096, 256M, 1G, 2GiB.
func parseSize(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(s), "IB"), "B")
	shift := 0
	if t != "" {
		switch t[len(t)-1] {
		case 'K':
			shift = 10
		case 'M':
			shift = 20
		case 'G':
			shift = 30
		}
	}
	if shift > 0 {
		t = t[:len(t)-1]
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("not a size; give bytes or K, M, G")
	}
	return n << shift, nil
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
			return errors.New("no strategy can run here; see the notes above")
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
		res := Run(cases, Plan{Rounds: o.rounds, Batch: o.batch, Warmup: o.warmup, Seed: o.seed + uint64(ri)}, progress)
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
	var hide *launcher
	defer func() {
		if hide != nil {
			hide.stop()
		}
	}()

	var (
		cases []Case
		found = map[string]bool{}
		seen  = map[string]bool{}
	)
	refOf := map[clone.Namespaces]int{}
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
	for _, n := range []string{"c-ref", "c-empty", "rawns-run", "go-empty", "go-clone", "go-os-exec", "go-reexec", "unshare", "bwrap", "crun", "runc"} {
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
	res := Run(cases, Plan{Rounds: o.rounds, Batch: o.batch, Warmup: o.warmup, Seed: o.seed}, progress)
	for i := range res {
		if res[i].Err != "" {
			rep.Notes = append(rep.Notes, describeErr(&res[i]))
		}
	}
	rep.Results = res
	rep.Notes = append(rep.Notes, goFloor(res)...)
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
