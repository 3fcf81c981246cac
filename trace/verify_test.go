package trace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rawns/rawns/clone"
)

// fakeViews builds consistent parent/child/kernel views where the kinds in
// newKinds differ from the parent.
func fakeViews(newKinds KindSet) (parent, child [NumKinds]NSID, ev ExecEvent) {
	for k := Kind(0); k < NumKinds; k++ {
		parent[k] = NSID{Inode: 4026531830 + uint64(k), ID: 1 + uint64(k)}
		child[k] = parent[k]
		if newKinds.Has(k) {
			child[k] = NSID{Inode: 4026532200 + uint64(k), ID: 100 + uint64(k)}
		}
	}
	ev = ExecEvent{HostPID: 4242, NSPID: 1, Level: 1, Comm: "true", Filename: "/bin/true", Nodename: "box", NS: child}
	return
}

func TestVerifyOK(t *testing.T) {
	newKinds := KindsFromCloneFlags(uint64(clone.NewPID | clone.NewUTS))
	p, c, ev := fakeViews(newKinds)
	r := Verify(p, c, ev, Expect{New: newKinds, Hostname: "box", PID1: true})
	if !r.OK() || r.Mismatches() != 0 {
		var b bytes.Buffer
		r.WriteText(&b)
		t.Fatalf("want OK:\n%s", b.String())
	}
	if !newKinds.Has(PIDForChildren) || newKinds.Has(TimeForChildren) {
		t.Fatalf("KindsFromCloneFlags(NEWPID|NEWUTS) = %b", newKinds)
	}
}

func TestVerifyMismatch(t *testing.T) {
	real := KindsFromCloneFlags(uint64(clone.NewPID))
	p, c, ev := fakeViews(real)
	cases := []struct {
		name string
		want Expect
		ev   func(*ExecEvent)
		bad  string // a line of the text report that must say MISMATCH
	}{
		{"net requested but shared", Expect{New: real.With(Net), PID1: true}, nil, "net"},
		{"pid not requested", Expect{}, nil, "pid"},
		{"kernel disagrees", Expect{New: real, PID1: true}, func(e *ExecEvent) { e.NS[Mnt].ID = 999 }, "mnt"},
		{"hostname", Expect{New: real, Hostname: "other", PID1: true}, nil, "nodename"},
		{"pid 1", Expect{New: real, PID1: true}, func(e *ExecEvent) { e.NSPID = 7 }, "pid inside"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := ev
			if tc.ev != nil {
				tc.ev(&e)
			}
			r := Verify(p, c, e, tc.want)
			var b bytes.Buffer
			r.WriteText(&b)
			if r.OK() {
				t.Fatalf("OK() true for a forced mismatch:\n%s", b.String())
			}
			found := false
			for _, line := range strings.Split(b.String(), "\n") {
				if strings.HasPrefix(line, tc.bad+" ") && strings.Contains(line, "MISMATCH") {
					found = true
				}
			}
			if !found || !strings.Contains(b.String(), "trace: MISMATCH") {
				t.Fatalf("no MISMATCH on %q:\n%s", tc.bad, b.String())
			}
			var m map[string]any
			b.Reset()
			r.WriteJSON(&b)
			if err := json.Unmarshal(b.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			if m["ok"] != false || m["mismatches"].(float64) < 1 {
				t.Fatalf("JSON ok=%v mismatches=%v", m["ok"], m["mismatches"])
			}
		})
	}
}

// TestReportJSONFields pins the JSON field names: scripts depend on them.
func TestReportJSONFields(t *testing.T) {
	newKinds := KindsFromCloneFlags(uint64(clone.NewPID | clone.NewUTS))
	p, c, ev := fakeViews(newKinds)
	r := Verify(p, c, ev, Expect{New: newKinds, Hostname: "box", PID1: true})
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if bytes.Count(b.Bytes(), []byte("\n")) != 1 {
		t.Fatalf("want one line, got %q", b.String())
	}
	dec := json.NewDecoder(bytes.NewReader(b.Bytes()))
	var keys []string
	tok, _ := dec.Token() // {
	if tok != json.Delim('{') {
		t.Fatalf("not an object: %q", b.String())
	}
	var values = map[string]json.RawMessage{}
	for dec.More() {
		k, _ := dec.Token()
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		values[k.(string)] = v
	}
	golden := []string{
		"child-pid",
		"uts-namespace", "ipc-namespace", "mnt-namespace", "net-namespace", "pid-namespace",
		"pid-for-children-namespace", "cgroup-namespace", "user-namespace", "time-namespace",
		"time-for-children-namespace",
		"uts-namespace-id", "ipc-namespace-id", "mnt-namespace-id", "net-namespace-id", "pid-namespace-id",
		"pid-for-children-namespace-id", "cgroup-namespace-id", "user-namespace-id", "time-namespace-id",
		"time-for-children-namespace-id",
		"ns-pid", "ns-level", "comm", "filename", "nodename", "namespaces",
		"hostname-expected", "hostname-ok", "pid1-expected", "pid1-ok", "proof", "properties", "mismatches", "ok",
	}
	if !slices.Equal(keys, golden) {
		t.Fatalf("JSON keys changed:\n got %q\nwant %q", keys, golden)
	}
	if string(values["child-pid"]) != "4242" || string(values["pid-namespace"]) != "4026532204" {
		t.Fatalf("child-pid %s pid-namespace %s", values["child-pid"], values["pid-namespace"])
	}
	var ns map[string]map[string]any
	if err := json.Unmarshal(values["namespaces"], &ns); err != nil {
		t.Fatal(err)
	}
	var kindKeys []string
	for k := range ns["uts"] {
		kindKeys = append(kindKeys, k)
	}
	slices.Sort(kindKeys)
	wantKind := []string{"kernel-id", "kernel-inode", "new", "parent-id", "parent-inode", "status", "user-id", "user-inode"}
	if !slices.Equal(kindKeys, wantKind) || len(ns) != int(NumKinds) {
		t.Fatalf("namespaces.uts keys %q (want %q), %d kinds", kindKeys, wantKind, len(ns))
	}
	if ns["uts"]["new"] != true || ns["uts"]["status"] != "OK" || ns["ipc"]["new"] != false {
		t.Fatalf("namespaces: %v", ns)
	}
}

func TestCloneFlagsString(t *testing.T) {
	for flags, want := range map[uint64]string{
		uint64(clone.NewPID | clone.NewUTS):    "CLONE_NEWUTS|CLONE_NEWPID",
		0x100 | uint64(clone.NewTime):          "CLONE_VM|CLONE_NEWTIME",
		0:                                      "0x0",
		1<<40 | uint64(clone.NewNet):           "CLONE_NEWNET|0x10000000000",
		1<<32 | 1<<33 | uint64(clone.NewMount): "CLONE_NEWNS|CLONE_CLEAR_SIGHAND|CLONE_INTO_CGROUP",
	} {
		if got := CloneFlagsString(flags); got != want {
			t.Errorf("CloneFlagsString(%#x) = %q, want %q", flags, got, want)
		}
	}
}

func TestNSIDString(t *testing.T) {
	if s := (NSID{Inode: 4026531836, ID: 4100}).String(); s != "4026531836/4100" {
		t.Error(s)
	}
	if s := (NSID{Inode: 4026531836}).String(); s != "4026531836" {
		t.Error(s)
	}
	if s := (NSID{}).String(); s != "-" {
		t.Error(s)
	}
	if (NSID{Inode: 5, ID: 1}).Same(NSID{Inode: 5, ID: 2}) || !(NSID{Inode: 5}).Same(NSID{Inode: 5, ID: 2}) {
		t.Error("Same")
	}
}

// reportJSONWithEncodingJSON is Report.MarshalJSON as it was when it used
// encoding/json, kept to pin the hand-written encoder to it.
func reportJSONWithEncodingJSON(t *testing.T, r Report) string {
	type jsonKind struct {
		ParentInode uint64 `json:"parent-inode"`
		ParentID    uint64 `json:"parent-id,omitempty"`
		UserInode   uint64 `json:"user-inode"`
		UserID      uint64 `json:"user-id,omitempty"`
		KernelInode uint64 `json:"kernel-inode"`
		KernelID    uint64 `json:"kernel-id,omitempty"`
		New         bool   `json:"new"`
		Status      Status `json:"status"`
		Why         string `json:"why,omitempty"`
	}
	var b strings.Builder
	b.WriteByte('{')
	field := func(key string, v any) {
		enc, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + key + `":`)
		b.Write(enc)
	}
	field("child-pid", r.ChildPID)
	for _, kr := range r.Kinds {
		if kr.Kernel.Inode != 0 {
			field(kr.Kind.kebab()+"-namespace", kr.Kernel.Inode)
		}
	}
	for _, kr := range r.Kinds {
		if kr.Kernel.ID != 0 {
			field(kr.Kind.kebab()+"-namespace-id", kr.Kernel.ID)
		}
	}
	field("ns-pid", r.NSPID)
	field("ns-level", r.Level)
	field("comm", r.Comm)
	field("filename", r.Filename)
	field("nodename", r.Nodename)
	var nb strings.Builder
	nb.WriteByte('{')
	for i, kr := range r.Kinds {
		enc, err := json.Marshal(jsonKind{
			ParentInode: kr.Parent.Inode, ParentID: kr.Parent.ID,
			UserInode: kr.User.Inode, UserID: kr.User.ID,
			KernelInode: kr.Kernel.Inode, KernelID: kr.Kernel.ID,
			New: kr.New, Status: kr.Status, Why: kr.Why,
		})
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			nb.WriteByte(',')
		}
		nb.WriteString(`"` + kr.Kind.String() + `":`)
		nb.Write(enc)
	}
	nb.WriteByte('}')
	field("namespaces", json.RawMessage(nb.String()))
	if r.Hostname.Checked {
		field("hostname-expected", r.Hostname.Want)
		field("hostname-ok", r.Hostname.OK)
	}
	if r.PID1.Checked {
		field("pid1-expected", true)
		field("pid1-ok", r.PID1.OK)
	}
	// The proof's own encoding is pinned by TestProofJSON.
	field("proof", json.RawMessage(r.Proof.AppendJSON(nil)))
	type jsonProp struct {
		Name   string `json:"name"`
		Want   string `json:"want,omitempty"`
		Kernel string `json:"kernel,omitempty"`
		Status Status `json:"status"`
		Why    string `json:"why,omitempty"`
	}
	props := []jsonProp{}
	for _, p := range r.Props {
		props = append(props, jsonProp{p.Name, p.Want, p.Got, p.Status, p.Why})
	}
	field("properties", props)
	field("mismatches", r.Mismatches())
	field("ok", r.OK())
	b.WriteByte('}')
	return b.String()
}

// TestReportJSONSameAsEncodingJSON pins the hand-written Report.MarshalJSON
// byte for byte to what encoding/json produced before.
func TestReportJSONSameAsEncodingJSON(t *testing.T) {
	newKinds := KindsFromCloneFlags(uint64(clone.NewPID | clone.NewUTS))
	p, c, ev := fakeViews(newKinds)
	odd := ev
	odd.Comm = "<a&b>"
	odd.Filename = "/tmp/\"x\"\n\t\x01\xff\u2028é"
	odd.Nodename = "höst"
	odd.NSPID = 7
	odd.NS[Mnt].ID = 999  // kernel disagrees
	odd.NS[Time] = NSID{} // kernel lacks it
	odd.NS[Cgroup].ID = 0 // no ns_id
	p2, c2 := p, c
	p2[Time], c2[Time] = NSID{}, NSID{}
	cases := []struct {
		name string
		r    Report
	}{
		{"ok", Verify(p, c, ev, Expect{New: newKinds, Hostname: "box", PID1: true})},
		{"unchecked", Verify(p, c, ev, Expect{New: newKinds})},
		{"mismatches", Verify(p2, c2, odd, Expect{New: newKinds.With(Net, Time), Hostname: "<other>", PID1: true})},
		{"zero", Report{ChildPID: -1}},
	}
	for _, tc := range cases {
		want := reportJSONWithEncodingJSON(t, tc.r)
		got, err := tc.r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, want)
		}
		// encoding/json takes it as valid and leaves it as is.
		if enc, err := json.Marshal(tc.r); err != nil || string(enc) != want {
			t.Errorf("%s: json.Marshal: %v\n got %s\nwant %s", tc.name, err, enc, want)
		}
	}
}

// TestProofJSON: Proof.AppendJSON is valid JSON with the kernel's values
// under the documented keys, and names the groups it could not read.
func TestProofJSON(t *testing.T) {
	p := fakeProof()
	var got struct {
		Root struct {
			MountID   int32  `json:"mount-id"`
			Dev       string `json:"dev"`
			Inode     uint64 `json:"inode"`
			MountRoot bool   `json:"mount-root"`
			MntNS     struct {
				Inode, ID uint64
			} `json:"mnt-ns"`
			FS string `json:"fs"`
		} `json:"root"`
		Cgroup2    uint64            `json:"cgroup2"`
		Cgroup1    map[string]uint64 `json:"cgroup1"`
		UID        []uint32          `json:"uid"`
		GID        []uint32          `json:"gid"`
		Securebits uint32            `json:"securebits"`
		NGroups    int               `json:"ngroups"`
		Groups     []uint32          `json:"groups"`
		Caps       map[string]string `json:"caps"`
		Seccomp    int32             `json:"seccomp"`
		Filters    int32             `json:"seccomp-filters"`
		NNP        bool              `json:"no-new-privs"`
		Rlimits    map[string][2]int64
		File       struct {
			Mode   string `json:"mode"`
			UID    uint32 `json:"uid"`
			GID    uint32 `json:"gid"`
			NoSuid bool   `json:"nosuid"`
		} `json:"file"`
		Unreadable []string `json:"unreadable"`
	}
	b := p.AppendJSON(nil)
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	r := got.Root
	if r.MountID != 251 || r.Dev != "254:1" || r.Inode != 9981357 || !r.MountRoot || r.MntNS.Inode != 4026532451 || r.MntNS.ID != 5420 || r.FS != "ext4" {
		t.Errorf("root: %+v", r)
	}
	if got.Cgroup2 != 44561 || got.Cgroup1["memory"] != 84878 || got.Cgroup1["pids"] != 21707 || len(got.Cgroup1) != 4 {
		t.Errorf("cgroups: %d %v", got.Cgroup2, got.Cgroup1)
	}
	if fmt.Sprint(got.UID, got.GID, got.NGroups, got.Groups, got.Securebits) != "[1000 1001 1002 1003] [2000 2001 2002 2003] 3 [5 27 1000] 16" {
		t.Errorf("credentials: %v %v %v %v", got.UID, got.GID, got.Groups, got.Securebits)
	}
	if got.Caps["ambient"] != "0000000000000400" || got.Caps["bounding"] != "000001ffffffffff" || len(got.Caps) != 5 {
		t.Errorf("caps: %v", got.Caps)
	}
	if got.Seccomp != 2 || got.Filters != 1 || !got.NNP {
		t.Errorf("seccomp %d, filters %d, nnp %v", got.Seccomp, got.Filters, got.NNP)
	}
	if got.Rlimits["nofile"] != [2]int64{123, 456} || got.Rlimits["cpu"] != [2]int64{0, -1} || len(got.Rlimits) != NumRlimits {
		t.Errorf("rlimits: %v", got.Rlimits)
	}
	if got.File.Mode != "104755" || !got.File.NoSuid || len(got.Unreadable) != 0 {
		t.Errorf("file %+v, unreadable %v", got.File, got.Unreadable)
	}
	p.Have &^= HaveCaps | HaveSeccompN
	b = p.AppendJSON(nil)
	got.Caps = nil
	if err := json.Unmarshal(b, &got); err != nil || got.Caps != nil || fmt.Sprint(got.Unreadable) != "[caps seccomp-filters]" {
		t.Errorf("without caps and the filter count: %v %s", err, b)
	}
}
