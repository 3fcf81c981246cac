package bpf

import (
	"os"
	"strings"
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
