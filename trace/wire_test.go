package trace

import (
	"errors"
	"strings"
	"testing"

	"github.com/rawns/rawns/clone"
)

func TestExecEventWireRoundTrip(t *testing.T) {
	_, _, ev := fakeViews(KindsFromCloneFlags(uint64(clone.NewPID | clone.NewUTS)))
	ev.NS[Time] = NSID{}                    // a kind the kernel lacks
	ev.NS[Cgroup] = NSID{Inode: 4026531835} // no ns_id
	ev.Filename = "/bin/odd \"name\"\n"
	line := string(ev.AppendWire(nil))
	if strings.Contains(line, "\n") {
		t.Fatalf("not one line: %q", line)
	}
	if strings.Contains(line, " time=") {
		t.Errorf("a zero NSID was sent: %s", line)
	}
	if !strings.Contains(line, " cgroup=4026531835 ") || !strings.Contains(line, " pid=4026532204/104 ") {
		t.Errorf("namespaces not as INODE or INODE/ID: %s", line)
	}
	got, err := ParseHelperLine(line + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if got != ev {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, ev)
	}
	const head = `exec host-pid=4242 ns-pid=1 ns-level=1 comm="true" filename="/bin/odd \"name\"\n" nodename="box" uts=`
	if !strings.HasPrefix(line, head) {
		t.Errorf("wire format changed:\n got %s\nwant %s...", line, head)
	}

	// Any bytes survive in the strings, and an event with no namespaces
	// at all is still an event.
	odd := ExecEvent{HostPID: 1<<32 - 1, Comm: "a b=c \"d\" \\", Filename: "\xff\x00é\u2028 x=1", Nodename: ""}
	if got, err := ParseHelperLine(string(odd.AppendWire(nil))); err != nil || got != odd {
		t.Errorf("round trip of %+v: %+v, %v", odd, got, err)
	}
}

func FuzzExecEventWire(f *testing.F) {
	f.Add(uint32(4242), uint64(4026532178), uint64(1802), "true", "/bin/odd \"name\"\n", "box")
	f.Add(uint32(0), uint64(0), uint64(7), "", "\xff x=1 uts=2", " ")
	f.Fuzz(func(t *testing.T, pid uint32, ino, id uint64, comm, filename, nodename string) {
		ev := ExecEvent{HostPID: pid, NSPID: pid / 2, Level: pid % 3, Comm: comm, Filename: filename, Nodename: nodename}
		ev.NS[UTS] = NSID{Inode: ino, ID: id}
		ev.NS[TimeForChildren] = NSID{Inode: id, ID: ino}
		line := string(ev.AppendWire(nil))
		if strings.ContainsAny(line, "\n\r") {
			t.Fatalf("not one line: %q", line)
		}
		got, err := ParseHelperLine(line)
		if err != nil || got != ev {
			t.Fatalf("round trip of %q: %+v, %v", line, got, err)
		}
	})
}

func TestParseHelperLine(t *testing.T) {
	line := HelperErrorLine("timeout", "no exec event\nfor pid 7")
	if line != `error timeout "no exec event; for pid 7"` {
		t.Fatalf("error line %q", line)
	}
	_, err := ParseHelperLine(line + "\n")
	var he *HelperError
	if !errors.As(err, &he) || he.Reason != "timeout" || he.Message != "no exec event; for pid 7" {
		t.Fatalf("error line parsed as %v (%#v)", err, he)
	}
	// No reason, and an odd message.
	line = HelperErrorLine("", `say "hi" <&> `+"\x00é")
	if !strings.HasPrefix(line, "error - ") {
		t.Fatalf("error line without a reason: %q", line)
	}
	if _, err := ParseHelperLine(line); !errors.As(err, &he) || he.Reason != "" || he.Message != `say "hi" <&> `+"\x00é" {
		t.Fatalf("error line %q parsed as %v (%#v)", line, err, he)
	}
	// A reason that is no word is made one.
	if line := HelperErrorLine("no btf", "x"); line != `error no_btf "x"` {
		t.Errorf("bad reason: %q", line)
	}
	// A non-conforming error line still carries its text.
	for _, odd := range []string{"error something broke", `error permission ""`, "error  \"x\"", "error usage `raw`", `error "x"`} {
		_, err := ParseHelperLine(odd)
		if !errors.As(err, &he) || he.Reason != "" || he.Message != "exec helper: "+strings.TrimPrefix(odd, "error ") {
			t.Errorf("ParseHelperLine(%q): %v (%#v)", odd, err, he)
		}
	}
	good := `exec host-pid=4242 ns-pid=1 ns-level=1 comm="true" filename="/bin/true" nodename="box"`
	if _, err := ParseHelperLine(good); err != nil {
		t.Fatalf("ParseHelperLine(%q): %v", good, err)
	}
	for _, bad := range []string{
		"", "ready", "42", "exec", "exec ",
		`{"host-pid":4242}`,
		good + " bogus=1",     // an unknown kind
		good + " uts=1 uts=1", // a kind twice
		good + " ns-pid=1",    // a key twice
		good + " uts=x",       // not a number
		good + " uts=1/",      // no ID after the slash
		good + " uts=1/2/3",   // ...
		good + " uts=-1",      // ...
		good + " ",            // a trailing space
		good + "  uts=1",      // two spaces
		good + " uts",         // no value
		good + " =1",          // no key
		good + " uts=1\r",     // ...
		strings.Replace(good, "host-pid=4242", "host-pid=x", 1),          // a non-number pid
		strings.Replace(good, "host-pid=4242", "host-pid=4294967296", 1), // over uint32
		strings.Replace(good, "host-pid=4242", "host-pid=", 1),
		strings.Replace(good, "host-pid=4242 ", "", 1),              // a key missing
		strings.Replace(good, `comm="true"`, `comm=true`, 1),        // not quoted
		strings.Replace(good, `comm="true"`, "comm=`true`", 1),      // ...
		strings.Replace(good, `comm="true"`, `comm="true`, 1),       // unterminated
		strings.Replace(good, `comm="true"`, `comm="true"x`, 1),     // junk after the quote
		strings.Replace(good, `comm="true"`, `comm="\q"`, 1),        // a bad escape
		strings.Replace(good, `nodename="box"`, `nodename=""""`, 1), // ...
	} {
		if ev, err := ParseHelperLine(bad); err == nil {
			t.Errorf("ParseHelperLine(%q): no error, %+v", bad, ev)
		}
	}
}

// TestExecEventWireProof: every group of the proof crosses the wire and
// comes back; a group the kernel could not read sends no key and comes
// back unreadable.
func TestExecEventWireProof(t *testing.T) {
	_, _, ev := fakeViews(KindsFromCloneFlags(uint64(clone.NewPID)))
	ev.Proof = fakeProof()
	line := string(ev.AppendWire(nil))
	got, err := ParseHelperLine(line)
	if err != nil {
		t.Fatal(err)
	}
	if got != ev {
		t.Fatalf("round trip of %s:\n got %+v\nwant %+v", line, got.Proof, ev.Proof)
	}
	ev.Proof.Have &^= HaveCaps | HaveCgroupV1<<V1Memory
	line = string(ev.AppendWire(nil))
	if strings.Contains(line, " caps=") || strings.Contains(line, " cgroup1-memory=") {
		t.Errorf("unreadable groups sent: %s", line)
	}
	ev.Proof.Caps = CapSets{}
	ev.Proof.CgroupV1[V1Memory] = 0
	if got, err := ParseHelperLine(line); err != nil || got != ev {
		t.Errorf("round trip without caps: %+v, %v", got.Proof, err)
	}
	for _, bad := range []string{" caps=1,2", " rlimits=1:2", " uid=1,2,3", " groups=2:1", " root=1:2:3", " file=9:0:0:0", " nnp=maybe"} {
		if _, err := ParseHelperLine("exec host-pid=1 ns-pid=1 ns-level=0 comm=\"\" filename=\"\" nodename=\"\"" + bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// fakeProof is a proof with every group readable and no zero field.
func fakeProof() Proof {
	p := Proof{
		Have:     haveProofMask,
		Root:     RootView{MountID: 251, Dev: 254<<20 | 1, Ino: 9981357, Flags: RootMountRoot, MntNS: NSID{Inode: 4026532451, ID: 5420}, FSType: "ext4"},
		CgroupV2: 44561, CgroupV1: [NumV1]uint64{1, 2, 84878, 21707},
		UID: [4]uint32{1000, 1001, 1002, 1003}, GID: [4]uint32{2000, 2001, 2002, 2003}, Securebits: 0x10,
		NGroups: 3, Caps: CapSets{Inheritable: 1 << 10, Permitted: 3 << 10, Effective: 1 << 10, Bounding: 1<<41 - 1, Ambient: 1 << 10},
		SeccompMode: 2, SeccompFilters: 1, NoNewPrivs: true,
		File: ExecFile{Mode: 0o104755, UID: 0, GID: 0, MntFlags: MntNoSuid},
	}
	p.Groups[0], p.Groups[1], p.Groups[2] = 5, 27, 1000
	for i := range p.Rlimits {
		p.Rlimits[i] = RlimitValue{Cur: uint64(i), Max: Unlimited}
	}
	p.Rlimits[7] = RlimitValue{Cur: 123, Max: 456}
	return p
}
