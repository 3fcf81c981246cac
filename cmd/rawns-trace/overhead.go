package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/cli"
	"github.com/rawns/rawns/internal/exitcode"
)

const overheadUsage = `usage: rawns-trace overhead [--rounds N] [--calls N] [--execs N] [--events N] [--modes LIST]

What 'rawns trace' costs the host, measured with the watcher off and on in
alternation (the order rotates every round), as ratios to the same round's
"off" run:
  syscalls  a tight loop of raw getppid(2), a call the watcher does not report
            (thread CPU time per call, median of 5 batches)
  execs     fork+exec+wait of /bin/true in the host's PID namespace, not
            reported (median CPU time per exec: spawner thread + child;
            the wall time is shown too)
  event     one reported event end to end: setns(2) into the caller's own UTS
            namespace until the watcher's JSON line for it has been read
The watcher is 'rawns-trace watch --json --pid <this pid>', a separate process.
Modes: off; default (the best syscall hooks this kernel allows);
tracepoints (RAWNS_TRACE_HIDE=fentry: the per-syscall tracepoints); raw_tp
(RAWNS_TRACE_HIDE=fentry,syscall-tracepoints: raw_tp/sys_enter+sys_exit, the
watcher before issue 16); no-syscalls (--events clone,exec: no system call
hooked, no event timed).
Needs root.

Flags:
  --rounds N   rounds (default 9)
  --calls N    getppid calls per run (default 2000000)
  --execs N    execs of /bin/true per run (default 300)
  --events N   reported events per run (default 200)
  --modes LIST comma-separated modes (default off,default,raw_tp,no-syscalls)
`

var overheadFlags = []cli.Def{
	{Name: "rounds", Kind: cli.String},
	{Name: "calls", Kind: cli.String},
	{Name: "execs", Kind: cli.String},
	{Name: "events", Kind: cli.String},
	{Name: "modes", Kind: cli.String},
	{Name: "help", Short: "h", Kind: cli.Bool},
}

type overheadConfig struct {
	rounds, calls, execs, events int
	modes                        []string
}

func parseOverhead(args []string, stderr io.Writer) (overheadConfig, int, bool) {
	c := overheadConfig{}
	flags, rest, err := cli.Parse(overheadFlags, args)
	if err == nil && flags.Has("help") {
		io.WriteString(stderr, overheadUsage)
		return c, 0, false
	}
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("unexpected argument %q", rest[0])
	}
	for _, f := range []struct {
		name string
		dst  *int
		def  int
	}{{"rounds", &c.rounds, 9}, {"calls", &c.calls, 2000000}, {"execs", &c.execs, 300}, {"events", &c.events, 200}} {
		if err == nil {
			*f.dst, err = flags.Int(f.name, f.def, 1)
		}
	}
	if err == nil {
		c.modes = strings.Split(flags.Get("modes", "off,default,raw_tp,no-syscalls"), ",")
		for _, m := range c.modes {
			if _, ok := modeHide[m]; !ok && m != "off" {
				err = fmt.Errorf("--modes: unknown mode %q; use off, default, tracepoints, raw_tp, no-syscalls", m)
			}
		}
		if err == nil && !slices.Contains(c.modes, "off") {
			err = errors.New("--modes must include off: every ratio is read against it")
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "rawns-trace overhead: %v; see 'rawns-trace overhead --help'\n", err)
		return c, 125, false
	}
	return c, 0, true
}

// overheadMain runs `rawns-trace overhead ARGS...`.
func overheadMain(args []string, stdout, stderr io.Writer) int {
	c, code, ok := parseOverhead(args, stderr)
	if !ok {
		return code
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(stderr, "rawns-trace overhead: needs root: the watcher loads BPF programs and the event loop calls setns(2)")
		return exitcode.Failed
	}
	if err := runOverhead(c, stdout); err != nil {
		fmt.Fprintf(stderr, "rawns-trace overhead: %v\n", err)
		return 1
	}
	return 0
}

// sample is one mode's run within a round.
type sample struct {
	syscallNS  float64   // per getppid
	execUS     float64   // per fork+exec+wait, CPU time
	execWallUS float64   // per fork+exec+wait, wall time
	eventUS    []float64 // per reported event, end to end (watcher on)
}

func runOverhead(c overheadConfig, out io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	utsFD, err := unix.Open("/proc/self/ns/uts", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(utsFD)
	res := make(map[string][]sample)
	fmt.Fprintf(out, "rawns-trace overhead: %d rounds; %d getppid, %d execs of /bin/true, %d reported events per run; modes %s\n",
		c.rounds, c.calls, c.execs, c.events, strings.Join(c.modes, ", "))
	for r := 0; r < c.rounds; r++ {
		for i := range c.modes {
			mode := c.modes[(i+r)%len(c.modes)]
			s, err := measureMode(self, mode, c, utsFD)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r+1, mode, err)
			}
			res[mode] = append(res[mode], s)
		}
	}
	fmt.Fprintf(out, "\n%-12s %11s %13s %13s %22s %22s %19s\n", "mode", "getppid ns", "exec cpu µs", "exec wall µs", "syscall ratio", "exec ratio (cpu)", "event µs p50/p90")
	for _, mode := range c.modes {
		var sys, ex, exw, sysR, exR, ev []float64
		for r, s := range res[mode] {
			off := res["off"][r]
			sys = append(sys, s.syscallNS)
			ex = append(ex, s.execUS)
			exw = append(exw, s.execWallUS)
			sysR = append(sysR, s.syscallNS/off.syscallNS)
			exR = append(exR, s.execUS/off.execUS)
			ev = append(ev, s.eventUS...)
		}
		evs := "-"
		if len(ev) > 0 {
			evs = fmt.Sprintf("%.0f / %.0f", quantile(ev, 0.5), quantile(ev, 0.9))
		}
		fmt.Fprintf(out, "%-12s %11.1f %13.1f %13.1f %22s %22s %19s\n", mode, quantile(sys, 0.5), quantile(ex, 0.5),
			quantile(exw, 0.5), ratioString(sysR), ratioString(exR), evs)
	}
	fmt.Fprintf(out, "\nmedians over rounds; a ratio is the round's run over the same round's off run, median [min-max]\n")
	for _, mode := range c.modes {
		if mode == "off" {
			continue
		}
		var sysR, exR []float64
		for r, s := range res[mode] {
			sysR = append(sysR, s.syscallNS/res["off"][r].syscallNS)
			exR = append(exR, s.execUS/res["off"][r].execUS)
		}
		fmt.Fprintf(out, "%s: syscalls %+.1f%%, execs %+.1f%% (per-round ratios: syscalls %s; execs %s)\n", mode,
			(quantile(sysR, 0.5)-1)*100, (quantile(exR, 0.5)-1)*100, ratioList(sysR), ratioList(exR))
	}
	return nil
}

func ratioString(r []float64) string {
	return fmt.Sprintf("%.3f [%.3f-%.3f]", quantile(r, 0.5), slices.Min(r), slices.Max(r))
}

func ratioList(r []float64) string {
	s := make([]string, len(r))
	for i, v := range r {
		s[i] = strconv.FormatFloat(v, 'f', 3, 64)
	}
	return strings.Join(s, " ")
}

func quantile(v []float64, q float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1)+0.5)]
}

// measureMode runs the three workloads once with the watcher in mode.
func measureMode(self, mode string, c overheadConfig, utsFD int) (sample, error) {
	var w *benchWatcher
	if mode != "off" {
		var err error
		if w, err = startBenchWatcher(self, mode); err != nil {
			return sample{}, err
		}
	}
	var s sample
	var err error
	s.syscallNS = getppidLoop(c.calls)
	s.execUS, s.execWallUS, err = execLoop(c.execs)
	if err == nil && w != nil && mode != "no-syscalls" {
		s.eventUS, err = eventLoop(w, c.events, utsFD)
	}
	if w != nil {
		if serr := w.stop(); err == nil {
			err = serr
		}
	}
	return s, err
}

// getppidLoop returns ns per raw getppid(2), on one locked thread: the
// median of 5 batches, each timed by the thread's CPU clock, so that time
// spent preempted by the host's other work (the CPUs are shared) is not
// counted.
func getppidLoop(n int) float64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const batches = 5
	per := make([]float64, batches)
	for b := range per {
		t0 := threadCPU()
		for i := 0; i < n/batches; i++ {
			unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
		}
		per[b] = float64(threadCPU()-t0) / float64(n/batches)
	}
	return quantile(per, 0.5)
}

func threadCPU() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return ts.Nano()
}

// execLoop returns µs per fork+exec+wait of /bin/true: the median over the
// n execs of the CPU time spent on it (the spawning thread's CPU clock plus
// the child's user and system time from wait4), which time spent preempted
// does not move, and the median wall time.
func execLoop(n int) (cpu, wall float64, err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	attr := &syscall.ProcAttr{Files: []uintptr{0, 1, 2}}
	argv := []string{"/bin/true"}
	cpus := make([]float64, n)
	walls := make([]float64, n)
	for i := 0; i < n; i++ {
		t0, c0 := time.Now(), threadCPU()
		pid, err := syscall.ForkExec("/bin/true", argv, attr)
		if err != nil {
			return 0, 0, err
		}
		var ws syscall.WaitStatus
		var ru syscall.Rusage
		if _, err := syscall.Wait4(pid, &ws, 0, &ru); err != nil {
			return 0, 0, err
		}
		if !ws.Exited() || ws.ExitStatus() != 0 {
			return 0, 0, fmt.Errorf("/bin/true: %v", ws)
		}
		child := ru.Utime.Nano() + ru.Stime.Nano()
		cpus[i] = float64(threadCPU()-c0+child) / 1000
		walls[i] = float64(time.Since(t0).Nanoseconds()) / 1000
	}
	return quantile(cpus, 0.5), quantile(walls, 0.5), nil
}

// eventLoop times n setns(2) calls from the call to the watcher's line.
func eventLoop(w *benchWatcher, n, utsFD int) ([]float64, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	lat := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if err := unix.Setns(utsFD, unix.CLONE_NEWUTS); err != nil {
			return nil, fmt.Errorf("setns: %w", err)
		}
		select {
		case t1 := <-w.setns:
			lat = append(lat, float64(t1.Sub(t0).Nanoseconds())/1000)
		case err := <-w.exited:
			return nil, fmt.Errorf("watcher exited: %v", err)
		case <-time.After(5 * time.Second):
			return nil, errors.New("no setns line from the watcher within 5s")
		}
	}
	return lat, nil
}

// settle is the pause between the watcher's first line and the first
// measurement.
const settle = 500 * time.Millisecond

// modeHide is RAWNS_TRACE_HIDE for each mode with a watcher.
var modeHide = map[string]string{"default": "", "tracepoints": "fentry", "raw_tp": "fentry,syscall-tracepoints", "no-syscalls": ""}

// benchWatcher is a `rawns-trace watch --json --pid <us>` process.
type benchWatcher struct {
	cmd    *exec.Cmd
	setns  chan time.Time // when a setns line was read
	exited chan error
	stderr *strings.Builder
	copied chan struct{} // stderr copied into stderr
}

func startBenchWatcher(self, mode string) (*benchWatcher, error) {
	args := []string{"watch", "--json", "--pid", strconv.Itoa(os.Getpid())}
	if mode == "no-syscalls" {
		args = append(args, "--events", "clone,exec")
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), "RAWNS_TRACE_HIDE="+modeHide[mode])
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w := &benchWatcher{cmd: cmd, setns: make(chan time.Time, 1), exited: make(chan error, 1), stderr: new(strings.Builder), copied: make(chan struct{})}
	first, err := bufio.NewReader(stderr).ReadString('\n')
	want := map[string]string{"default": "watching", "tracepoints": "tracepoint/syscalls/", "raw_tp": "raw_tp/sys_enter", "no-syscalls": "no system call hooked"}[mode]
	if err != nil || !strings.Contains(first, "watching") || !strings.Contains(first, want) {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("watcher (%s) did not start with %s: %q %v", mode, want, first, err)
	}
	go func() {
		defer close(w.copied)
		io.Copy(w.stderr, stderr)
	}()
	// Let the watcher's start-up (kernel BTF parsed, the Go runtime's
	// first collections) finish before anything is timed.
	time.Sleep(settle)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), `"event":"setns"`) {
				w.setns <- time.Now()
			}
		}
		w.exited <- cmd.Wait()
	}()
	return w, nil
}

func (w *benchWatcher) stop() error {
	w.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-w.exited:
		<-w.copied
		if err != nil {
			return fmt.Errorf("watcher: %v: %s", err, w.stderr.String())
		}
		return nil
	case <-time.After(10 * time.Second):
		w.cmd.Process.Kill()
		<-w.exited
		return errors.New("watcher did not stop on SIGINT within 10s")
	}
}
