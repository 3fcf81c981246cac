package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rawns/rawns/internal/testutil"
	"github.com/rawns/rawns/trace"
	"github.com/rawns/rawns/trace/bpf"
)

// TestMain doubles as the rawns-trace binary when RAWNS_TRACE_MAIN=1.
func TestMain(m *testing.M) {
	if os.Getenv("RAWNS_TRACE_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// fakeTracer answers pid p with an event whose Comm is "p<pid>", after
// delay; pid 13 never execs.
type fakeTracer struct {
	mu     sync.Mutex
	closed bool
}

// NextMatch answers with the fake event of the first pid from 1 to 1000
// that match accepts; pid 13 never execs; pid 42 is in PID namespace
// 4026533042.
func (f *fakeTracer) NextMatch(ctx context.Context, match func(*trace.ExecEvent) bool) (trace.ExecEvent, error) {
	for pid := 1; pid <= 1000; pid++ {
		ev := trace.ExecEvent{HostPID: uint32(pid), NSPID: 1, Level: 1, Comm: "p" + strconv.Itoa(pid), Filename: "/bin/true"}
		ev.NS[trace.UTS] = trace.NSID{Inode: 4026532178, ID: uint64(pid)}
		if pid == 42 {
			ev.NS[trace.PID] = trace.NSID{Inode: 4026533042}
		}
		if match(&ev) && pid != 13 {
			return ev, nil
		}
	}
	<-ctx.Done()
	return trace.ExecEvent{}, ctx.Err()
}

func (f *fakeTracer) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return errors.New("closed twice")
	}
	f.closed = true
	return nil
}

// startHelper runs execHelper in-process on pipes.
func startHelper(t *testing.T, args []string, load func(int) (execTracer, error)) (io.WriteCloser, *bufio.Reader, chan int) {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan int, 1)
	go func() {
		code := execHelper(args, inR, outW, load)
		outW.Close()
		done <- code
	}()
	t.Cleanup(func() { inW.Close(); outR.Close() })
	return inW, bufio.NewReader(outR), done
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the helper: %v (got %q)", err, line)
	}
	return strings.TrimSuffix(line, "\n")
}

func TestExecHelperProtocol(t *testing.T) {
	fake := &fakeTracer{}
	var target int
	in, out, done := startHelper(t, []string{"--target", "77", "--timeout", "50ms"}, func(pid int) (execTracer, error) {
		target = pid
		return fake, nil
	})
	if l := readLine(t, out); l != trace.HelperReady || target != 77 {
		t.Fatalf("first line %q, target %d", l, target)
	}
	for _, pid := range []int{100, 200} {
		fmt.Fprintf(in, "%d\n", pid)
		line := readLine(t, out)
		want := fmt.Sprintf(`exec host-pid=%d ns-pid=1 ns-level=1 comm="p%d" filename="/bin/true" nodename="" uts=4026532178/%d`, pid, pid, pid)
		if line != want {
			t.Errorf("pid %d: event line\n%s\nwant\n%s", pid, line, want)
		}
		ev, err := trace.ParseHelperLine(line)
		if err != nil || ev.HostPID != uint32(pid) || ev.Comm != "p"+strconv.Itoa(pid) || ev.NS[trace.UTS].ID != uint64(pid) {
			t.Fatalf("pid %d: %+v, %v", pid, ev, err)
		}
	}
	// --init's query: pid 1 of a PID namespace, whatever its host pid.
	fmt.Fprintf(in, "pidns 4026533042 1\n")
	if ev, err := trace.ParseHelperLine(readLine(t, out)); err != nil || ev.HostPID != 42 {
		t.Errorf("pidns query: %+v, %v; want the event of host pid 42", ev, err)
	}
	for line, reason := range map[string]string{"13": "timeout", "x": "usage", "-4": "usage", "pidns x 2": "usage", "pidns 7 0": "usage"} {
		fmt.Fprintf(in, "%s\n", line)
		answer := readLine(t, out)
		if !strings.HasPrefix(answer, trace.HelperErrorPrefix+reason+` "`) {
			t.Errorf("line %q: answer %q", line, answer)
		}
		_, err := trace.ParseHelperLine(answer)
		var he *trace.HelperError
		if !errors.As(err, &he) || he.Reason != reason {
			t.Errorf("line %q: %v, want reason %s", line, err, reason)
		}
	}
	// A last pid without a newline, then EOF: answered, then exit 0.
	io.WriteString(in, "300")
	in.Close()
	if ev, err := trace.ParseHelperLine(readLine(t, out)); err != nil || ev.HostPID != 300 {
		t.Fatalf("last pid: %+v %v", ev, err)
	}
	if code := <-done; code != 0 {
		t.Fatalf("exit %d on EOF, want 0", code)
	}
	if !fake.closed {
		t.Error("tracer not closed on EOF")
	}
}

func TestExecHelperErrors(t *testing.T) {
	load := func(int) (execTracer, error) {
		return nil, &bpf.Error{Op: "load tp_btf/sched_process_exec", Reason: bpf.ErrPermission, Err: errors.New("map create: operation not permitted")}
	}
	for _, c := range []struct {
		args   []string
		reason string
		msg    string
	}{
		{[]string{"--target", "5"}, "permission", "needs root or CAP_BPF+CAP_PERFMON"},
		{nil, "usage", "--target PID is required"},
		{[]string{"--target", "5", "extra"}, "usage", "unexpected argument"},
		{[]string{"--bogus"}, "usage", "usage: rawns-trace exec-helper"},
	} {
		_, out, done := startHelper(t, c.args, load)
		line := readLine(t, out)
		_, err := trace.ParseHelperLine(line)
		var he *trace.HelperError
		if !errors.As(err, &he) || he.Reason != c.reason || !strings.Contains(he.Message, c.msg) {
			t.Errorf("%q: %q, want reason %s and %q", c.args, line, c.reason, c.msg)
		}
		if code := <-done; code != 125 {
			t.Errorf("%q: exit %d, want 125", c.args, code)
		}
	}
}

func TestUsage(t *testing.T) {
	var out, errb strings.Builder
	if code := rawnsTrace(nil, nil, &out, &errb); code != 125 || !strings.Contains(errb.String(), "exec-helper") {
		t.Errorf("no args: %d %q", code, errb.String())
	}
	errb.Reset()
	if code := rawnsTrace([]string{"bogus"}, nil, &out, &errb); code != 125 || strings.Count(errb.String(), "\n") != 1 {
		t.Errorf("bogus: %d %q", code, errb.String())
	}
	errb.Reset()
	if code := rawnsTrace([]string{"watch", "--help"}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "usage: rawns trace") {
		t.Errorf("watch --help: %d, stdout %q", code, out.String())
	}
}

// TestExecHelperProcess runs the real helper as a process (the test binary
// as rawns-trace), aimed at this test, and checks the event of a child.
func TestExecHelperProcess(t *testing.T) {
	testutil.RequireRoot(t)
	helper := exec.Command(os.Args[0], "exec-helper", "--target", strconv.Itoa(os.Getpid()), "--timeout", "1s")
	helper.Env = append(os.Environ(), "RAWNS_TRACE_MAIN=1")
	helper.Stderr = os.Stderr
	in, err := helper.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outPipe, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	defer helper.Process.Kill()
	out := bufio.NewReader(outPipe)
	t0 := time.Now()
	if l := readLine(t, out); l != trace.HelperReady {
		t.Fatalf("first line %q", l)
	}
	t.Logf("ready after %v", time.Since(t0))
	var pids []int
	for range 2 {
		child := exec.Command("/bin/true")
		if err := child.Run(); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, child.Process.Pid)
	}
	// Asked in reverse order: the helper keeps the other event aside.
	for i := len(pids) - 1; i >= 0; i-- {
		fmt.Fprintf(in, "%d\n", pids[i])
		ev, err := trace.ParseHelperLine(readLine(t, out))
		if err != nil || ev.HostPID != uint32(pids[i]) || ev.Filename != "/bin/true" || ev.Comm != "true" {
			t.Fatalf("pid %d: %+v %v", pids[i], ev, err)
		}
		self, err := trace.ReadProcNS(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if !ev.NS[trace.Mnt].Same(self[trace.Mnt]) || ev.Level != 0 {
			t.Errorf("kernel view %+v, want our namespaces", ev)
		}
	}
	// The helper's own pid is no descendant's exec after attaching.
	fmt.Fprintf(in, "%d\n", helper.Process.Pid)
	if _, err := trace.ParseHelperLine(readLine(t, out)); err == nil {
		t.Error("the helper reported an exec of its own")
	}
	in.Close()
	if err := helper.Wait(); err != nil {
		t.Fatalf("helper after EOF: %v", err)
	}
}
