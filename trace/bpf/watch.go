package bpf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/cli"
	"github.com/rawns/rawns/internal/exitcode"
	"github.com/rawns/rawns/trace"
)

// Exit codes of WatchMain.
const (
	watchOK    = 0
	watchFail  = 1               // runtime failure after attaching
	watchUsage = exitcode.Failed // bad flags, or the kernel side could not be set up
)

const watchUsageText = `usage: rawns trace [--json] [--events LIST] [--pid PID] [--cgroup DIR] [--comm NAME] [--ns ID]

Watch the whole host, from the kernel, for namespace changes until Ctrl-C:
  clone    a clone/clone3/fork with CLONE_NEW* flags (task_newtask):
           the parent's namespaces and the new child's
  unshare  unshare(2) with CLONE_NEW* flags: the caller before and after
  setns    setns(2): the caller before and after
  sethostname  sethostname(2): the caller's new nodename
  exec     an execve inside a non-initial PID namespace, with what the
           kernel holds for it: root, cgroups, credentials, capabilities,
           seccomp, no_new_privs, rlimits, the file executed
Namespaces are shown as INODE/ID (ID: the 64-bit ns_id of Linux 6.18+).
Needs root (or CAP_BPF+CAP_PERFMON) and kernel BTF.
unshare, setns and sethostname are hooked with fentry/fexit where the kernel
allows it, else with the per-syscall tracepoints (which slow every system
call of every process a little), else raw_tp/sys_enter (a program on every
system call); the first line says which and why (docs/trace.md).

Flags (filters combine with AND):
  --json       one JSON object per line instead of text
  --events LIST  only these events, comma-separated (default: all five);
               the kernel hooks of the others are not attached at all, so
               e.g. --events clone,exec puts no hook on any system call
  --pid PID    only events of this host pid and its descendants (filtered
               in the kernel, up to 32 generations down the real_parent
               chain: a process reparented away from PID's tree leaves it)
  --cgroup DIR only events of processes in this cgroup directory or below
               it (cgroup2, or a v1 hierarchy of cpuset, cpu, memory or
               pids), filtered in the kernel
  --comm NAME  only events whose command name (comm) is NAME
  --ns ID      only events touching this namespace, by inode or ns_id
  --help       this text
`

// WatchMain runs `rawns trace ARGS...` and returns its exit code: 0 after
// SIGINT or SIGTERM, 125 for bad flags or when the BPF side cannot be set up
// (no privilege, no BTF, kernel too old), 1 for a failure while running.
func WatchMain(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts, err := hiddenHooks(loadOpts{btfCacheDir: defaultBTFCacheDir}, os.Getenv(hideEnv))
	if err != nil {
		fmt.Fprintf(stderr, "rawns trace: %v\n", err)
		return watchUsage
	}
	return watch(ctx, args, stdout, stderr, opts, nil)
}

type watchFilter struct {
	json   bool
	events eventSet
	pid    int // in the kernel: filter_tgid
	comm   string
	ns     uint64
	// cgroup (--cgroup): the directory's kernfs id, and the V1 controller
	// of its hierarchy, or -1 for cgroup2. In the kernel too.
	cgroup   uint64
	cgroupV1 int32
}

// watchFlags are the flags of rawns trace, parsed like every rawns
// command's (internal/cli).
var watchFlags = []cli.Def{
	{Name: "json", Kind: cli.Bool},
	{Name: "events", Kind: cli.String},
	{Name: "pid", Kind: cli.String},
	{Name: "cgroup", Kind: cli.String},
	{Name: "comm", Kind: cli.String},
	{Name: "ns", Kind: cli.String},
	{Name: "help", Short: "h", Kind: cli.Bool},
}

// --help goes to stdout, as every other rawns command's does.
func parseWatchFlags(args []string, stdout, stderr io.Writer) (watchFilter, int, bool) {
	var f watchFilter
	flags, rest, err := cli.Parse(watchFlags, args)
	var unknown *cli.UnknownFlagError
	if errors.As(err, &unknown) {
		err = errors.New("unknown flag " + unknown.Shown()) // no command line to put -- before
	}
	if err == nil && flags.Has("help") {
		io.WriteString(stdout, watchUsageText)
		return f, watchOK, false
	}
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("unexpected argument %q: rawns trace takes flags only", rest[0])
	}
	if err == nil {
		f.json = flags.Has("json")
		f.comm = flags.Get("comm", "")
		f.pid, err = flags.Int("pid", 0, 1)
	}
	if err == nil && f.pid != 0 {
		if _, serr := os.Stat("/proc/" + strconv.Itoa(f.pid)); serr != nil {
			err = fmt.Errorf("--pid %d: no such process", f.pid)
		}
	}
	f.cgroupV1 = -1
	if err == nil && flags.Has("cgroup") {
		f.cgroup, f.cgroupV1, err = cgroupFilter(flags.Get("cgroup", ""))
	}
	if err == nil {
		f.ns, err = flags.Uint64("ns", 0)
	}
	if err == nil {
		f.events, err = parseEvents(flags.Get("events", ""), flags.Has("events"))
	}
	if err == nil && len(f.comm) > 15 {
		err = fmt.Errorf("--comm %q: the kernel keeps 15 bytes of a command name", f.comm)
	}
	if err == nil && flags.Has("comm") && f.comm == "" {
		err = errors.New("--comm needs a non-empty name")
	}
	if err != nil {
		fmt.Fprintf(stderr, "rawns trace: %v; see 'rawns trace --help'\n", err)
		return f, watchUsage, false
	}
	return f, 0, true
}

// eventSet is a set of event types, bit 1<<evX for evX.
type eventSet uint8

const allEvents = eventSet(1<<evExec | 1<<evClone | 1<<evUnshare | 1<<evSetns | 1<<evSethostname)

func (s eventSet) has(ev int) bool { return s&(1<<ev) != 0 }

var eventNames = []struct {
	name string
	ev   int
}{{"clone", evClone}, {"unshare", evUnshare}, {"setns", evSetns}, {"sethostname", evSethostname}, {"exec", evExec}}

// parseEvents reads --events: given says whether the flag was there.
func parseEvents(list string, given bool) (eventSet, error) {
	if !given {
		return allEvents, nil
	}
	var s eventSet
	for _, name := range strings.Split(list, ",") {
		found := false
		for _, e := range eventNames {
			if e.name == name {
				s |= 1 << e.ev
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("--events %q: unknown event %q; use a comma-separated list of clone, unshare, setns, sethostname, exec", list, name)
		}
	}
	return s, nil
}

// watcher is the loaded and attached watch programs.
type watcher struct {
	coll  *ebpf.Collection
	links []io.Closer
	rd    *ringbuf.Reader
	hooks []string
	note  string // how the syscall hooks were chosen, for the first line
	drops *ebpf.Map
	extra []*ebpf.Collection // the syscall hooks' programs, on coll's maps
}

func (w *watcher) Close() error {
	var errs []error
	for _, l := range w.links {
		errs = append(errs, l.Close())
	}
	if w.rd != nil {
		errs = append(errs, w.rd.Close())
	}
	for _, c := range w.extra {
		c.Close()
	}
	if w.coll != nil {
		w.coll.Close()
	}
	return errors.Join(errs...)
}

// dropped returns how many events the kernel side lost so far (ring buffer
// or a syscall's entry not recorded), summed over the CPUs.
func (w *watcher) dropped() (uint64, error) {
	var perCPU []uint64
	if err := w.drops.Lookup(uint32(0), &perCPU); err != nil {
		return 0, fmt.Errorf("read the drop counter: %w", err)
	}
	var n uint64
	for _, v := range perCPU {
		n += v
	}
	return n, nil
}

func syscallConsts(events eventSet, f watchFilter) map[string]any {
	c := map[string]any{
		"target_tgid":      uint32(0),
		"nr_unshare":       int64(-1),
		"nr_setns":         int64(-1),
		"nr_sethostname":   int64(-1),
		"arch_arm64":       uint32(0),
		"filter_tgid":      uint32(f.pid),
		"filter_cgroup":    f.cgroup,
		"filter_cgroup_v1": f.cgroupV1,
	}
	// The syscall argument registers are only described for these two.
	if runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64" {
		// A syscall not asked for keeps -1, which no syscall number matches.
		if events.has(evUnshare) {
			c["nr_unshare"] = int64(unix.SYS_UNSHARE)
		}
		if events.has(evSetns) {
			c["nr_setns"] = int64(unix.SYS_SETNS)
		}
		if events.has(evSethostname) {
			c["nr_sethostname"] = int64(unix.SYS_SETHOSTNAME)
		}
		if runtime.GOARCH == "arm64" {
			c["arch_arm64"] = uint32(1)
		}
	}
	return c
}

// The syscall hooks, best first, as the first line names them.
const (
	// syscalls/sys_{enter,exit}_{unshare,setns,sethostname}. A program runs
	// for these three calls only, but every system call takes the slow path
	// (docs/trace.md); the ids come from tracefs (readEventIDs).
	syscallTracepoints = "tracepoint/syscalls/sys_{enter,exit}_{unshare,setns,sethostname}"
)

// sysPrefix is the prefix of the syscall entry points' symbols.
var sysPrefix = map[string]string{"amd64": "__x64_sys_", "arm64": "__arm64_sys_"}[runtime.GOARCH]

// syscallProgs are, per syscall event, its fentry, fexit and tracepoint
// programs and tracepoints.
var syscallProgs = []struct {
	ev                    int
	name                  string
	fentry, fexit, tpProg string
	tpEnter, tpExit       string
}{
	{evUnshare, "unshare", "fe_unshare", "fx_unshare", "tp_enter_unshare", "syscalls/sys_enter_unshare", "syscalls/sys_exit_unshare"},
	{evSetns, "setns", "fe_setns", "fx_setns", "tp_enter_setns", "syscalls/sys_enter_setns", "syscalls/sys_exit_setns"},
	{evSethostname, "sethostname", "fe_sethostname", "fx_sethostname", "tp_enter_sethostname", "syscalls/sys_enter_sethostname", "syscalls/sys_exit_sethostname"},
}

// syscallEvents are the events that need a syscall hook.
const syscallEvents = eventSet(1<<evUnshare | 1<<evSetns | 1<<evSethostname)

// hideEnv names hooks to pretend the kernel lacks, comma-separated:
// "fentry" (fentry/fexit, so the per-syscall tracepoints come next),
// "syscall-tracepoints" (so raw_tp/sys_enter and sys_exit are used), "tp_btf"
// (the exec hook starts at raw_tp). For tests and for measuring the
// fallbacks (rawns-trace overhead).
const hideEnv = "RAWNS_TRACE_HIDE"

// hiddenHooks applies the value of RAWNS_TRACE_HIDE to opts.
func hiddenHooks(opts loadOpts, value string) (loadOpts, error) {
	for _, h := range strings.Split(value, ",") {
		switch strings.TrimSpace(h) {
		case "":
		case "fentry":
			opts.hideFentry = true
		case "syscall-tracepoints":
			opts.hideSyscallTP = true
		case "tp_btf":
			opts.first = hookRaw
		default:
			return opts, fmt.Errorf("%s=%q: unknown hook %q; use fentry, syscall-tracepoints or tp_btf", hideEnv, value, h)
		}
	}
	return opts, nil
}

// loadWatcher loads and attaches the watcher for events: the exec hook (the
// first of attachExecFallback's that works) and raw_tp/task_newtask for
// clones in one collection, which holds the maps; then the syscall hooks,
// each choice a collection of its own sharing those maps, the first that
// loads and attaches: fentry/fexit, the per-syscall tracepoints, and last
// raw_tp/sys_enter and raw_tp/sys_exit. A hook whose events were not asked
// for is not attached. The whole kernel BTF is used, not the cached minimal
// one: fentry's attach targets are looked up in it (the watcher runs for
// long; its start-up is not on anyone's path).
func loadWatcher(opts loadOpts, events eventSet, f watchFilter) (*watcher, error) {
	opts.btfCacheDir = ""
	progs := []string{"exec_btf", "exec_raw", "exec_tp", "watch_newtask", "watch_enter", "watch_exit", "tp_exit"}
	for _, sp := range syscallProgs {
		progs = append(progs, sp.fentry, sp.fexit, sp.tpProg)
	}
	spec, err := loadSpec(progs, []string{"events", "pending", "drops"}, syscallConsts(events, f))
	if err != nil {
		return nil, err
	}
	w := &watcher{}
	_, err = withKernelTypes(spec, opts, func(kt kernelTypes) error {
		base := subSpec(spec, nil)
		if events.has(evClone) {
			base.Programs["watch_newtask"] = spec.Programs["watch_newtask"].Copy()
		}
		if events.has(evExec) {
			for _, p := range []string{"exec_btf", "exec_raw", "exec_tp"} {
				base.Programs[p] = spec.Programs[p].Copy()
			}
			coll, l, h, err := attachExecFallback(base, kt, opts.first)
			if err != nil {
				return err
			}
			w.coll, w.links, w.hooks = coll, []io.Closer{l}, []string{h.String()}
		} else {
			coll, err := ebpf.NewCollectionWithOptions(base, kt.options())
			if err != nil {
				return classify("load the watcher", err)
			}
			w.coll = coll
		}
		fail := func(op string, err error) error {
			w.Close()
			*w = watcher{}
			return classify(op, err)
		}
		if events.has(evClone) {
			l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: "task_newtask", Program: w.coll.Programs["watch_newtask"]})
			if err != nil {
				return fail("attach raw_tp/task_newtask", err)
			}
			w.links = append(w.links, l)
			w.hooks = append(w.hooks, "raw_tp/task_newtask")
		}
		if events&syscallEvents == 0 {
			w.note = "no system call hooked"
			return nil
		}
		if err := w.attachSyscalls(spec, kt, opts, events); err != nil {
			return fail("attach the syscall hooks", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	w.drops = w.coll.Maps["drops"]
	if w.rd, err = ringbuf.NewReader(w.coll.Maps["events"]); err != nil {
		w.Close()
		return nil, classify("open ring buffer", err)
	}
	return w, nil
}

// subSpec is a copy of spec with only the named programs.
func subSpec(spec *ebpf.CollectionSpec, progs []string) *ebpf.CollectionSpec {
	cs := spec.Copy()
	keep := make(map[string]bool)
	for _, p := range progs {
		keep[p] = true
	}
	for p := range cs.Programs {
		if !keep[p] {
			delete(cs.Programs, p)
		}
	}
	return cs
}

// attachSyscalls attaches the first syscall hooks that work, and says in
// w.hooks and w.note which and why not the better ones.
func (w *watcher) attachSyscalls(spec *ebpf.CollectionSpec, kt kernelTypes, opts loadOpts, events eventSet) error {
	var asked []string
	for _, sp := range syscallProgs {
		if events.has(sp.ev) {
			asked = append(asked, sp.name)
		}
	}
	hookName := func(all, prefix, suffix string) string {
		if len(asked) == len(syscallProgs) {
			return all
		}
		return prefix + strings.Join(asked, ",") + suffix
	}
	var why []string
	// 1. fentry/fexit.
	err := errors.New("hidden by " + hideEnv)
	if !opts.hideFentry {
		err = w.attachFentry(spec, kt, events)
	}
	if err == nil {
		// fentry/fexit on the syscall entry points: programs patched into
		// these three functions, nothing changes for any other system call.
		w.hooks = append(w.hooks, hookName("fentry+fexit/"+sysPrefix+"{unshare,setns,sethostname}", "fentry+fexit/"+sysPrefix+"{", "}"))
		w.note = "no tracefs needed"
		return nil
	}
	why = append(why, "fentry/fexit unavailable: "+err.Error())
	// 2. The per-syscall tracepoints.
	err = errors.New("hidden by " + hideEnv)
	var ids eventIDs
	if !opts.hideSyscallTP {
		var names []string
		for _, sp := range syscallProgs {
			if events.has(sp.ev) {
				names = append(names, sp.tpEnter, sp.tpExit)
			}
		}
		if ids, err = readEventIDs(names); err == nil {
			err = w.attachTracepoints(spec, kt, events, ids)
		}
	}
	if err == nil {
		w.hooks = append(w.hooks, hookName(syscallTracepoints, "tracepoint/syscalls/sys_{enter,exit}_{", "}"))
		w.note = ids.how + "; " + why[0] + ", so every system call of every process takes the kernel's slow syscall path"
		return nil
	}
	why = append(why, "per-syscall tracepoints unavailable: "+err.Error())
	// 3. raw_tp/sys_enter and sys_exit.
	if err := w.attachRawSyscalls(spec, kt); err != nil {
		return fmt.Errorf("%w (%s)", err, strings.Join(why, "; "))
	}
	w.hooks = append(w.hooks, "raw_tp/sys_enter", "raw_tp/sys_exit")
	w.note = "fallback: a BPF program runs on every system call of every process, because " + strings.Join(why, "; ")
	return nil
}

// loadShared loads progs of spec as a collection that uses w's maps.
func (w *watcher) loadShared(spec *ebpf.CollectionSpec, kt kernelTypes, progs []string) (*ebpf.Collection, error) {
	cs := subSpec(spec, progs)
	opts := kt.options()
	opts.MapReplacements = map[string]*ebpf.Map{
		"events": w.coll.Maps["events"], "pending": w.coll.Maps["pending"], "drops": w.coll.Maps["drops"],
	}
	return ebpf.NewCollectionWithOptions(cs, opts)
}

// attachAll attaches with attach and keeps coll and the links in w, or
// undoes everything.
func (w *watcher) attachAll(coll *ebpf.Collection, attach func(add func(io.Closer)) error) error {
	var links []io.Closer
	err := attach(func(l io.Closer) { links = append(links, l) })
	if err != nil {
		for _, l := range links {
			l.Close()
		}
		coll.Close()
		return err
	}
	w.extra = append(w.extra, coll)
	w.links = append(w.links, links...)
	return nil
}

func (w *watcher) attachFentry(spec *ebpf.CollectionSpec, kt kernelTypes, events eventSet) error {
	if sysPrefix == "" {
		return errors.New("no syscall entry point names for " + runtime.GOARCH)
	}
	cs := spec.Copy()
	var progs []string
	for _, sp := range syscallProgs {
		if events.has(sp.ev) {
			progs = append(progs, sp.fentry, sp.fexit)
			cs.Programs[sp.fentry].AttachTo = sysPrefix + sp.name
			cs.Programs[sp.fexit].AttachTo = sysPrefix + sp.name
		}
	}
	coll, err := w.loadShared(cs, kt, progs)
	if err != nil {
		return errors.New(cleanCause(err))
	}
	return w.attachAll(coll, func(add func(io.Closer)) error {
		for _, p := range progs {
			l, err := link.AttachTracing(link.TracingOptions{Program: coll.Programs[p]})
			if err != nil {
				return fmt.Errorf("attach %s: %s", p, cleanCause(err))
			}
			add(l)
		}
		return nil
	})
}

func (w *watcher) attachTracepoints(spec *ebpf.CollectionSpec, kt kernelTypes, events eventSet, ids eventIDs) error {
	progs := []string{"tp_exit"}
	for _, sp := range syscallProgs {
		if events.has(sp.ev) {
			progs = append(progs, sp.tpProg)
		}
	}
	coll, err := w.loadShared(spec, kt, progs)
	if err != nil {
		return errors.New(cleanCause(err))
	}
	return w.attachAll(coll, func(add func(io.Closer)) error {
		for _, sp := range syscallProgs {
			if !events.has(sp.ev) {
				continue
			}
			for _, tp := range []struct{ prog, event string }{{sp.tpProg, sp.tpEnter}, {"tp_exit", sp.tpExit}} {
				pl, err := attachTracepointID(coll.Programs[tp.prog], ids.ids[tp.event])
				if err != nil {
					return fmt.Errorf("attach tracepoint/%s: %w", tp.event, err)
				}
				add(pl)
			}
		}
		return nil
	})
}

func (w *watcher) attachRawSyscalls(spec *ebpf.CollectionSpec, kt kernelTypes) error {
	coll, err := w.loadShared(spec, kt, []string{"watch_enter", "watch_exit"})
	if err != nil {
		return err
	}
	return w.attachAll(coll, func(add func(io.Closer)) error {
		for _, tp := range []struct{ prog, name string }{{"watch_enter", "sys_enter"}, {"watch_exit", "sys_exit"}} {
			l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: tp.name, Program: coll.Programs[tp.prog]})
			if err != nil {
				return fmt.Errorf("attach raw_tp/%s: %w", tp.name, err)
			}
			add(l)
		}
		return nil
	})
}

// watch is WatchMain with the context, loader options and a readiness
// callback (for tests) passed in.
func watch(ctx context.Context, args []string, stdout, stderr io.Writer, opts loadOpts, ready func()) int {
	f, code, ok := parseWatchFlags(args, stdout, stderr)
	if !ok {
		return code
	}
	w, err := loadWatcher(opts, f.events, f)
	if err != nil {
		// *Error says "trace: ..." already.
		fmt.Fprintf(stderr, "rawns %s\n", strings.TrimPrefix(err.Error(), "rawns "))
		return watchUsage
	}
	defer w.Close()
	hooks := strings.Join(w.hooks, ", ")
	if w.note != "" {
		hooks += "; " + w.note
	}
	fmt.Fprintf(stderr, "rawns trace: watching namespace changes (%s); Ctrl-C to stop\n", hooks)
	if ready != nil {
		ready()
	}
	stop := context.AfterFunc(ctx, func() { _ = w.rd.Flush() })
	defer stop()
	var rec ringbuf.Record
	var raw bpfExecEvent
	var drops uint64 // reported so far
	// reportDrops prints a "dropped" line when the kernel's count grew. It
	// runs when the ring buffer has been drained, and every dropPoll while
	// nothing comes, so a loss is said even if no event follows it.
	reportDrops := func() error {
		n, err := w.dropped()
		if err != nil || n <= drops {
			return err
		}
		d := dropEvent{Time: time.Now(), Dropped: n - drops, Total: n}
		drops = n
		if f.json {
			return d.writeJSON(stdout)
		}
		return d.writeText(stdout)
	}
	finish := func(code int) int {
		if err := reportDrops(); err != nil {
			fmt.Fprintf(stderr, "rawns trace: %v\n", err)
			return watchFail
		}
		if drops > 0 {
			fmt.Fprintf(stderr, "rawns trace: %d events dropped in all: the ring buffer was full (the reader fell behind)\n", drops)
		}
		return code
	}
	for {
		w.rd.SetDeadline(time.Now().Add(dropPoll))
		err := w.rd.ReadInto(&rec)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if err := reportDrops(); err != nil {
				fmt.Fprintf(stderr, "rawns trace: %v\n", err)
				return watchFail
			}
			continue
		}
		if err != nil {
			if errors.Is(err, ringbuf.ErrFlushed) && ctx.Err() != nil {
				return finish(watchOK)
			}
			if errors.Is(err, ringbuf.ErrFlushed) {
				continue
			}
			fmt.Fprintf(stderr, "rawns trace: read ring buffer: %v\n", err)
			return watchFail
		}
		err = decodeEvent(rec.RawSample, &raw.Ev)
		if err == nil && raw.Ev.Type == evExec {
			err = decodeProof(rec.RawSample, &raw.Proof)
		}
		if err != nil {
			fmt.Fprintf(stderr, "rawns trace: %v\n", err)
			return watchFail
		}
		ev := watchEventFrom(&raw, time.Now())
		if f.match(&ev) {
			if f.json {
				err = ev.writeJSON(stdout)
			} else {
				err = ev.writeText(stdout)
			}
		}
		if err == nil && w.rd.AvailableBytes() == 0 {
			err = reportDrops()
		}
		if err != nil {
			fmt.Fprintf(stderr, "rawns trace: write: %v\n", err)
			return watchFail
		}
	}
}

// dropPoll is how often an idle watcher looks at the drop counter.
const dropPoll = 250 * time.Millisecond

// dropEvent says that the kernel side lost events: Dropped since the last
// such line, Total since the start.
type dropEvent struct {
	Time    time.Time
	Dropped uint64
	Total   uint64
}

func (d dropEvent) writeText(w io.Writer) error {
	_, err := fmt.Fprintf(w, "%s %-11s %d events lost: the ring buffer was full (%d in all)\n",
		d.Time.Format("15:04:05.000000"), "dropped", d.Dropped, d.Total)
	return err
}

// writeJSON: {"time":..., "event":"dropped", "dropped":N, "dropped-total":M}.
func (d dropEvent) writeJSON(w io.Writer) error {
	b, err := json.Marshal(struct {
		Time    string `json:"time"`
		Event   string `json:"event"`
		Dropped uint64 `json:"dropped"`
		Total   uint64 `json:"dropped-total"`
	}{d.Time.Format(time.RFC3339Nano), "dropped", d.Dropped, d.Total})
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// watchEvent is one decoded event of the watcher.
type watchEvent struct {
	Time     time.Time
	Type     string // clone, unshare, setns, sethostname, exec
	PID      uint32 // host tgid of the caller (clone: the parent)
	TID      uint32
	Child    uint32 // clone: host tid of the new task
	NSPID    uint32
	Level    uint32
	Comm     string
	Nodename string
	Filename string
	Flags    uint64
	Arg      int64
	Ret      int64
	Before   [trace.NumKinds]trace.NSID
	After    [trace.NumKinds]trace.NSID
	Proof    *trace.Proof // exec: what the kernel held besides namespaces
}

func watchEventFrom(x *bpfExecEvent, now time.Time) watchEvent {
	raw := &x.Ev
	ev := watchEvent{
		Time: now, PID: raw.Tgid, TID: raw.Tid, Child: raw.ChildTid, NSPID: raw.Nspid, Level: raw.Level,
		Comm: cstr(raw.Comm[:]), Nodename: cstr(raw.Nodename[:]), Filename: cstr(raw.Filename[:]),
		Flags: raw.Flags, Arg: raw.Arg, Ret: raw.Ret,
	}
	switch raw.Type {
	case evExec:
		ev.Type = "exec"
		p := proofFrom(&x.Proof)
		ev.Proof = &p
	case evClone:
		ev.Type = "clone"
	case evUnshare:
		ev.Type = "unshare"
	case evSetns:
		ev.Type = "setns"
	case evSethostname:
		ev.Type = "sethostname"
	default:
		ev.Type = "event(" + strconv.Itoa(int(raw.Type)) + ")"
	}
	for k := range ev.After {
		ev.Before[k] = trace.NSID{Inode: raw.Before[k].Inum, ID: raw.Before[k].Id}
		ev.After[k] = trace.NSID{Inode: raw.Ns[k].Inum, ID: raw.Ns[k].Id}
	}
	return ev
}

// match applies the filters kept in userspace; --pid and --cgroup were
// applied in the kernel.
func (f watchFilter) match(ev *watchEvent) bool {
	if f.comm != "" && ev.Comm != f.comm {
		return false
	}
	if f.ns != 0 {
		for k := range ev.After {
			for _, n := range []trace.NSID{ev.Before[k], ev.After[k]} {
				if n.Inode == f.ns || n.ID == f.ns {
					return true
				}
			}
		}
		return false
	}
	return true
}

// changed lists "kind before -> after" for the kinds that differ.
func (ev *watchEvent) changed() string {
	var parts []string
	for k := trace.Kind(0); k < trace.NumKinds; k++ {
		if ev.Before[k] != ev.After[k] {
			parts = append(parts, fmt.Sprintf("%s %s -> %s", k, ev.Before[k], ev.After[k]))
		}
	}
	if len(parts) == 0 {
		return "no namespace changed"
	}
	return strings.Join(parts, ", ")
}

func (ev *watchEvent) writeText(w io.Writer) error {
	who := fmt.Sprintf("%s %-11s pid %d (%s)", ev.Time.Format("15:04:05.000000"), ev.Type, ev.PID, ev.Comm)
	if ev.Level > 0 {
		who += fmt.Sprintf(" [pid %d at level %d]", ev.NSPID, ev.Level)
	}
	var line string
	switch ev.Type {
	case "clone":
		line = fmt.Sprintf("%s %s -> child %d: %s", who, trace.CloneFlagsString(ev.Flags), ev.Child, ev.changed())
	case "unshare":
		line = fmt.Sprintf("%s %s = %s: %s", who, trace.CloneFlagsString(ev.Flags), retString(ev.Ret), ev.changed())
	case "setns":
		nstype := "0 (any)"
		if ev.Flags != 0 {
			nstype = trace.CloneFlagsString(ev.Flags)
		}
		line = fmt.Sprintf("%s fd %d nstype %s = %s: %s", who, ev.Arg, nstype, retString(ev.Ret), ev.changed())
	case "sethostname":
		line = fmt.Sprintf("%s %q = %s: uts %s", who, ev.Nodename, retString(ev.Ret), ev.After[trace.UTS])
	default:
		var ns []string
		for k := trace.Kind(0); k < trace.NumKinds; k++ {
			ns = append(ns, k.String()+" "+ev.After[k].String())
		}
		line = fmt.Sprintf("%s %s nodename %q: %s", who, ev.Filename, ev.Nodename, strings.Join(ns, ", "))
		if ev.Proof != nil {
			for _, l := range ev.Proof.Lines() {
				line += "\n    " + l
			}
		}
	}
	_, err := io.WriteString(w, line+"\n")
	return err
}

func retString(ret int64) string {
	if ret < 0 && ret > -4096 {
		return "-1 " + unix.ErrnoName(syscall.Errno(-ret))
	}
	return strconv.FormatInt(ret, 10)
}

type jsonNS struct {
	Inode uint64 `json:"inode"`
	ID    uint64 `json:"id,omitempty"`
}

// writeJSON writes one object per line. Keys: time, event, pid, tid,
// child-pid (clone), ns-pid, ns-level, comm, nodename, filename (exec),
// flags and flags-raw (clone, unshare, setns), fd (setns), ret (syscalls),
// before and after (per kind {inode, id}; for clone: parent and child).
func (ev *watchEvent) writeJSON(w io.Writer) error {
	type obj struct {
		Time     string            `json:"time"`
		Event    string            `json:"event"`
		PID      uint32            `json:"pid"`
		TID      uint32            `json:"tid"`
		Child    uint32            `json:"child-pid,omitempty"`
		NSPID    uint32            `json:"ns-pid"`
		Level    uint32            `json:"ns-level"`
		Comm     string            `json:"comm"`
		Nodename string            `json:"nodename"`
		Filename string            `json:"filename,omitempty"`
		Flags    string            `json:"flags,omitempty"`
		FlagsRaw uint64            `json:"flags-raw,omitempty"`
		FD       *int64            `json:"fd,omitempty"`
		Ret      *int64            `json:"ret,omitempty"`
		Before   map[string]jsonNS `json:"before,omitempty"`
		After    map[string]jsonNS `json:"after"`
		Proof    json.RawMessage   `json:"proof,omitempty"`
	}
	o := obj{
		Time: ev.Time.Format(time.RFC3339Nano), Event: ev.Type, PID: ev.PID, TID: ev.TID, Child: ev.Child,
		NSPID: ev.NSPID, Level: ev.Level, Comm: ev.Comm, Nodename: ev.Nodename, Filename: ev.Filename,
		After: make(map[string]jsonNS),
	}
	if ev.Type != "exec" && ev.Type != "sethostname" {
		o.FlagsRaw = ev.Flags
		if ev.Flags != 0 {
			o.Flags = trace.CloneFlagsString(ev.Flags)
		}
	}
	if ev.Type != "exec" && ev.Type != "clone" {
		o.Ret = &ev.Ret
	}
	if ev.Type == "setns" {
		o.FD = &ev.Arg
	}
	if ev.Type != "exec" {
		o.Before = make(map[string]jsonNS)
	}
	for k := trace.Kind(0); k < trace.NumKinds; k++ {
		if o.Before != nil && !ev.Before[k].Zero() {
			o.Before[k.String()] = jsonNS{ev.Before[k].Inode, ev.Before[k].ID}
		}
		if !ev.After[k].Zero() {
			o.After[k.String()] = jsonNS{ev.After[k].Inode, ev.After[k].ID}
		}
	}
	if ev.Proof != nil {
		o.Proof = ev.Proof.AppendJSON(nil)
	}
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// cgroupFilter reads --cgroup DIR: the directory's inode (its kernfs id)
// and its hierarchy: cgroup2 (-1), or a v1 one of a controller the kernel
// side can follow (trace.V1Names).
func cgroupFilter(dir string) (uint64, int32, error) {
	var st unix.Stat_t
	var fs unix.Statfs_t
	if err := unix.Stat(dir, &st); err != nil {
		return 0, 0, fmt.Errorf("--cgroup %s: %v", dir, err)
	}
	if err := unix.Statfs(dir, &fs); err != nil {
		return 0, 0, fmt.Errorf("--cgroup %s: %v", dir, err)
	}
	switch fs.Type {
	case unix.CGROUP2_SUPER_MAGIC:
		return st.Ino, -1, nil
	case unix.CGROUP_SUPER_MAGIC:
		// Which controllers: the super options of the cgroup mount
		// that holds dir, the longest mount point that prefixes it.
		b, err := os.ReadFile("/proc/self/mountinfo")
		if err != nil {
			return 0, 0, fmt.Errorf("--cgroup %s: %v", dir, err)
		}
		abs, _ := filepath.Abs(dir)
		best, opts := "", ""
		for _, l := range strings.Split(string(b), "\n") {
			pre, post, ok := strings.Cut(l, " - ")
			f, g := strings.Fields(pre), strings.Fields(post)
			if !ok || len(f) < 5 || len(g) < 3 || g[0] != "cgroup" {
				continue
			}
			if (abs == f[4] || strings.HasPrefix(abs, strings.TrimSuffix(f[4], "/")+"/")) && len(f[4]) > len(best) {
				best, opts = f[4], g[2]
			}
		}
		for _, o := range strings.Split(opts, ",") {
			for c, n := range trace.V1Names {
				if o == n {
					return st.Ino, int32(c), nil
				}
			}
		}
		return 0, 0, fmt.Errorf("--cgroup %s: a v1 hierarchy of %q; give a cgroup2 directory or one of a cpuset, cpu, memory or pids hierarchy", dir, opts)
	}
	return 0, 0, fmt.Errorf("--cgroup %s: not a cgroup directory (neither cgroup2 nor cgroup v1)", dir)
}
