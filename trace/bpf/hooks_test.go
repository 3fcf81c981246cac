package bpf

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"

	"github.com/rawns/rawns/internal/testutil"
)

type nsj struct{ Inode, ID uint64 }

// watchLine is a line of rawns trace --json, the fields the tests read.
type watchLine struct {
	Event        string         `json:"event"`
	PID          uint32         `json:"pid"`
	Child        uint32         `json:"child-pid"`
	Flags        string         `json:"flags"`
	FD           *int64         `json:"fd"`
	Ret          *int64         `json:"ret"`
	Before       map[string]nsj `json:"before"`
	After        map[string]nsj `json:"after"`
	Dropped      uint64         `json:"dropped"`
	DroppedTotal uint64         `json:"dropped-total"`
}

// inWatcher is a watcher running in this process on a goroutine.
type inWatcher struct {
	stdout, stderr testutil.SyncBuffer
	cancel         context.CancelFunc
	done           chan int
}

// startWatch runs watch(args) with opts until the test ends and waits until
// it is attached. out, if not nil, replaces the stdout buffer.
func startWatch(t *testing.T, opts loadOpts, out *blockingWriter, args ...string) *inWatcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &inWatcher{cancel: cancel, done: make(chan int, 1)}
	ready := make(chan struct{})
	go func() {
		var stdout interface{ Write([]byte) (int, error) } = &w.stdout
		if out != nil {
			stdout = out
		}
		w.done <- watch(ctx, args, stdout, &w.stderr, opts, func() { close(ready) })
	}()
	select {
	case <-ready:
	case code := <-w.done:
		cancel()
		t.Fatalf("watcher exited %d: %s", code, w.stderr.String())
	}
	t.Cleanup(func() { w.stop(t) })
	return w
}

// stop cancels the watcher (once) and checks it exited 0.
func (w *inWatcher) stop(t *testing.T) {
	t.Helper()
	if w.done == nil {
		return
	}
	w.cancel()
	select {
	case code := <-w.done:
		if code != 0 {
			t.Errorf("watcher exit code %d, want 0; stderr %s", code, w.stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Errorf("watcher did not stop")
	}
	w.done = nil
}

func (w *inWatcher) firstLine() string {
	s := w.stderr.String()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// waitFor polls the JSON output until pick has found what it wants.
func waitFor(t *testing.T, out func() string, what string, pick func(e watchLine) bool) watchLine {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(out()))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var e watchLine
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("bad JSON line %q: %v", sc.Text(), err)
			}
			if pick(e) {
				return e
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s event in:\n%s", what, out())
	return watchLine{}
}

func nsOf(t *testing.T, pid int, kind string) nsj {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/"+strconv.Itoa(pid)+"/ns/"+kind, &st); err != nil {
		t.Fatal(err)
	}
	return nsj{Inode: st.Ino}
}

func run(t *testing.T, name string, args ...string) int {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s(1) is needed: %v", name, err)
	}
	cmd := exec.Command(path, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %q: %v: %s", name, args, err, out)
	}
	return cmd.Process.Pid
}

// fentryWorks says whether this kernel loads and attaches an fentry
// program at all (this machine's refuses with EPERM; Debian's 6.1 does not).
func fentryWorks(t *testing.T) error {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type: ebpf.Tracing, AttachType: ebpf.AttachTraceFEntry, AttachTo: sysPrefix + "unshare", License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
	})
	if err != nil {
		return err
	}
	defer prog.Close()
	l, err := link.AttachTracing(link.TracingOptions{Program: prog})
	if err != nil {
		return err
	}
	return l.Close()
}

// TestWatchHookChoices runs the watcher with each choice of syscall hooks:
// fentry/fexit (where the kernel has them; where not, the first line must
// say why the tracepoints were taken instead), with fentry hidden the
// per-syscall tracepoints, and with those hidden too the raw_tp fallback,
// which the first line must name. With each, an unshare(2) and a setns(2)
// made by other processes are reported with flags, result and the
// namespaces before and after.
func TestWatchHookChoices(t *testing.T) {
	testutil.RequireRoot(t)
	tracepoints := "tracepoint/syscalls/sys_{enter,exit}_{unshare,setns,sethostname}"
	fentry := []string{"fentry+fexit/" + sysPrefix + "{unshare,setns,sethostname}", "no tracefs needed"}
	dontFentry := "tracepoint/syscalls"
	if err := fentryWorks(t); err != nil {
		t.Logf("fentry does not work on this kernel (%v): the fentry case checks the fall back to the tracepoints", err)
		fentry = []string{tracepoints, "fentry/fexit unavailable: ", "every system call of every process takes the kernel's slow syscall path"}
		dontFentry = "fentry+fexit/"
	}
	for _, tc := range []struct {
		name     string
		opts     loadOpts
		want     []string
		dontWant string
	}{
		{"fentry", loadOpts{}, fentry, dontFentry},
		{"tracepoints", loadOpts{hideFentry: true}, []string{tracepoints, "fentry/fexit unavailable: hidden by " + hideEnv}, "raw_tp/sys_enter"},
		{"raw_tp-fallback", loadOpts{hideFentry: true, hideSyscallTP: true},
			[]string{"raw_tp/sys_enter, raw_tp/sys_exit", "fallback: a BPF program runs on every system call", "per-syscall tracepoints unavailable: hidden by " + hideEnv}, "tracepoint/syscalls"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testutil.CheckHostUnchanged(t)
			w := startWatch(t, tc.opts, nil, "--json")
			first := w.firstLine()
			for _, s := range tc.want {
				if !strings.Contains(first, s) {
					t.Errorf("first line %q does not say %q", first, s)
				}
			}
			if strings.Contains(first, tc.dontWant) {
				t.Errorf("first line %q names %q", first, tc.dontWant)
			}

			upid := run(t, "unshare", "--uts", "--ipc", "true")
			u := waitFor(t, w.stdout.String, "unshare", func(e watchLine) bool { return e.Event == "unshare" && e.PID == uint32(upid) })
			if u.Flags != "CLONE_NEWUTS|CLONE_NEWIPC" || u.Ret == nil || *u.Ret != 0 {
				t.Errorf("unshare: flags %q ret %v", u.Flags, u.Ret)
			}
			for _, k := range []string{"uts", "ipc"} {
				if u.Before[k] == u.After[k] || u.Before[k].Inode != nsOf(t, os.Getpid(), k).Inode {
					t.Errorf("unshare: %s %v -> %v, want a change from the host's", k, u.Before[k], u.After[k])
				}
			}
			if u.Before["mnt"] != u.After["mnt"] {
				t.Errorf("unshare: mnt changed %v -> %v", u.Before["mnt"], u.After["mnt"])
			}

			h := spawnHeld(t, syscall.CLONE_NEWUTS, "read x")
			target := nsOf(t, h.pid(), "uts")
			spid := run(t, "nsenter", "--target", strconv.Itoa(h.pid()), "--uts", "true")
			s := waitFor(t, w.stdout.String, "setns", func(e watchLine) bool { return e.Event == "setns" && e.PID == uint32(spid) })
			if s.Flags != "CLONE_NEWUTS" || s.Ret == nil || *s.Ret != 0 || s.FD == nil || *s.FD < 0 {
				t.Errorf("setns: flags %q ret %v fd %v", s.Flags, s.Ret, s.FD)
			}
			if s.After["uts"].Inode != target.Inode || s.Before["uts"].Inode != nsOf(t, os.Getpid(), "uts").Inode {
				t.Errorf("setns: uts %v -> %v, want host's -> %d", s.Before["uts"], s.After["uts"], target.Inode)
			}
			h.release(t)
		})
	}
}

// TestWatchEventsHooksOnlyWhatIsAsked: with --events clone,exec no system
// call is hooked (the first line says so) and an unshare goes unreported,
// while a clone with CLONE_NEWUTS is; --events setns hooks setns alone.
func TestWatchEventsHooksOnlyWhatIsAsked(t *testing.T) {
	testutil.RequireRoot(t)
	w := startWatch(t, loadOpts{}, nil, "--json", "--events", "clone,exec")
	first := w.firstLine()
	if !strings.Contains(first, "no system call hooked") || strings.Contains(first, "sys_enter") {
		t.Errorf("first line %q: want no syscall hook", first)
	}
	upid := run(t, "unshare", "--uts", "true")
	h := spawnHeld(t, syscall.CLONE_NEWUTS, "read x")
	waitFor(t, w.stdout.String, "clone", func(e watchLine) bool { return e.Event == "clone" && e.Child == uint32(h.pid()) })
	h.release(t)
	time.Sleep(200 * time.Millisecond)
	w.stop(t)
	if strings.Contains(w.stdout.String(), `"event":"unshare"`) {
		t.Errorf("unshare %d reported with --events clone,exec:\n%s", upid, w.stdout.String())
	}

	w = startWatch(t, loadOpts{}, nil, "--json", "--events", "setns")
	first = w.firstLine()
	if !strings.Contains(first, "_{setns};") || strings.Contains(first, "unshare") ||
		strings.Contains(first, "task_newtask") || strings.Contains(first, "sched_process_exec") {
		t.Errorf("first line %q: want the setns tracepoints only", first)
	}
}

// blockingWriter holds every Write until release is closed: a reader that
// has fallen behind.
type blockingWriter struct {
	release chan struct{}
	once    sync.Once
	testutil.SyncBuffer
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	<-b.release
	return b.SyncBuffer.Write(p)
}

func (b *blockingWriter) open() { b.once.Do(func() { close(b.release) }) }

// TestWatchFloodCountsDrops stalls the watcher's reader while another
// process makes many more setns(2) calls than the ring buffer holds: the
// watcher must say how many events it lost, as a "dropped" JSON line and on
// stderr at exit, and account for every call it did not report.
func TestWatchFloodCountsDrops(t *testing.T) {
	testutil.RequireRoot(t)
	const calls = 3000 // the 256 KiB ring buffer holds about 360 events
	out := &blockingWriter{release: make(chan struct{})}
	t.Cleanup(out.open)
	w := startWatch(t, loadOpts{}, out, "--json")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "RAWNS_TRACE_HELPER=setns-flood", "RAWNS_TRACE_HELPER_N="+strconv.Itoa(calls))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("flood: %v: %s", err, b)
	}
	fpid := uint32(cmd.Process.Pid)
	out.open()
	d := waitFor(t, out.String, "dropped", func(e watchLine) bool { return e.Event == "dropped" })
	if d.Dropped == 0 || d.DroppedTotal < d.Dropped {
		t.Errorf("dropped line: dropped %d, dropped-total %d", d.Dropped, d.DroppedTotal)
	}
	// Let the reader drain, then stop it, so the last counts are printed.
	time.Sleep(2 * dropPoll)
	w.stop(t)
	var seen, dropped uint64
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		var e watchLine
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("bad JSON line %q: %v", sc.Text(), err)
		}
		switch {
		case e.Event == "setns" && e.PID == fpid:
			seen++
		case e.Event == "dropped":
			dropped += e.Dropped
			if e.DroppedTotal != dropped {
				t.Errorf("dropped-total %d, want the sum so far %d", e.DroppedTotal, dropped)
			}
		}
	}
	t.Logf("%d setns calls: %d reported, %d events dropped", calls, seen, dropped)
	if seen == 0 || seen >= calls {
		t.Errorf("%d of %d setns calls reported: the buffer did not overrun", seen, calls)
	}
	// Drops may include other processes' events, never fewer than ours.
	if seen+dropped < calls {
		t.Errorf("%d reported + %d dropped < %d calls: losses not counted", seen, dropped, calls)
	}
	if want := strconv.FormatUint(dropped, 10) + " events dropped in all"; !strings.Contains(w.stderr.String(), want) {
		t.Errorf("stderr %q does not say %q", w.stderr.String(), want)
	}
}

func TestDropEventText(t *testing.T) {
	var b bytes.Buffer
	d := dropEvent{Time: time.Date(2026, 12, 1, 10, 0, 0, 123456000, time.UTC), Dropped: 7, Total: 12}
	if err := d.writeText(&b); err != nil {
		t.Fatal(err)
	}
	if want := "10:00:00.123456 dropped     7 events lost: the ring buffer was full (12 in all)\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
	b.Reset()
	if err := d.writeJSON(&b); err != nil {
		t.Fatal(err)
	}
	if want := `{"time":"2026-12-01T10:00:00.123456Z","event":"dropped","dropped":7,"dropped-total":12}` + "\n"; b.String() != want {
		t.Errorf("got %s, want %s", b.String(), want)
	}
}

// watcherProcess starts `rawns trace ARGS` as its own process (this test
// binary as helper) and waits for its first line.
func watcherProcess(t *testing.T, env []string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"--"}, args...)...)
	cmd.Env = append(append(os.Environ(), "RAWNS_TRACE_HELPER=watch"), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	first, err := bufio.NewReader(stderr).ReadString('\n')
	if err != nil {
		t.Fatalf("watcher: %v (%q)", err, first)
	}
	go func() { var sink bytes.Buffer; sink.ReadFrom(stderr) }()
	return cmd, first
}

// sameMountNS checks that every thread of pid is in the test's mount
// namespace and sees the test's mount table.
func sameMountNS(t *testing.T, pid int) {
	t.Helper()
	self, _ := os.Readlink("/proc/self/ns/mnt")
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/ns/mnt")
	for _, task := range tasks {
		if l, err := os.Readlink(task); err == nil && l != self {
			t.Errorf("%s is %s, not the host's %s: the private thread outlived the id read", task, l, self)
		}
	}
	mine, err1 := testutil.ReadMounts(0)
	theirs, err2 := testutil.ReadMounts(pid)
	if c := mine.Changes(theirs, tracefsDirs...); err1 == nil && err2 == nil && len(c) != 0 {
		t.Errorf("the watcher's mount table differs from the host's:\n%s", strings.Join(c, "\n"))
	}
}

// TestWatchLeavesMountTable: with tracefs not mounted, the watcher mounts
// it out of the host's sight; the host's mount table is the same while it
// runs, after it stops on SIGINT and after a SIGKILL. With tracefs mounted,
// the watcher uses it and mounts nothing. The private mount itself is also
// exercised in this process, whatever the host has. RAWNS_TRACE_HIDE hides
// the tracepoints in a real process too, and a bad value is one line, exit
// 125.
func TestWatchLeavesMountTable(t *testing.T) {
	testutil.RequireRoot(t)
	// Where a watcher could leave tracefs on the host, besides the
	// test's own directories (testutil/mounts.go).
	testutil.CheckHostUnchanged(t, tracefsDirs...)
	before, err := testutil.ReadMounts(0)
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		now, _ := testutil.ReadMounts(0)
		if c := before.Changes(now, tracefsDirs...); len(c) != 0 {
			t.Errorf("%s: host mount table changed:\n%s", when, strings.Join(c, "\n"))
		}
	}

	// The private mount, in this process: ids read, nothing left behind.
	type result struct {
		ids map[string]uint64
		err error
	}
	ch := make(chan result, 1)
	onThrowawayThread(func() {
		ids, err := readIDsPrivately([]string{"syscalls/sys_enter_setns"})
		ch <- result{ids, err}
	})
	r := <-ch
	if r.err != nil || r.ids["syscalls/sys_enter_setns"] == 0 {
		t.Errorf("tracefs in a private mount namespace: %v %v", r.ids, r.err)
	}
	check("after the private mount")
	deadline := time.Now().Add(5 * time.Second)
	for !threadsInMountNS(t, os.Getpid()) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !threadsInMountNS(t, os.Getpid()) {
		t.Errorf("a thread of this process is still in another mount namespace")
	}

	// fentry hidden: where the kernel has it, tracefs would not be needed.
	hostHas := mountedTracefs()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		cmd, first := watcherProcess(t, []string{hideEnv + "=fentry"}, "--comm", "no-such-comm")
		want := "tracefs was not mounted: mounted it in a private mount namespace"
		if len(hostHas) > 0 {
			// Someone else's mount: the watcher must use it.
			want = "event ids from tracefs at " + hostHas[0]
			t.Logf("tracefs is mounted on this host (%s): the watcher process uses it, the private mount is exercised in-process only", hostHas[0])
		}
		if !strings.Contains(first, want) {
			t.Errorf("first line %q does not say %q", first, want)
		}
		check("while watching")
		sameMountNS(t, cmd.Process.Pid)
		cmd.Process.Signal(sig)
		err := cmd.Wait()
		if sig == syscall.SIGINT && err != nil {
			t.Errorf("after SIGINT: %v", err)
		}
		check("after " + sig.String())
	}

	cmd, first := watcherProcess(t, []string{hideEnv + "=fentry,syscall-tracepoints"}, "--comm", "no-such-comm")
	if !strings.Contains(first, "raw_tp/sys_enter, raw_tp/sys_exit; fallback") || strings.Contains(first, "tracefs") {
		t.Errorf("with %s=fentry,syscall-tracepoints, first line %q", hideEnv, first)
	}
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	bad := exec.Command(os.Args[0], "--")
	bad.Env = append(os.Environ(), "RAWNS_TRACE_HELPER=watch", hideEnv+"=kprobes")
	out, err := bad.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 125 || strings.Count(string(out), "\n") != 1 {
		t.Errorf("%s=kprobes: %v %q, want one line and exit 125", hideEnv, err, out)
	}
	if len(hostHas) > 0 {
		return
	}

	mountTracefs(t)
	before, _ = testutil.ReadMounts(0)
	cmd, first = watcherProcess(t, []string{hideEnv + "=fentry"}, "--comm", "no-such-comm")
	if !strings.Contains(first, "event ids from tracefs at /sys/kernel/tracing") || strings.Contains(first, "private") {
		t.Errorf("with tracefs mounted, first line %q", first)
	}
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGINT: %v", err)
	}
	check("after a watcher that found tracefs mounted")
}

// threadsInMountNS says whether every thread of pid is in this test's mount
// namespace.
func threadsInMountNS(t *testing.T, pid int) bool {
	self, _ := os.Readlink("/proc/self/ns/mnt")
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/ns/mnt")
	for _, task := range tasks {
		if l, err := os.Readlink(task); err == nil && l != self {
			return false
		}
	}
	return true
}
