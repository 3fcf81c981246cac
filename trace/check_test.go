package trace

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
)

// matchingExpect asks for exactly what fakeProof holds.
func matchingExpect(p Proof) ProofExpect {
	nnp := true
	nbs := uint64(1 << 10)
	return ProofExpect{
		Root: &RootExpect{Dir: "/r", Dev: unix.Mkdev(254, 1), Ino: 9981357},
		Cgroups: []CgroupExpect{
			{Dir: "/sys/fs/cgroup/unified/x", Ino: 44561},
			{Controllers: []string{"memory"}, Dir: "/sys/fs/cgroup/memory/x", Ino: 84878},
			{Controllers: []string{"pids"}, Dir: "/sys/fs/cgroup/pids/x", Ino: 21707},
		},
		Cred:       &CredExpect{UID: 1000, GID: 2000, Groups: []uint32{1000, 27, 5, 27}},
		Caps:       &CapsExpect{Sets: clone.Capabilities{Bounding: 1<<41 - 1, Effective: nbs, Permitted: 3 << 10, Inheritable: nbs, Ambient: nbs}, NoNewPrivs: true},
		Seccomp:    &SeccompExpect{Filters: 1},
		NoNewPrivs: &nnp,
		Rlimits:    []clone.Rlimit{{Resource: unix.RLIMIT_NOFILE, Cur: 123, Max: 456}},
	}
}

func TestJudgeProof(t *testing.T) {
	p := fakeProof()
	p.UID = [4]uint32{1000, 1000, 1000, 1000}
	p.GID = [4]uint32{2000, 2000, 2000, 2000}
	p.Caps.Permitted = 1 << 10 // a plain program: P' = ambient for a non-root uid
	mnt := p.Root.MntNS
	want := matchingExpect(p)
	status := func(props []PropResult) map[string]Status {
		m := map[string]Status{}
		for _, r := range props {
			m[r.Name] = r.Status
		}
		return m
	}
	got := status(judgeProof(&p, mnt, &want))
	for _, name := range []string{"root", "cgroup2", "cgroup memory", "cgroup pids", "uid", "gid", "groups",
		"cap inheritable", "cap permitted", "cap effective", "cap bounding", "cap ambient", "seccomp", "no_new_privs", "rlimit nofile"} {
		if got[name] != StatusOK {
			t.Errorf("%s: %s, want OK", name, got[name])
		}
	}
	for _, name := range []string{"cgroup cpu", "cgroup cpuset", "securebits", "rlimit core", "file"} {
		if got[name] != StatusSeen {
			t.Errorf("%s: %s, want seen", name, got[name])
		}
	}
	// A lie per property: the expectation moved away from what the kernel
	// holds gives a MISMATCH of that property alone.
	lies := []struct {
		prop string
		lie  func(e *ProofExpect)
	}{
		{"root", func(e *ProofExpect) { e.Root.Ino++ }},
		{"root", func(e *ProofExpect) { e.Root.Overlay = true }},
		{"cgroup2", func(e *ProofExpect) { e.Cgroups[0].Ino++ }},
		{"cgroup memory", func(e *ProofExpect) { e.Cgroups[1].Ino++ }},
		{"uid", func(e *ProofExpect) { e.Cred.UID++ }},
		{"gid", func(e *ProofExpect) { e.Cred.GID++ }},
		{"groups", func(e *ProofExpect) { e.Cred.Groups = append(e.Cred.Groups, 4) }},
		{"cap bounding", func(e *ProofExpect) { e.Caps.Sets.Bounding &^= 1 }},
		{"cap inheritable", func(e *ProofExpect) { e.Caps.Sets.Inheritable |= 1 }},
		{"seccomp", func(e *ProofExpect) { e.Seccomp.Filters++ }},
		{"no_new_privs", func(e *ProofExpect) { f := false; e.NoNewPrivs = &f }},
		{"rlimit nofile", func(e *ProofExpect) { e.Rlimits[0].Cur++ }},
	}
	for _, l := range lies {
		w := matchingExpect(p)
		l.lie(&w)
		props := judgeProof(&p, mnt, &w)
		n := 0
		for _, r := range props {
			if r.Status == StatusMismatch {
				n++
				if !strings.HasPrefix(r.Name, l.prop) || r.Why == "" {
					t.Errorf("lie on %s: %s is %s (%s)", l.prop, r.Name, r.Status, r.Why)
				}
			}
		}
		if n == 0 {
			t.Errorf("lie on %s: no MISMATCH", l.prop)
		}
	}
	// A group the kernel could not read is UNREADABLE when asked, and no
	// value is shown for it.
	q := p
	q.Have &^= HaveCaps | HaveRlimits
	r := Verify([NumKinds]NSID{}, [NumKinds]NSID{}, ExecEvent{Proof: q}, Expect{Proof: want})
	for _, pr := range r.Props {
		if strings.HasPrefix(pr.Name, "cap ") || pr.Name == "rlimit nofile" {
			if pr.Status != StatusUnreadable || pr.Got != "" || pr.Why != "not readable on this kernel" {
				t.Errorf("%s: %+v", pr.Name, pr)
			}
		}
	}
	if r.Unreadable() != 6 {
		t.Errorf("%d unreadable, want 6", r.Unreadable())
	}
	var b strings.Builder
	r.WriteText(&b)
	if !strings.Contains(b.String(), "cap effective      want 0000000000000400 (CAP_NET_BIND_SERVICE): not readable on this kernel\n") {
		t.Errorf("text:\n%s", b.String())
	}
}

// TestCapsAfterExec: the kernel's execve rules for a program without
// set-ID bits or file capabilities (capabilities(7)).
func TestCapsAfterExec(t *testing.T) {
	const a, b, c = 1 << 1, 1 << 2, 1 << 3
	for _, tc := range []struct {
		name string
		e    CapsExpect
		sb   uint32
		want CapSets
	}{
		{"root keeps bounding|inheritable", CapsExpect{Sets: clone.Capabilities{Bounding: a | b, Permitted: a | b, Effective: a | b}, Root: true, EffRoot: true},
			0, CapSets{Permitted: a | b, Effective: a | b, Bounding: a | b}},
		{"root, inheritable beyond bounding", CapsExpect{Sets: clone.Capabilities{Bounding: a, Permitted: a, Inheritable: c}, Root: true, EffRoot: true},
			0, CapSets{Inheritable: c, Permitted: a | c, Effective: a | c, Bounding: a}},
		{"root under no_new_privs gains nothing", CapsExpect{Sets: clone.Capabilities{Bounding: a | b, Permitted: a}, Root: true, EffRoot: true, NoNewPrivs: true},
			0, CapSets{Permitted: a, Effective: a, Bounding: a | b}},
		{"real root only: effective is ambient", CapsExpect{Sets: clone.Capabilities{Bounding: a, Permitted: a}, Root: true},
			0, CapSets{Permitted: a, Bounding: a}},
		{"SECBIT_NOROOT", CapsExpect{Sets: clone.Capabilities{Bounding: a, Permitted: a, Effective: a}, Root: true, EffRoot: true},
			1, CapSets{Bounding: a}},
		{"non-root keeps its ambient", CapsExpect{Sets: clone.Capabilities{Bounding: a | b, Permitted: a | b, Effective: a | b, Inheritable: b, Ambient: b}},
			0, CapSets{Inheritable: b, Permitted: b, Effective: b, Bounding: a | b, Ambient: b}},
	} {
		if got := tc.e.AfterExec(tc.sb); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
