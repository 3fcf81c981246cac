package trace

import (
	"encoding/json"
	"fmt"
)

// ExecEvent is what the kernel held for a task when it called execve. It is
// filled in by the exec tracer of package trace/bpf and crosses from the
// rawns-trace exec helper to rawns as one line of JSON (MarshalJSON).
type ExecEvent struct {
	HostPID uint32 // tgid in the initial PID namespace
	NSPID   uint32 // tgid in the task's active PID namespace
	Level   uint32 // nesting level of that namespace: 0 = the initial one
	Comm    string // task->comm after exec
	// Filename is the path given to execve (bprm->filename), as the kernel
	// resolved it relative to the caller; truncated to 255 bytes.
	Filename string
	Nodename string // uts_ns->name.nodename: the hostname the task sees
	NS       [NumKinds]NSID
}

// wireEvent is the JSON form of an ExecEvent. Namespaces are keyed by kind
// name, not position, so a rawns and a rawns-trace built from different
// versions cannot silently swap two kinds.
type wireEvent struct {
	HostPID  uint32            `json:"host-pid"`
	NSPID    uint32            `json:"ns-pid"`
	Level    uint32            `json:"ns-level"`
	Comm     string            `json:"comm"`
	Filename string            `json:"filename"`
	Nodename string            `json:"nodename"`
	NS       map[string]wireNS `json:"ns"`
}

type wireNS struct {
	Inode uint64 `json:"inode"`
	ID    uint64 `json:"id,omitempty"`
}

// MarshalJSON encodes ev as one JSON object without newlines:
//
//	{"host-pid":4242,"ns-pid":1,"ns-level":1,"comm":"true","filename":"/bin/true",
//	 "nodename":"box","ns":{"uts":{"inode":4026532178,"id":1802},...}}
//
// Kinds the kernel lacks (zero NSID) are left out of "ns".
func (ev ExecEvent) MarshalJSON() ([]byte, error) {
	w := wireEvent{
		HostPID: ev.HostPID, NSPID: ev.NSPID, Level: ev.Level,
		Comm: ev.Comm, Filename: ev.Filename, Nodename: ev.Nodename,
		NS: make(map[string]wireNS, NumKinds),
	}
	for k := Kind(0); k < NumKinds; k++ {
		if !ev.NS[k].Zero() {
			w.NS[k.String()] = wireNS{Inode: ev.NS[k].Inode, ID: ev.NS[k].ID}
		}
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes what MarshalJSON encodes. An unknown kind name is an
// error: it means the sender knows kinds this build does not.
func (ev *ExecEvent) UnmarshalJSON(b []byte) error {
	var w wireEvent
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	out := ExecEvent{
		HostPID: w.HostPID, NSPID: w.NSPID, Level: w.Level,
		Comm: w.Comm, Filename: w.Filename, Nodename: w.Nodename,
	}
	for name, n := range w.NS {
		k, ok := kindByName(name)
		if !ok {
			return fmt.Errorf("trace: exec event: unknown namespace kind %q", name)
		}
		out.NS[k] = NSID{Inode: n.Inode, ID: n.ID}
	}
	*ev = out
	return nil
}

func kindByName(name string) (Kind, bool) {
	for k := Kind(0); k < NumKinds; k++ {
		if k.String() == name {
			return k, true
		}
	}
	return 0, false
}
