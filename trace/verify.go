package trace

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Expect is what the caller asked for, to check the kernel's view against.
type Expect struct {
	// New holds the kinds that were requested as new namespaces; use
	// KindsFromCloneFlags to derive it from clone flags. Every other kind
	// must be shared with the parent.
	New KindSet
	// Hostname, if not empty, is the nodename the child's UTS namespace must
	// have at exec.
	Hostname string
	// PID1 requires the child to be pid 1 of its active PID namespace.
	PID1 bool
	// Proof is what the run asked of the rest of the container (root,
	// cgroups, credentials, capabilities, seccomp, rlimits).
	Proof ProofExpect
}

// Status of one comparison.
type Status string

const (
	StatusOK       Status = "OK"
	StatusMismatch Status = "MISMATCH"
	StatusAbsent   Status = "ABSENT" // the kernel has no such kind; nothing to compare
)

// KindResult is the verdict for one namespace kind.
type KindResult struct {
	Kind   Kind
	Parent NSID // the parent (rawns) as userspace sees it
	User   NSID // the child, /proc/PID/ns/KIND before exec
	Kernel NSID // the child, read by the BPF program at exec
	New    bool // requested as a new namespace
	// Status is OK when userspace and the kernel agree and the namespace is
	// new (differs from the parent's) exactly when requested.
	Status Status
	Why    string // empty when OK: what disagrees
}

// Check is a yes/no check with the values compared.
type Check struct {
	Checked bool   // false: not requested, nothing compared
	Want    string // expected value
	Got     string // value the kernel held at exec
	OK      bool
}

// Report is the result of Verify.
type Report struct {
	ChildPID int    // host pid
	NSPID    uint32 // pid in its active PID namespace
	Level    uint32 // PID namespace nesting level
	Comm     string
	Filename string
	Nodename string
	Kinds    [NumKinds]KindResult
	Hostname Check // nodename == Expect.Hostname
	PID1     Check // pid inside == 1
	// Proof is the kernel's view of the rest of the container, and Props
	// the verdict on each of its properties.
	Proof Proof
	Props []PropResult
}

// Verify compares three views of a child's namespaces: the parent's and the
// child's as userspace sees them (ReadProcNS, before the child's exec) and
// the child's as the kernel held them at exec (ExecEvent). It never fails; a
// disagreement is a MISMATCH in the report.
func Verify(parent, childUser [NumKinds]NSID, kernel ExecEvent, want Expect) Report {
	r := Report{
		ChildPID: int(kernel.HostPID),
		NSPID:    kernel.NSPID,
		Level:    kernel.Level,
		Comm:     kernel.Comm,
		Filename: kernel.Filename,
		Nodename: kernel.Nodename,
	}
	for k := Kind(0); k < NumKinds; k++ {
		kr := KindResult{Kind: k, Parent: parent[k], User: childUser[k], Kernel: kernel.NS[k], New: want.New.Has(k)}
		kr.Status, kr.Why = judge(kr)
		r.Kinds[k] = kr
	}
	if want.Hostname != "" {
		r.Hostname = Check{Checked: true, Want: want.Hostname, Got: kernel.Nodename, OK: kernel.Nodename == want.Hostname}
	}
	if want.PID1 {
		r.PID1 = Check{Checked: true, Want: "1", Got: strconv.FormatUint(uint64(kernel.NSPID), 10), OK: kernel.NSPID == 1 && kernel.Level > 0}
	}
	r.Proof = kernel.Proof
	r.Props = judgeProof(&r.Proof, kernel.NS[Mnt], &want.Proof)
	return r
}

func judge(kr KindResult) (Status, string) {
	if kr.Parent.Zero() && kr.User.Zero() && kr.Kernel.Zero() {
		if kr.New {
			return StatusMismatch, "requested, but this kernel has no " + kr.Kind.String() + " namespace"
		}
		return StatusAbsent, ""
	}
	var why []string
	if kr.Kernel.Zero() {
		why = append(why, "kernel view missing")
	} else if !kr.User.Same(kr.Kernel) {
		why = append(why, "userspace and kernel disagree")
	}
	shared := kr.Parent.Same(kr.User)
	switch {
	case kr.New && shared:
		why = append(why, "requested new, but shared with the parent")
	case !kr.New && !shared:
		why = append(why, "not requested, but differs from the parent")
	}
	if len(why) > 0 {
		return StatusMismatch, strings.Join(why, "; ")
	}
	return StatusOK, ""
}

// Mismatches counts the failed comparisons.
func (r Report) Mismatches() int {
	n := 0
	for _, kr := range r.Kinds {
		if kr.Status == StatusMismatch {
			n++
		}
	}
	for _, c := range []Check{r.Hostname, r.PID1} {
		if c.Checked && !c.OK {
			n++
		}
	}
	for _, p := range r.Props {
		if p.Status == StatusMismatch {
			n++
		}
	}
	return n
}

// Unreadable counts the properties asked for that this kernel does not
// let the exec program read.
func (r Report) Unreadable() int {
	n := 0
	for _, p := range r.Props {
		if p.Status == StatusUnreadable {
			n++
		}
	}
	return n
}

// OK reports whether every comparison passed.
func (r Report) OK() bool { return r.Mismatches() == 0 }

func (c Check) status() Status {
	if c.OK {
		return StatusOK
	}
	return StatusMismatch
}

// WriteText writes the report as a table for people:
//
//	kind               parent           child (/proc)    child (kernel)   new     status
//	uts                4026531838/1     4026532301/45    4026532301/45    new     OK
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "trace: pid %d (%s, %s): pid %d in a level-%d pid namespace, nodename %q\n",
		r.ChildPID, r.Comm, r.Filename, r.NSPID, r.Level, r.Nodename)
	fmt.Fprintf(&b, "%-18s %-24s %-24s %-24s %-6s %s\n", "kind", "parent", "child (/proc)", "child (kernel)", "", "status")
	for _, kr := range r.Kinds {
		ns := "shared"
		if kr.New {
			ns = "new"
		}
		line := fmt.Sprintf("%-18s %-24s %-24s %-24s %-6s %s", kr.Kind, kr.Parent, kr.User, kr.Kernel, ns, kr.Status)
		if kr.Why != "" {
			line += " (" + kr.Why + ")"
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	if r.Hostname.Checked {
		fmt.Fprintf(&b, "%-18s want %q, got %q: %s\n", "nodename", r.Hostname.Want, r.Hostname.Got, r.Hostname.status())
	}
	if r.PID1.Checked {
		fmt.Fprintf(&b, "%-18s want %s, got %s: %s\n", "pid inside", r.PID1.Want, r.PID1.Got, r.PID1.status())
	}
	writeProps(&b, r.Props)
	if n := r.Mismatches(); n > 0 {
		fmt.Fprintf(&b, "trace: MISMATCH: %d check(s) failed: the kernel does not hold what was asked for\n", n)
	} else if n := r.Unreadable(); n > 0 {
		fmt.Fprintf(&b, "trace: OK: the kernel holds what was asked for, but for %d propert(ies) not readable on this kernel\n", n)
	} else {
		b.WriteString("trace: OK: the kernel holds what was asked for\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as one JSON object and a newline. The first
// keys follow bubblewrap's --info-fd: "child-pid" and "KIND-namespace" (the
// inode number the kernel held at exec, for every kind the kernel has, with
// _ spelled -). Then:
//
//	"KIND-namespace-id"  ns_id at exec (only on kernels with ns_id)
//	"ns-pid"             pid inside the active PID namespace
//	"ns-level"           nesting level of that namespace (0 = initial)
//	"comm", "filename", "nodename"  as the kernel held them at exec
//	"namespaces"         per kind: {"parent-inode", "parent-id", "user-inode",
//	                     "user-id", "kernel-inode", "kernel-id", "new",
//	                     "status", "why"}
//	"hostname-expected", "hostname-ok"   only when a hostname was expected
//	"pid1-expected", "pid1-ok"           only when pid 1 was expected
//	"proof"              the kernel's values at exec (Proof.AppendJSON)
//	"properties"         per property, in the text's order: {"name",
//	                     "want" (only when judged), "kernel", "status",
//	                     "why"}: status OK, MISMATCH, seen or UNREADABLE
//	"mismatches"         number of failed checks
//	"ok"                 true when mismatches is 0
func (r Report) WriteJSON(w io.Writer) error {
	b, err := r.MarshalJSON()
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// MarshalJSON encodes the object WriteJSON writes, keys in a fixed order.
// It builds the JSON by hand (appendJSONString for the strings) so that
// package trace, and with it rawns, need not link encoding/json; the output
// is byte for byte what json.Marshal of the same values gave (verify_test.go
// pins it). It never fails.
func (r Report) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2048)
	b = append(b, '{')
	// key writes "KEY": for the next member, after a comma unless first.
	key := func(k string) {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
	}
	key("child-pid")
	b = strconv.AppendInt(b, int64(r.ChildPID), 10)
	for _, kr := range r.Kinds {
		if kr.Kernel.Inode != 0 {
			key(kr.Kind.kebab() + "-namespace")
			b = strconv.AppendUint(b, kr.Kernel.Inode, 10)
		}
	}
	for _, kr := range r.Kinds {
		if kr.Kernel.ID != 0 {
			key(kr.Kind.kebab() + "-namespace-id")
			b = strconv.AppendUint(b, kr.Kernel.ID, 10)
		}
	}
	key("ns-pid")
	b = strconv.AppendUint(b, uint64(r.NSPID), 10)
	key("ns-level")
	b = strconv.AppendUint(b, uint64(r.Level), 10)
	key("comm")
	b = appendJSONString(b, r.Comm)
	key("filename")
	b = appendJSONString(b, r.Filename)
	key("nodename")
	b = appendJSONString(b, r.Nodename)
	// An object keyed by kind, in Kind order; the *-id keys and "why" are
	// left out when zero or empty.
	key("namespaces")
	b = append(b, '{')
	for i, kr := range r.Kinds {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, kr.Kind.String())
		b = append(b, `:{"parent-inode":`...)
		b = strconv.AppendUint(b, kr.Parent.Inode, 10)
		b = appendOptUint(b, `,"parent-id":`, kr.Parent.ID)
		b = append(b, `,"user-inode":`...)
		b = strconv.AppendUint(b, kr.User.Inode, 10)
		b = appendOptUint(b, `,"user-id":`, kr.User.ID)
		b = append(b, `,"kernel-inode":`...)
		b = strconv.AppendUint(b, kr.Kernel.Inode, 10)
		b = appendOptUint(b, `,"kernel-id":`, kr.Kernel.ID)
		b = append(b, `,"new":`...)
		b = strconv.AppendBool(b, kr.New)
		b = append(b, `,"status":`...)
		b = appendJSONString(b, string(kr.Status))
		if kr.Why != "" {
			b = append(b, `,"why":`...)
			b = appendJSONString(b, kr.Why)
		}
		b = append(b, '}')
	}
	b = append(b, '}')
	if r.Hostname.Checked {
		key("hostname-expected")
		b = appendJSONString(b, r.Hostname.Want)
		key("hostname-ok")
		b = strconv.AppendBool(b, r.Hostname.OK)
	}
	if r.PID1.Checked {
		key("pid1-expected")
		b = strconv.AppendBool(b, true)
		key("pid1-ok")
		b = strconv.AppendBool(b, r.PID1.OK)
	}
	key("proof")
	b = r.Proof.AppendJSON(b)
	key("properties")
	b = appendProps(b, r.Props)
	key("mismatches")
	b = strconv.AppendInt(b, int64(r.Mismatches()), 10)
	key("ok")
	b = strconv.AppendBool(b, r.OK())
	return append(b, '}'), nil
}

// appendOptUint appends prefix and v unless v is 0 (an omitempty field).
func appendOptUint(b []byte, prefix string, v uint64) []byte {
	if v == 0 {
		return b
	}
	return strconv.AppendUint(append(b, prefix...), v, 10)
}
