package bpf

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/cgroup"
	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/kernel"
	"github.com/rawns/rawns/internal/testutil"
	"github.com/rawns/rawns/security"
	"github.com/rawns/rawns/security/seccomp"
	"github.com/rawns/rawns/trace"
)

// proofCase is one way to start a command, as rawns run would.
type proofCase struct {
	name   string
	spec   func(t *testing.T) *clone.Spec // Path, Args and Stdio are set by the test
	limits *cgroup.Resources              // a cgroup of its own with these limits
	check  func(t *testing.T, p trace.Proof)
}

func privilegedSpec() *clone.Privilege {
	keep := security.CapSet(1 << unix.CAP_NET_BIND_SERVICE)
	caps := security.Sets(keep, keep, 1000)
	prog, err := seccomp.Compile(seccomp.Default(), seccomp.Native(), seccomp.Options{Caps: keep})
	if err != nil {
		panic(err)
	}
	return &clone.Privilege{
		Rlimits:    []clone.Rlimit{{Resource: unix.RLIMIT_NOFILE, Cur: 123, Max: 456}, {Resource: unix.RLIMIT_CORE, Cur: 0, Max: 0}},
		Cred:       &clone.Credential{UID: 1000, GID: 1000, Groups: []uint32{1000, 27, 5}},
		Caps:       &caps,
		NoNewPrivs: true,
		Seccomp:    prog,
	}
}

var proofCases = []proofCase{
	{name: "plain", spec: func(t *testing.T) *clone.Spec { return &clone.Spec{} }},
	{name: "privileges", spec: func(t *testing.T) *clone.Spec {
		return &clone.Spec{Namespaces: clone.NewPID, Privilege: privilegedSpec()}
	}, check: func(t *testing.T, p trace.Proof) {
		const nbs = 1 << unix.CAP_NET_BIND_SERVICE
		if p.UID != [4]uint32{1000, 1000, 1000, 1000} || p.GID != [4]uint32{1000, 1000, 1000, 1000} ||
			p.NGroups != 3 || p.Caps != (trace.CapSets{Inheritable: nbs, Permitted: nbs, Effective: nbs, Bounding: nbs, Ambient: nbs}) ||
			p.SeccompMode != 2 || !p.NoNewPrivs || p.Rlimits[unix.RLIMIT_NOFILE] != (trace.RlimitValue{Cur: 123, Max: 456}) {
			t.Errorf("the kernel does not hold what the child set: %+v", p)
		}
	}},
	{name: "rootfs", spec: func(t *testing.T) *clone.Spec {
		return &clone.Spec{Namespaces: clone.NewMount | clone.NewPID, Root: testutil.BusyboxRoot(t)}
	}, check: func(t *testing.T, p trace.Proof) {
		if p.Root.Flags&trace.RootMountRoot == 0 {
			t.Errorf("the root after pivot_root is not its mount's root: %+v", p.Root)
		}
	}},
	{name: "overlay", spec: func(t *testing.T) *clone.Spec {
		return &clone.Spec{Namespaces: clone.NewMount | clone.NewPID, Root: testutil.BusyboxRoot(t), Overlay: true}
	}, check: func(t *testing.T, p trace.Proof) {
		if p.Root.FSType != "overlay" {
			t.Errorf("root of --overlay is %q, want overlay", p.Root.FSType)
		}
	}},
	{name: "cgroup", spec: func(t *testing.T) *clone.Spec { return &clone.Spec{Namespaces: clone.NewPID} },
		limits: &cgroup.Resources{Memory: cgroup.Memory{Limit: 64 << 20}, Pids: cgroup.Pids{Limit: 50}}},
}

// TestExecProofOracle: for each case, the proof the exec program read at
// the command's exec equals what /proc shows for the same process while
// it waits in read(2), group by group (testutil.CheckProof).
//
// Twice: relocated against the whole kernel BTF, and against the minimal
// BTF cache (written by the first load of a fresh cache directory), which
// must hold every type and enum the proof reads.
func TestExecProofOracle(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	for _, minimal := range []bool{false, true} {
		tr, err := loadExecTracer(os.Getpid(), loadOpts{first: hookBTF, btfCacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		if tr.minimalBTF != minimal {
			t.Fatalf("minimal BTF %v, want %v", tr.minimalBTF, minimal)
		}
		t.Logf("attached to %s", tr.Hook())
		testProofCases(t, tr)
	}
}

func testProofCases(t *testing.T, tr *ExecTracer) {
	for _, c := range proofCases {
		t.Run(c.name, func(t *testing.T) {
			s := c.spec(t)
			if s.Overlay && !kernel.AtLeast(6, 5) {
				t.Skip("an overlay on a tmpfs needs Linux 6.5 (clone.Spec.Validate refuses it)")
			}
			p, pid, release := startHeldCat(t, tr, s, c.limits)
			defer release()
			want := trace.HaveRoot | trace.HaveCgroup | trace.HaveCred | trace.HaveGroups | trace.HaveCaps |
				trace.HaveSeccomp | trace.HaveNNP | trace.HaveRlimits | trace.HaveFile
			if kernel.AtLeast(5, 9) {
				want |= trace.HaveSeccompN
			}
			testutil.CheckProof(t, pid, p, want)
			if c.check != nil {
				c.check(t, p)
			}
			t.Logf("%s: %+v", c.name, p)
		})
	}
}

// startHeldCat starts cat reading a pipe, as s says (in a cgroup with
// limits, if any), and returns the kernel's proof of its exec and its host
// pid; release ends it.
func startHeldCat(t *testing.T, tr *ExecTracer, s *clone.Spec, limits *cgroup.Resources) (trace.Proof, int, func()) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s.Path, s.Args = "/bin/cat", []string{"cat"}
	s.Stdio = []int{int(r.Fd()), 2, 2}
	var proc *clone.Process
	var cg *cgroup.Cgroup
	if limits != nil {
		if cg, err = cgroup.New(cgroup.Options{Resources: *limits}); err != nil {
			t.Fatal(err)
		}
		proc, _, err = cg.Start(s)
	} else {
		proc, err = clone.Start(s)
	}
	if err != nil {
		w.Close()
		if cg != nil {
			cg.Close()
		}
		t.Fatal(err)
	}
	release := func() {
		w.Close()
		proc.Wait()
		if cg != nil {
			if err := cg.Close(); err != nil {
				t.Error(err)
			}
		}
	}
	ev, err := tr.Next(ctxTimeout(t, 10*time.Second), proc.Pid)
	if err != nil {
		release()
		t.Fatal(err)
	}
	if !strings.HasSuffix(ev.Filename, "/cat") {
		release()
		t.Fatalf("exec of %q, want cat", ev.Filename)
	}
	waitBlocked(t, proc.Pid)
	return ev.Proof, proc.Pid, release
}

// TestWatchFilters: rawns trace --pid N reports the events of N and of
// its descendants, --cgroup DIR those of the processes in DIR, both
// filtered in the kernel; an exec event carries the proof (issue 24), as
// /proc shows it.
func TestWatchFilters(t *testing.T) {
	testutil.RequireRoot(t)
	// tree: a shell in a PID namespace of its own whose child execs true;
	// other: the same, outside the filter.
	tree := spawnHeld(t, syscall.CLONE_NEWPID, "read x; /bin/true; exec cat")
	other := spawnHeld(t, syscall.CLONE_NEWPID, "read x; /bin/true; exec cat")
	otherNS := nsOf(t, other.pid(), "pid")
	w := startWatch(t, loadOpts{}, nil, "--json", "--events", "exec", "--pid", strconv.Itoa(tree.pid()))
	for _, h := range []*held{tree, other} {
		if _, err := io.WriteString(h.stdin, "go\n"); err != nil {
			t.Fatal(err)
		}
	}
	type proofLine struct {
		Event string          `json:"event"`
		PID   int             `json:"pid"`
		Comm  string          `json:"comm"`
		Proof json.RawMessage `json:"proof"`
		After map[string]nsj  `json:"after"`
	}
	var cat proofLine
	deadline := time.Now().Add(10 * time.Second)
	seenTrue := false
	for time.Now().Before(deadline) && cat.PID == 0 {
		time.Sleep(20 * time.Millisecond)
		for _, l := range strings.Split(strings.TrimSpace(w.stdout.String()), "\n") {
			var e proofLine
			if l == "" || json.Unmarshal([]byte(l), &e) != nil {
				continue
			}
			if e.PID == other.pid() || e.After["pid"].Inode == otherNS.Inode {
				t.Errorf("an event outside the filter: %s", l)
			}
			seenTrue = seenTrue || e.Comm == "true"
			if e.Comm == "cat" && e.PID == tree.pid() {
				cat = e
			}
		}
	}
	if cat.PID == 0 || !seenTrue {
		t.Fatalf("no exec of cat by %d, or of true by its child, in:\n%s", tree.pid(), w.stdout.String())
	}
	var p struct {
		UID  []uint32          `json:"uid"`
		Caps map[string]string `json:"caps"`
		Root struct {
			Inode uint64 `json:"inode"`
		} `json:"root"`
	}
	if err := json.Unmarshal(cat.Proof, &p); err != nil || len(p.UID) != 4 || len(p.Caps) != 5 || p.Root.Inode == 0 {
		t.Fatalf("exec event's proof %s: %v", cat.Proof, err)
	}
	waitBlocked(t, tree.pid())
	status, _ := os.ReadFile("/proc/" + strconv.Itoa(tree.pid()) + "/status")
	if !strings.Contains(string(status), "\nCapEff:\t"+p.Caps["effective"]+"\n") {
		t.Errorf("watcher's effective set %s, /proc says:\n%s", p.Caps["effective"], status)
	}
	tree.release(t)
	other.release(t)

	// --cgroup: a cgroup of the test's own; the shell started in it is
	// reported, the one outside is not.
	cg, err := cgroup.New(cgroup.Options{Resources: cgroup.Resources{Pids: cgroup.Pids{Limit: 50}}})
	if err != nil {
		t.Fatal(err)
	}
	defer cg.Close()
	dir := cg.Members()[0].Dir
	w2 := startWatch(t, loadOpts{}, nil, "--json", "--events", "exec", "--cgroup", dir)
	r, wr, _ := os.Pipe()
	proc, _, err := cg.Start(&clone.Spec{Path: "/bin/cat", Args: []string{"cat"}, Namespaces: clone.NewPID, Stdio: []int{int(r.Fd()), 2, 2}})
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	outside := spawnHeld(t, syscall.CLONE_NEWPID, "read x; exec /bin/true")
	outside.release(t)
	waitFor(t, w2.stdout.String, "exec in the cgroup", func(e watchLine) bool { return e.Event == "exec" && int(e.PID) == proc.Pid })
	wr.Close()
	proc.Wait()
	for _, l := range strings.Split(w2.stdout.String(), "\n") {
		if strings.Contains(l, `"pid":`+strconv.Itoa(outside.pid())+",") {
			t.Errorf("an exec outside %s reported: %s", dir, l)
		}
	}
	for _, bad := range [][]string{{"--pid", "999999999"}, {"--cgroup", "/tmp"}, {"--cgroup", "/nonexistent"}} {
		var out, errb strings.Builder
		if code := watch(context.Background(), bad, &out, &errb, loadOpts{}, nil); code != 125 || strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("%q: exit %d, %q; want 125 and one line", bad, code, errb.String())
		}
	}
}
