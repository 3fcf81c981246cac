package run

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/procfs"
	"github.com/rawns/rawns/trace"
)

// inspection gathers what -v prints and --info-fd and --json-status-fd
// write: what the parent sees of itself and of the child. The child's
// namespaces can be read from /proc/PID/ns only while it lives: a short
// command may be gone (and its namespaces with it) by the time Start
// returns. So in the default mode the child is held before exec (a
// fork-style clone with Spec.Hold) and read then; with an explicit --clone
// vfork it is read after the exec, and -v says so if too late.
type inspection struct {
	cfg      *config
	parentNS [trace.NumKinds]trace.NSID
	childNS  [trace.NumKinds]trace.NSID
	childErr error // reading the child's namespaces failed: it was gone
	nsPID    string
	held     bool
}

func newInspection(cfg *config) *inspection {
	v := &inspection{cfg: cfg}
	v.parentNS, _ = trace.ReadProcNS(os.Getpid())
	if cfg.spec.Mode != clone.ModeVfork {
		v.held = true
		chainHold(&cfg.spec, func(h clone.Held) error {
			v.inspect(h.Pid, true)
			return nil
		})
	}
	return v
}

func (v *inspection) inspect(pid int, held bool) {
	if held {
		v.childNS, v.childErr = heldNamespaces(v.cfg, pid)
	} else {
		v.childNS, v.childErr = trace.ReadProcNS(pid)
	}
	var buf [4096]byte
	if st, err := procfs.ReadFile(procfs.Path(pid, "status"), buf[:]); err == nil {
		if f, ok := procfs.StatusValue(st, "NSpid"); ok {
			if fs := strings.Fields(string(f)); len(fs) > 0 {
				v.nsPID = fs[len(fs)-1] // the pid in its own PID namespace
			}
		}
	}
}

// started reads the child now unless it was read while held.
func (v *inspection) started(proc *clone.Process) {
	if !v.held {
		v.inspect(proc.Pid, false)
	}
}

// printVerbose is -v's report of the start.
func (v *inspection) printVerbose(w io.Writer, proc *clone.Process) {
	s := &v.cfg.spec
	host, _ := os.Hostname()
	style := "vfork-style"
	if s.Mode == clone.ModeFork || v.held || s.UIDMap != nil || s.GIDMap != nil {
		style = "fork-style"
	}
	if v.held {
		style += ", held before exec to be inspected"
	}
	fmt.Fprintf(w, "rawns: parent pid %d on host %q\n", os.Getpid(), host)
	fmt.Fprintf(w, "rawns: %s, %s, new namespaces %s\n", proc.Syscall, style, s.Namespaces)
	inside := v.nsPID
	if inside == "" {
		inside = "unknown (it exited before rawns could read /proc)"
	}
	hn := "the host's"
	if s.Hostname != "" {
		hn = strconv.Quote(s.Hostname)
	}
	what := "child"
	if v.cfg.init {
		what = "init"
	}
	fmt.Fprintf(w, "rawns: %s pid %d on the host, pid %s inside, hostname %s\n", what, proc.Pid, inside, hn)
	fmt.Fprintf(w, "rawns: %-7s %-12s %s\n", "kind", "parent", "child")
	want := trace.KindsFromCloneFlags(uint64(s.Namespaces))
	for k := trace.Kind(0); k < trace.NumKinds; k++ {
		if k == trace.PIDForChildren || k == trace.TimeForChildren || v.parentNS[k].Zero() {
			continue // the *_for_children links follow from pid and time
		}
		p, c := v.parentNS[k].Inode, v.childNS[k].Inode
		cs, mark := strconv.FormatUint(c, 10), ""
		switch {
		case v.childErr != nil:
			cs, mark = "?", "gone before it was read"
		case c != p:
			mark = "new"
		default:
			mark = "shared"
		}
		if v.childErr == nil && (c != p) != want.Has(k) {
			mark += " (UNEXPECTED)"
		}
		fmt.Fprintf(w, "rawns: %-7s %-12d %-12s %s\n", k, p, cs, mark)
	}
}

// exited reports how the command ended: "exited with code N", or "was
// killed by signal N (name)".
func (v *inspection) exited(w io.Writer, st clone.ExitStatus) {
	what := "the command"
	if v.cfg.init {
		what = "init"
	}
	if st.Signal != 0 {
		fmt.Fprintf(w, "rawns: %s was %v\n", what, st)
		return
	}
	fmt.Fprintf(w, "rawns: %s exited with code %d\n", what, st.Code)
}
