package trace

import (
	"errors"
	"strconv"
	"strings"
)

// ExecEvent is what the kernel held for a task when it called execve. It is
// filled in by the exec tracer of package trace/bpf and crosses from the
// rawns-trace exec helper to rawns as one line of text (AppendWire).
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
	// Proof is the rest of what the kernel held at exec: root, cgroups,
	// credentials, capabilities, seccomp, rlimits (proof.go).
	Proof Proof
}

// HelperEventPrefix starts an event line of the exec helper (AppendWire).
const HelperEventPrefix = "exec "

// AppendWire appends ev as the event line of the exec-helper protocol,
// without the newline:
//
//	exec host-pid=4242 ns-pid=1 ns-level=1 comm="true" filename="/bin/true"
//	 nodename="box" uts=4026532178/1802 ipc=4026531839/1 ...
//
// (one line), then the proof's keys (Proof.appendWire: root, root-fs,
// cgroup2, cgroup1-CONTROLLER, uid, gid, securebits, groups, caps, seccomp,
// seccomp-filters, nnp, rlimits, file), each only when the kernel let the
// program read it. Strings are strconv.Quote'd, so any bytes, quotes and
// newlines included, come back unchanged and the line stays one line. Each
// namespace kind follows under its Kind.String() name as INODE, or
// INODE/ID when the kernel has ns_id; kinds the kernel lacks (zero NSID)
// are left out. Kinds are named, not positional, so a rawns and a
// rawns-trace built from different versions cannot silently swap two.
//
// The format is text rather than JSON so that rawns, which decodes it
// (ParseHelperLine), need not link encoding/json (see appendJSONString);
// both binaries ship together, so it is no public interface.
func (ev ExecEvent) AppendWire(b []byte) []byte {
	b = append(b, HelperEventPrefix...)
	b = append(b, "host-pid="...)
	b = strconv.AppendUint(b, uint64(ev.HostPID), 10)
	b = append(b, " ns-pid="...)
	b = strconv.AppendUint(b, uint64(ev.NSPID), 10)
	b = append(b, " ns-level="...)
	b = strconv.AppendUint(b, uint64(ev.Level), 10)
	b = append(b, " comm="...)
	b = strconv.AppendQuote(b, ev.Comm)
	b = append(b, " filename="...)
	b = strconv.AppendQuote(b, ev.Filename)
	b = append(b, " nodename="...)
	b = strconv.AppendQuote(b, ev.Nodename)
	for k := Kind(0); k < NumKinds; k++ {
		n := ev.NS[k]
		if n.Zero() {
			continue
		}
		b = append(b, ' ')
		b = append(b, k.String()...)
		b = append(b, '=')
		b = strconv.AppendUint(b, n.Inode, 10)
		if n.ID != 0 {
			b = append(b, '/')
			b = strconv.AppendUint(b, n.ID, 10)
		}
	}
	return ev.Proof.appendWire(b)
}

// parseWire decodes the fields of an event line, after HelperEventPrefix,
// as AppendWire writes them: KEY=VALUE separated by single spaces, in any
// order. The six fixed keys are required; a key that is unknown or given
// twice is an error, and so is an unknown kind name: it means the sender
// knows kinds this build does not.
func parseWire(s string) (ExecEvent, error) {
	var ev ExecEvent
	var seen uint64 // the wireBit of every key so far
	for s != "" {
		key, rest, ok := strings.Cut(s, "=")
		if !ok || key == "" || strings.Contains(key, " ") {
			return ExecEvent{}, errors.New("expected KEY=VALUE at " + quote(s))
		}
		var val string
		if key == "comm" || key == "filename" || key == "nodename" || key == "root-fs" {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil || q[0] != '"' { // not a `raw` string or a 'c' rune
				return ExecEvent{}, errors.New(key + ": not a quoted string: " + quote(rest))
			}
			val, _ = strconv.Unquote(q) // cannot fail: QuotedPrefix took it
			rest = rest[len(q):]
		} else {
			i := strings.IndexByte(rest, ' ')
			if i < 0 {
				i = len(rest)
			}
			val, rest = rest[:i], rest[i:]
		}
		// rest is "" or a space and the next pair.
		if rest != "" {
			next, ok := strings.CutPrefix(rest, " ")
			if !ok || next == "" {
				return ExecEvent{}, errors.New(key + ": unexpected " + quote(rest) + " after the value")
			}
			rest = next
		}
		s = rest
		bit, ok := wireBit(key)
		if !ok {
			return ExecEvent{}, errors.New("unknown key or namespace kind " + quote(key))
		}
		if seen&bit != 0 {
			return ExecEvent{}, errors.New(key + " given twice")
		}
		seen |= bit
		if err := ev.setWire(key, val); err != nil {
			return ExecEvent{}, err
		}
	}
	if all := uint64(1)<<len(wireKeys) - 1; seen&all != all {
		return ExecEvent{}, errors.New("want all of host-pid, ns-pid, ns-level, comm, filename and nodename")
	}
	return ev, nil
}

// wireKeys are the keys every event line has, in AppendWire's order.
var wireKeys = [...]string{"host-pid", "ns-pid", "ns-level", "comm", "filename", "nodename"}

// wireBit returns the bit of key for parseWire's set of keys seen: bit i
// for wireKeys[i], then one per Kind, then one per proof key; false for an
// unknown key.
func wireBit(key string) (uint64, bool) {
	for i, w := range wireKeys {
		if key == w {
			return 1 << i, true
		}
	}
	if k, ok := kindByName(key); ok {
		return 1 << (len(wireKeys) + int(k)), true
	}
	if i, ok := proofKey(key); ok {
		return 1 << (len(wireKeys) + int(NumKinds) + i), true
	}
	return 0, false
}

// setWire sets the field named key, a known key, to val (unquoted for a
// string).
func (ev *ExecEvent) setWire(key, val string) error {
	switch key {
	case "comm":
		ev.Comm = val
	case "filename":
		ev.Filename = val
	case "nodename":
		ev.Nodename = val
	case "host-pid", "ns-pid", "ns-level":
		v, err := strconv.ParseUint(val, 10, 32)
		if err != nil {
			return errors.New(key + ": " + quote(val) + " is not a number")
		}
		switch key {
		case "host-pid":
			ev.HostPID = uint32(v)
		case "ns-pid":
			ev.NSPID = uint32(v)
		default:
			ev.Level = uint32(v)
		}
	default:
		if _, ok := proofKey(key); ok {
			if !ev.Proof.setWire(key, val) {
				return errors.New(key + ": " + quote(val) + " is not a value this key takes")
			}
			return nil
		}
		k, _ := kindByName(key)
		n, err := parseNSID(val)
		if err != nil {
			return errors.New(key + ": " + quote(val) + " is not INODE or INODE/ID")
		}
		ev.NS[k] = n
	}
	return nil
}

// parseNSID decodes "INODE" or "INODE/ID".
func parseNSID(s string) (NSID, error) {
	ino, id, hasID := strings.Cut(s, "/")
	var n NSID
	var err error
	if n.Inode, err = strconv.ParseUint(ino, 10, 64); err != nil {
		return NSID{}, err
	}
	if hasID {
		if n.ID, err = strconv.ParseUint(id, 10, 64); err != nil {
			return NSID{}, err
		}
	}
	return n, nil
}

func kindByName(name string) (Kind, bool) {
	for k := Kind(0); k < NumKinds; k++ {
		if k.String() == name {
			return k, true
		}
	}
	return 0, false
}
