package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/rawns/rawns/clone"
)

// verboseReport gathers what -v prints: what the parent sees of itself and
// of the child. The child's namespaces can be read from /proc/PID/ns only
// while it lives: a short command may be gone (and its namespaces with it)
// by the time Start returns. So in the default mode -v holds the child
// before exec (a fork-style clone with Spec.Hold) and reads it then; with an
// explicit --clone vfork it reads after the exec and says so if too late.
type verboseReport struct {
	cfg      *runConfig
	parentNS map[string]string
	childNS  map[string]string
	nsPID    string
	held     bool
}

func newVerboseReport(cfg *runConfig) *verboseReport {
	v := &verboseReport{cfg: cfg, parentNS: readNS("self")}
	if cfg.spec.Mode != clone.ModeVfork {
		v.held = true
		prev := cfg.spec.Hold
		cfg.spec.Hold = func(pid int) error {
			v.inspect(pid)
			if prev != nil {
				return prev(pid)
			}
			return nil
		}
	}
	return v
}

func (v *verboseReport) inspect(pid int) {
	p := strconv.Itoa(pid)
	v.childNS = readNS(p)
	if st, err := os.ReadFile("/proc/" + p + "/status"); err == nil {
		for _, line := range strings.Split(string(st), "\n") {
			if f, ok := strings.CutPrefix(line, "NSpid:"); ok {
				fs := strings.Fields(f)
				v.nsPID = fs[len(fs)-1]
			}
		}
	}
}

func readNS(pid string) map[string]string {
	m := make(map[string]string)
	for _, k := range clone.Kinds {
		l, err := os.Readlink("/proc/" + pid + "/ns/" + k.Name)
		if err != nil {
			continue
		}
		// "pid:[4026531836]" -> "4026531836"
		if i := strings.IndexByte(l, '['); i >= 0 {
			l = strings.TrimSuffix(l[i+1:], "]")
		}
		m[k.Name] = l
	}
	return m
}

func (v *verboseReport) started(w io.Writer, proc *clone.Process) {
	if !v.held {
		v.inspect(proc.Pid)
	}
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
	for _, k := range clone.Kinds {
		p, c := v.parentNS[k.Name], v.childNS[k.Name]
		if p == "" {
			continue
		}
		mark := ""
		switch {
		case c == "":
			c, mark = "?", "gone before it was read"
		case c != p:
			mark = "new"
		default:
			mark = "shared"
		}
		if (c != p) != (s.Namespaces&k.Flag != 0) && c != "?" {
			mark += " (UNEXPECTED)"
		}
		fmt.Fprintf(w, "rawns: %-7s %-12s %-12s %s\n", k.Name, p, c, mark)
	}
}
