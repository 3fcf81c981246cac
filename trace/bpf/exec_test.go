package bpf

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rawns/rawns/internal/testutil"
	"github.com/rawns/rawns/trace"

	"github.com/rawns/rawns/clone"
)

var allKinds = []struct {
	flag uintptr
	kind trace.Kind
}{
	{syscall.CLONE_NEWPID, trace.PID},
	{syscall.CLONE_NEWUTS, trace.UTS},
	{syscall.CLONE_NEWNS, trace.Mnt},
	{syscall.CLONE_NEWIPC, trace.IPC},
	{syscall.CLONE_NEWNET, trace.Net},
	{syscall.CLONE_NEWUSER, trace.User},
	{syscall.CLONE_NEWCGROUP, trace.Cgroup},
	{uintptr(clone.NewTime), trace.Time},
}

// runAndVerify starts a held child with flags, optionally setting a
// hostname, and verifies the kernel's view of its final exec of /bin/true.
func runAndVerify(t *testing.T, tr *ExecTracer, flags uintptr, hostname string) trace.Report {
	t.Helper()
	script := "read x; exec /bin/true"
	if hostname != "" {
		script = "hostname " + hostname + " && read x && exec /bin/true"
	}
	parent, err := trace.ReadProcNS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	h := spawnHeld(t, flags, script)
	ctx := ctxTimeout(t, 10*time.Second)
	// First exec: the sh itself.
	ev, err := tr.Next(ctx, h.pid())
	if err != nil {
		t.Fatalf("exec of sh: %v", err)
	}
	if ev.Filename != "/bin/sh" {
		t.Fatalf("first exec of %d: %q, want /bin/sh", h.pid(), ev.Filename)
	}
	if hostname != "" {
		// The hostname child is ours too; its event is kept aside. Wait
		// until the nodename is set, i.e. sh is blocked in read.
		waitBlocked(t, h.pid())
	}
	user, err := trace.ReadProcNS(h.pid())
	if err != nil {
		t.Fatal(err)
	}
	h.release(t)
	ev, err = tr.Next(ctx, h.pid())
	if err != nil {
		t.Fatalf("exec of true: %v", err)
	}
	if ev.Filename != "/bin/true" || ev.Comm != "true" {
		t.Fatalf("second exec: filename %q comm %q", ev.Filename, ev.Comm)
	}
	want := trace.Expect{New: trace.KindsFromCloneFlags(uint64(flags)), Hostname: hostname, PID1: flags&syscall.CLONE_NEWPID != 0}
	r := trace.Verify(parent, user, ev, want)
	for k := trace.Kind(0); k < trace.NumKinds; k++ {
		// Same() lets an unknown id pass; a relocation that silently lost
		// ns_id must not.
		if user[k].ID != 0 && ev.NS[k].ID == 0 {
			t.Errorf("%s: userspace has ns_id %d, the kernel view none", k, user[k].ID)
		}
	}
	var b strings.Builder
	r.WriteText(&b)
	if !r.OK() {
		t.Errorf("flags %s:\n%s", trace.CloneFlagsString(uint64(flags)), b.String())
	} else {
		t.Logf("flags %s:\n%s", trace.CloneFlagsString(uint64(flags)), b.String())
	}
	return r
}

// waitBlocked waits until pid sleeps in read(2) on its stdin pipe.
func waitBlocked(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/wchan")
		if err == nil && strings.Contains(string(b), "pipe_read") {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("pid %d never blocked in pipe_read", pid)
}

func TestExecTracerEachKind(t *testing.T) {
	testutil.RequireRoot(t)
	tr, err := LoadExecTracer(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	t.Logf("attached to %s", tr.Hook())
	loop := startUnrelatedLoop(t)

	for _, k := range allKinds {
		t.Run(k.kind.String(), func(t *testing.T) {
			host := ""
			if k.kind == trace.UTS {
				host = "rawns-uts"
			}
			r := runAndVerify(t, tr, k.flag, host)
			if r.Kinds[k.kind].Kernel.Same(r.Kinds[k.kind].Parent) {
				t.Errorf("%s: kernel reports the parent's namespace", k.kind)
			}
		})
	}
	t.Run("none", func(t *testing.T) { runAndVerify(t, tr, 0, "") })
	t.Run("all", func(t *testing.T) {
		var all uintptr
		for _, k := range allKinds {
			all |= k.flag
		}
		r := runAndVerify(t, tr, all, "rawns-all")
		if r.NSPID != 1 || r.Level != 1 || r.Nodename != "rawns-all" {
			t.Errorf("ns pid %d level %d nodename %q", r.NSPID, r.Level, r.Nodename)
		}
	})

	loop.stop()
	if n := loop.execs.Load(); n < 10 {
		t.Fatalf("unrelated loop ran only %d execs: the filter test proves nothing", n)
	} else {
		t.Logf("unrelated loop ran %d execs meanwhile", n)
	}
	// Positive control: a tracer aimed at the loop does see its execs, so
	// their absence above is the filter's doing.
	loop2 := startUnrelatedLoop(t)
	ctl, err := LoadExecTracer(loop2.pid)
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	for loop2.execs.Load() < 5 {
		time.Sleep(5 * time.Millisecond)
	}
	seen := 0
	for _, ev := range drain(t, ctl) {
		if ev.Filename == loop2.path {
			seen++
		}
	}
	loop2.stop()
	if seen == 0 {
		t.Fatal("a tracer aimed at the loop saw none of its execs")
	}
	// Everything the kernel let through must be from our tree.
	for _, ev := range drain(t, tr) {
		if ev.Filename == loop.path {
			t.Errorf("unrelated exec got through the in-kernel filter: %+v", ev)
		}
	}
}

// drain returns the events still queued: kept aside by Next or in the ring.
func drain(t *testing.T, tr *ExecTracer) []trace.ExecEvent {
	t.Helper()
	var evs []trace.ExecEvent
	for _, ev := range tr.pending {
		evs = append(evs, ev)
	}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		ev, err := tr.Next(ctx, 0) // pid 0 never execs: all go to pending
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	for pid, ev := range tr.pending {
		evs = append(evs, ev)
		delete(tr.pending, pid)
	}
	return evs
}

func TestExecTracerHooks(t *testing.T) {
	testutil.RequireRoot(t)
	for h := hookBTF; h < numHooks; h++ {
		t.Run(h.String(), func(t *testing.T) {
			if h == hookTracepoint {
				if _, err := os.Stat("/sys/kernel/tracing/events/sched/sched_process_exec/id"); err != nil {
					if _, err := os.Stat("/sys/kernel/debug/tracing/events/sched/sched_process_exec/id"); err != nil {
						mountTracefs(t)
					}
				}
			}
			tr, err := loadExecTracer(os.Getpid(), loadOpts{first: h})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			if tr.hook != h {
				t.Fatalf("attached to %s, want %s", tr.hook, h)
			}
			runAndVerify(t, tr, syscall.CLONE_NEWPID|syscall.CLONE_NEWUTS, "rawns-hook")
		})
	}
}

// mountTracefs mounts tracefs at /sys/kernel/tracing for the test.
func mountTracefs(t *testing.T) {
	t.Helper()
	if err := syscall.Mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, ""); err != nil {
		t.Skipf("no tracefs for the classic tracepoint: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount("/sys/kernel/tracing", 0); err != nil {
			t.Errorf("unmount tracefs: %v", err)
		}
	})
}

func TestNextContextAndClose(t *testing.T) {
	testutil.RequireRoot(t)
	tr, err := LoadExecTracer(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if _, err := tr.Next(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next after cancel: %v, want context.Canceled", err)
	}
	done := make(chan error)
	go func() {
		_, err := tr.Next(context.Background(), 1)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Fatalf("Next after Close: %v, want os.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not interrupt Next")
	}
}

// TestMinimalBTF loads once against the whole kernel BTF (which writes the
// minimal BTF cache), then against the cache, and checks the cached path
// reads the same namespaces.
func TestMinimalBTF(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	for i, wantMinimal := range []bool{false, true} {
		tr, err := loadExecTracer(os.Getpid(), loadOpts{first: hookBTF, btfCacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if tr.minimalBTF != wantMinimal {
			tr.Close()
			t.Fatalf("load %d: minimal BTF %v, want %v (%s)", i, tr.minimalBTF, wantMinimal, tr.Hook())
		}
		var all uintptr
		for _, k := range allKinds {
			all |= k.flag
		}
		runAndVerify(t, tr, all, "rawns-min")
		tr.Close()
	}
	// A corrupt cache is ignored, and rewritten.
	path := btfCachePath(dir)
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	tr, err := loadExecTracer(os.Getpid(), loadOpts{first: hookBTF, btfCacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()
	if tr.minimalBTF || readBTFCache(path) == nil {
		t.Fatalf("corrupt cache: used %v, rewritten %v", tr.minimalBTF, readBTFCache(path) != nil)
	}
	// Not trusted when others can write it.
	os.Chmod(path, 0o666)
	if readBTFCache(path) != nil {
		t.Fatal("a world-writable cache was trusted")
	}
}

// TestNoPrivilege loads as an unprivileged user in a child process: the
// error must say what is needed, not blame MEMLOCK.
func TestNoPrivilege(t *testing.T) {
	testutil.RequireRoot(t)
	// A copy of the test binary that nobody can reach: the go-build
	// directory is private to root.
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	exe := dir + "/trace.test"
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestNoPrivilegeChild$", "-test.v")
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), "RAWNS_TRACE_UNPRIV=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "PASS: TestNoPrivilegeChild") {
		t.Fatalf("child did not run:\n%s", out)
	}
}

func TestNoPrivilegeChild(t *testing.T) {
	if os.Getenv("RAWNS_TRACE_UNPRIV") != "1" {
		t.Skip("helper of TestNoPrivilege")
	}
	_, err := loadExecTracer(os.Getpid(), loadOpts{first: hookBTF})
	var te *Error
	if !errors.As(err, &te) || !errors.Is(err, ErrPermission) {
		t.Fatalf("unprivileged load: %v (%T), want *Error wrapping ErrPermission", err, err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "needs root or CAP_BPF+CAP_PERFMON") || strings.Contains(msg, "MEMLOCK") {
		t.Fatalf("message %q", msg)
	}
	t.Log(msg)
	var out, errb strings.Builder
	if code := watch(context.Background(), nil, &out, &errb, loadOpts{}, nil); code != 125 ||
		!strings.Contains(errb.String(), "needs root or CAP_BPF+CAP_PERFMON") {
		t.Fatalf("watch: code %d, stderr %q", code, errb.String())
	}
}
