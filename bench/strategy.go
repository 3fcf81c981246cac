package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rawns/rawns/clone"
)

// Job is what every strategy does: start Path with Args and Env in new
// Namespaces (naming the UTS namespace Hostname when it is new), with
// /dev/null as stdin, stdout and stderr, and reap it.
type Job struct {
	Path       string
	Args       []string // argv, Args[0] included
	Env        []string
	Namespaces clone.Namespaces
	Hostname   string   // used only when Namespaces has NewUTS
	Null       *os.File // /dev/null, opened once so that no strategy pays for opening it
}

// hostname is the hostname to set, or "" when the job makes no UTS namespace.
func (j *Job) hostname() string {
	if j.Namespaces&clone.NewUTS == 0 {
		return ""
	}
	return j.Hostname
}

// Strategy is one way of doing the job.
type Strategy struct {
	Name  string
	About string // one line: how it spawns

	// spawn does the job once and fails unless the program exits 0. Nil
	// for strategies that time themselves (the C reference).
	spawn func() error
	// batch, when set, replaces the timing loop around spawn.
	batch func(n, parallel int) ([]time.Duration, error)
}

// Spawn does the job once: start, reap, and check that the exit status is 0.
func (s *Strategy) Spawn() error {
	if s.spawn == nil {
		return fmt.Errorf("%s times itself; use Batch", s.Name)
	}
	return s.spawn()
}

// CanSpawn reports whether Spawn works, i.e. the strategy runs in this
// process rather than timing itself.
func (s *Strategy) CanSpawn() bool { return s.spawn != nil }

// Batch does the job n times and returns each spawn's time. With parallel
// > 1, parallel workers share the n spawns and the result is one value: the
// wall time of all of them divided by n, the inverse of the throughput.
func (s *Strategy) Batch(n, parallel int) ([]time.Duration, error) {
	if s.batch != nil {
		return s.batch(n, parallel)
	}
	if parallel <= 1 {
		out := make([]time.Duration, n)
		for i := range out {
			t0 := time.Now()
			if err := s.spawn(); err != nil {
				return nil, err
			}
			out[i] = time.Since(t0)
		}
		return out, nil
	}
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		next     = make(chan struct{}, n)
	)
	for range n {
		next <- struct{}{}
	}
	close(next)
	t0 := time.Now()
	for range parallel {
		wg.Go(func() {
			for range next {
				if err := s.spawn(); err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(t0)
	if firstErr != nil {
		return nil, firstErr
	}
	return []time.Duration{el / time.Duration(n)}, nil
}

// StrategyNames lists the in-process strategies in the order they are shown.
func StrategyNames() []string {
	return []string{"c-vfork", "c-fork", "rawns-vfork", "rawns-vfork-clone", "rawns-fork", "rawns-spawner", "rawns-vfork-handoff", "os-exec", "forkexec", "reexec"}
}

// NewStrategy returns the named in-process strategy for job. cref is the
// path of the C reference binary (spawn-c), needed by the c-* strategies.
// An error says why the strategy cannot do this job here; it is a note for
// the user, not a failure of the benchmark.
func NewStrategy(name string, job *Job, cref string) (*Strategy, error) {
	ns := job.Namespaces
	switch name {
	case "c-vfork", "c-fork":
		if cref == "" {
			return nil, errors.New("no C reference binary (build bin/spawn-c with make, or pass --cref)")
		}
		style := strings.TrimPrefix(name, "c-")
		return &Strategy{
			Name:  name,
			About: "C reference: clone3 " + style + "-style + sethostname + execve + waitpid, timed by itself (spawn-c --loop)",
			batch: func(n, parallel int) ([]time.Duration, error) { return crefLoop(cref, style, job, n, parallel) },
		}, nil
	case "rawns-vfork", "rawns-vfork-clone", "rawns-fork", "rawns-spawner", "rawns-vfork-handoff":
		spec := &clone.Spec{
			Path: job.Path, Args: job.Args, Env: job.Env,
			Namespaces: ns, Hostname: job.hostname(),
			Mode: clone.ModeVfork, Syscall: clone.SyscallClone3,
		}
		if job.Null != nil {
			fd := int(job.Null.Fd())
			spec.Stdio = []int{fd, fd, fd}
		}
		about := "rawns clone.StartHere (as rawns run), vfork-style (CLONE_VM|CLONE_VFORK), clone3"
		start := clone.StartHere
		switch name {
		case "rawns-spawner":
			start = clone.Start
			about = "rawns clone.Start: the same, handed to the long-lived spawner thread"
		case "rawns-vfork-handoff":
			// What rawns-spawner pays beyond rawns-vfork, alone: the
			// same round trip to a goroutine locked to its thread
			// (a channel send, its thread woken, a close, this one
			// woken), with nothing done there.
			start = func(s *clone.Spec) (*clone.Process, error) {
				roundTripToLockedThread()
				return clone.StartHere(s)
			}
			about = "rawns clone.StartHere after a bare round trip to a goroutine locked to its thread: rawns-spawner's hand-off without the spawn in it"
		case "rawns-vfork-clone":
			spec.Syscall = clone.SyscallClone
			about = "rawns clone.StartHere, vfork-style, clone(2)"
			if ns&clone.NewTime != 0 {
				return nil, errors.New("clone(2) cannot create a time namespace")
			}
		case "rawns-fork":
			spec.Mode = clone.ModeFork
			about = "rawns clone.StartHere, fork-style (copy-on-write address space), clone3"
		}
		if err := spec.Validate(); err != nil {
			return nil, err
		}
		return &Strategy{Name: name, About: about, spawn: func() error {
			// StartHere needs a locked thread that outlives the child; the
			// child is reaped before this returns, so locking for the
			// spawn is enough (and nests if the caller holds a lock).
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			p, err := start(spec)
			if err != nil {
				return err
			}
			st, err := p.Wait()
			if err != nil {
				return err
			}
			if st.ExitCode() != 0 {
				return fmt.Errorf("%s: %v", job.Path, st)
			}
			return nil
		}}, nil
	case "rawns-vfork-cgroup", "rawns-fork-cgroup":
		return newCgroupStrategy(name, job)
	case "os-exec":
		return &Strategy{
			Name:  name,
			About: "os/exec.Cmd.Run with SysProcAttr.Cloneflags (cannot set the hostname)",
			spawn: func() error {
				cmd := exec.Command(job.Path, job.Args[1:]...)
				cmd.Args[0] = job.Args[0]
				cmd.Env = job.Env
				cmd.Stdin, cmd.Stdout, cmd.Stderr = nullReader(job.Null), nullWriter(job.Null), nullWriter(job.Null)
				cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: uintptr(ns)}
				return cmd.Run()
			},
		}, nil
	case "forkexec":
		return &Strategy{
			Name:  name,
			About: "syscall.ForkExec with Cloneflags + wait4 (cannot set the hostname)",
			spawn: func() error {
				attr := &syscall.ProcAttr{Env: job.Env, Sys: &syscall.SysProcAttr{Cloneflags: uintptr(ns)}}
				if job.Null != nil {
					fd := job.Null.Fd()
					attr.Files = []uintptr{fd, fd, fd}
				}
				pid, err := syscall.ForkExec(job.Path, job.Args, attr)
				if err != nil {
					return err
				}
				return wait4(pid, job.Path)
			},
		}, nil
	case "reexec":
		return &Strategy{
			Name:  name,
			About: "os/exec of /proc/self/exe with Cloneflags; the copy sets the hostname and execs (the tutorials' way)",
			spawn: func() error {
				cmd := exec.Command("/proc/self/exe", append([]string{ReexecArg, job.hostname(), job.Path}, job.Args...)...)
				cmd.Env = job.Env
				cmd.Stdin, cmd.Stdout, cmd.Stderr = nullReader(job.Null), nullWriter(job.Null), nullWriter(job.Null)
				cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: uintptr(ns)}
				return cmd.Run()
			},
		}, nil
	}
	return nil, fmt.Errorf("unknown strategy %q; known: %s", name, strings.Join(StrategyNames(), ","))
}

// nullReader and nullWriter turn a nil *os.File into a nil interface, so
// that os/exec opens /dev/null itself rather than failing on a nil file.
func nullReader(f *os.File) io.Reader {
	if f == nil {
		return nil
	}
	return f
}

func nullWriter(f *os.File) io.Writer {
	if f == nil {
		return nil
	}
	return f
}

// wait4 reaps pid and fails unless it exited 0.
func wait4(pid int, what string) error {
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait4 %d: %w", pid, err)
		}
		break
	}
	switch {
	case ws.Signaled():
		return fmt.Errorf("%s: killed by %v", what, ws.Signal())
	case ws.ExitStatus() != 0:
		return fmt.Errorf("%s: exit code %d", what, ws.ExitStatus())
	}
	return nil
}

// crefLoop runs the C reference once in loop mode and returns the timings
// it reports on fd 3. Its own start-up and exit happen outside the timed
// spawns, which is why the C reference times itself: timing the binary from
// here would add a process start-up that no Go strategy pays.
func crefLoop(cref, style string, job *Job, n, parallel int) ([]time.Duration, error) {
	args := []string{"--ns", job.Namespaces.String(), "--clone", style, "--loop", strconv.Itoa(n), "--report-fd", "3"}
	if h := job.hostname(); h != "" {
		args = append(args, "--hostname", h)
	}
	if parallel > 1 {
		args = append(args, "--parallel", strconv.Itoa(parallel))
	}
	args = append(append(args, "--", job.Path), job.Args[1:]...)
	cmd := exec.Command(cref, args...)
	cmd.Env = job.Env
	var stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nullReader(job.Null), nullWriter(job.Null), &stderr
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd.ExtraFiles = []*os.File{w}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return nil, err
	}
	out, rerr := io.ReadAll(r)
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("%s: %v: %s", cref, err, strings.TrimSpace(stderr.String()))
	}
	if rerr != nil {
		return nil, rerr
	}
	var ds []time.Duration
	for _, f := range strings.Fields(string(out)) {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: bad timing %q", cref, f)
		}
		ds = append(ds, time.Duration(v))
	}
	want := n
	if parallel > 1 {
		want = 1
		if len(ds) == 1 {
			ds[0] /= time.Duration(n)
		}
	}
	if len(ds) != want {
		return nil, fmt.Errorf("%s reported %d timings, want %d", cref, len(ds), want)
	}
	return ds, nil
}

// ReexecArg is argv[1] of the re-executed copy in the reexec strategy. A
// program that offers the strategy checks for it first thing in main and
// calls ReexecChild.
const ReexecArg = "__bench-reexec-child"

// ReexecChild is the child half of the reexec strategy, the way tutorials
// build containers in Go: the parent re-executes /proc/self/exe in new
// namespaces (os/exec with Cloneflags, which cannot run code in the child
// before exec), and the copy, now a whole Go program inside them, sets the
// hostname and execs the real command. Its argv is
// [exe, ReexecArg, hostname, path, argv...]; an empty hostname is left
// alone. It never returns.
func ReexecChild() {
	a := os.Args[2:]
	if len(a) < 2 {
		fmt.Fprintf(os.Stderr, "%s: usage: %s HOSTNAME PATH [ARGV...]\n", ReexecArg, ReexecArg)
		os.Exit(125)
	}
	if a[0] != "" {
		if err := syscall.Sethostname([]byte(a[0])); err != nil {
			fmt.Fprintf(os.Stderr, "%s: sethostname: %v\n", ReexecArg, err)
			os.Exit(126)
		}
	}
	argv := a[2:]
	if len(argv) == 0 {
		argv = []string{a[1]}
	}
	err := syscall.Exec(a[1], argv, os.Environ())
	fmt.Fprintf(os.Stderr, "%s: exec %s: %v\n", ReexecArg, a[1], err)
	os.Exit(127)
}

// The locked goroutine of rawns-vfork-handoff, started on first use, as
// clone.Start's spawner is.
var (
	lockedOnce sync.Once
	lockedc    chan chan struct{}
)

// roundTripToLockedThread hands a request to a goroutine locked to its OS
// thread and waits until it answers, as clone.Start does with its spawner.
func roundTripToLockedThread() {
	lockedOnce.Do(func() {
		lockedc = make(chan chan struct{})
		go func() {
			runtime.LockOSThread()
			for done := range lockedc {
				close(done)
			}
		}()
	})
	done := make(chan struct{})
	lockedc <- done
	<-done
}
