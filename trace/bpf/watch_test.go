package bpf

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rawns/rawns/internal/testutil"
)

// TestWatchUnshare runs the watcher in-process and `unshare --pid --uts
// --fork hostname NAME` as another process, and checks the three events
// that proves: the unshare (before/after), the exec in the new PID
// namespace, the sethostname.
func TestWatchUnshare(t *testing.T) {
	testutil.RequireRoot(t)
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("no unshare(1)")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr testutil.SyncBuffer
	ready := make(chan struct{})
	done := make(chan int)
	go func() {
		done <- watch(ctx, []string{"--json"}, &stdout, &stderr, loadOpts{}, func() { close(ready) })
	}()
	select {
	case <-ready:
	case code := <-done:
		t.Fatalf("watcher exited %d: %s", code, stderr.String())
	}
	cmd := exec.Command(unshare, "--pid", "--uts", "--fork", "hostname", "rawns-watched")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("unshare: %v: %s", err, out)
	}
	upid := uint32(cmd.Process.Pid)

	type nsj struct{ Inode, ID uint64 }
	type evj struct {
		Event    string         `json:"event"`
		PID      uint32         `json:"pid"`
		NSPID    uint32         `json:"ns-pid"`
		Level    uint32         `json:"ns-level"`
		Comm     string         `json:"comm"`
		Nodename string         `json:"nodename"`
		Filename string         `json:"filename"`
		Flags    string         `json:"flags"`
		Ret      *int64         `json:"ret"`
		Before   map[string]nsj `json:"before"`
		After    map[string]nsj `json:"after"`
	}
	var unshared, execd, named *evj
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && (unshared == nil || execd == nil || named == nil) {
		time.Sleep(20 * time.Millisecond)
		unshared, execd, named = nil, nil, nil
		sc := bufio.NewScanner(strings.NewReader(stdout.String()))
		for sc.Scan() {
			var e evj
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("bad JSON line %q: %v", sc.Text(), err)
			}
			switch {
			case e.Event == "unshare" && e.PID == upid:
				unshared = &e
			case e.Event == "exec" && e.Comm == "hostname" && unshared != nil &&
				e.After["pid"] == unshared.After["pid_for_children"]:
				execd = &e
			case e.Event == "sethostname" && e.Nodename == "rawns-watched":
				named = &e
			}
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("watcher exit code %d after cancel, want 0; stderr %s", code, stderr.String())
	}
	if unshared == nil || execd == nil || named == nil {
		t.Fatalf("missing events (unshare %v, exec %v, sethostname %v) in:\n%s", unshared != nil, execd != nil, named != nil, stdout.String())
	}
	if unshared.Flags != "CLONE_NEWUTS|CLONE_NEWPID" || unshared.Ret == nil || *unshared.Ret != 0 {
		t.Errorf("unshare flags %q ret %v", unshared.Flags, unshared.Ret)
	}
	for _, k := range []string{"uts", "pid_for_children"} {
		if unshared.Before[k] == unshared.After[k] {
			t.Errorf("unshare: %s unchanged %v", k, unshared.After[k])
		}
	}
	for _, k := range []string{"pid", "mnt", "net"} {
		if unshared.Before[k] != unshared.After[k] {
			t.Errorf("unshare: %s changed %v -> %v", k, unshared.Before[k], unshared.After[k])
		}
	}
	if execd.NSPID != 1 || execd.Level != 1 || execd.After["uts"] != unshared.After["uts"] {
		t.Errorf("exec: ns-pid %d level %d uts %v", execd.NSPID, execd.Level, execd.After["uts"])
	}
	if named.After["uts"] != unshared.After["uts"] || named.Ret == nil || *named.Ret != 0 {
		t.Errorf("sethostname in uts %v ret %v, want uts %v", named.After["uts"], named.Ret, unshared.After["uts"])
	}
}

// TestWatchMainProcess runs `rawns trace` as its own process: --help, a bad
// flag, and a clean exit 0 on SIGINT and SIGTERM.
func TestWatchMainProcess(t *testing.T) {
	run := func(args ...string) (*exec.Cmd, *testutil.SyncBuffer, *testutil.SyncBuffer) {
		cmd := exec.Command(os.Args[0], append([]string{"--"}, args...)...)
		cmd.Env = append(os.Environ(), "RAWNS_TRACE_HELPER=watch")
		var o, e testutil.SyncBuffer
		cmd.Stdout, cmd.Stderr = &o, &e
		return cmd, &o, &e
	}
	cmd, o, e := run("--help")
	if err := cmd.Run(); err != nil || !strings.Contains(o.String(), "usage: rawns trace") || e.String() != "" {
		t.Fatalf("--help: %v, stdout %q, stderr %q; want the usage on stdout alone", err, o.String(), e.String())
	}
	for _, bad := range [][]string{{"--bogus"}, {"--pid", "x"}, {"extra"}, {"--comm", "a-very-long-command-name"}, {"--events", "bogus"}, {"--events", ""}, {"--events", "clone,"}} {
		cmd, _, e = run(bad...)
		err := cmd.Run()
		var ee *exec.ExitError
		if !errorsAs(err, &ee) || ee.ExitCode() != 125 {
			t.Errorf("%q: %v, want exit 125", bad, err)
		}
		if lines := strings.Count(e.String(), "\n"); lines != 1 || !strings.Contains(e.String(), "rawns trace --help") {
			t.Errorf("%q: want one line naming the fix, got %q", bad, e.String())
		}
	}
	testutil.RequireRoot(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		cmd, _, e = run("--comm", "no-such-comm")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(e.String(), "watching") && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		cmd.Process.Signal(sig)
		if err := cmd.Wait(); err != nil {
			t.Errorf("after %v: %v; stderr %q", sig, err, e.String())
		}
	}
}
