package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/trace"
)

// traceMain is `rawns trace`, the host-wide namespace event watcher.
func traceMain(args []string, stdout, stderr io.Writer) int {
	return trace.WatchMain(args, stdout, stderr)
}

// runTrace is the kernel-side proof of `rawns run --trace`: an eBPF program
// loaded before the clone records what the kernel holds for the child at
// exec; the parent reads the child's /proc/PID/ns/* while the child is held
// before exec (so even /bin/true cannot exit first); the two are compared
// with each other and with what was asked for.
type runTrace struct {
	json     bool
	tracer   *trace.ExecTracer
	parent   [trace.NumKinds]trace.NSID
	child    [trace.NumKinds]trace.NSID
	childErr error
}

// startTrace loads the program and arranges the hold. Errors mean nothing
// was started.
func startTrace(cfg *runConfig, format string) (*runTrace, error) {
	s := &cfg.spec
	switch format {
	case "", "text", "json":
	default:
		return nil, fmt.Errorf("--trace=%s: unknown format; use --trace, --trace=text or --trace=json", format)
	}
	if s.Mode == clone.ModeVfork {
		return nil, errors.New("--trace reads the child's namespaces before it execs, which a vfork-style clone forbids; drop --clone vfork")
	}
	if s.MonotonicOffset != 0 || s.BoottimeOffset != 0 {
		return nil, errors.New("--trace cannot check a time namespace with clock offsets: the child enters it only at exec, after rawns inspects it; drop --monotonic/--boottime or --trace")
	}
	t := &runTrace{json: format == "json"}
	var err error
	if t.parent, err = trace.ReadProcNS(os.Getpid()); err != nil {
		return nil, err
	}
	if t.tracer, err = trace.LoadExecTracer(os.Getpid()); err != nil {
		return nil, err
	}
	prev := s.Hold
	s.Hold = func(pid int) error {
		t.child, t.childErr = trace.ReadProcNS(pid)
		if prev != nil {
			return prev(pid)
		}
		return nil
	}
	return t, nil
}

// report waits (briefly) for the child's exec event, prints the
// verification on w, and says whether every check passed.
func (t *runTrace) report(w io.Writer, cfg *runConfig, proc *clone.Process) bool {
	defer t.tracer.Close()
	if t.childErr != nil {
		fmt.Fprintf(w, "rawns: --trace: reading the child's namespaces: %v\n", t.childErr)
		return false
	}
	// The exec already happened when Start returned; the event is in the
	// ring buffer or about to be.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ev, err := t.tracer.Next(ctx, proc.Pid)
	if err != nil {
		fmt.Fprintf(w, "rawns: --trace: MISMATCH: no exec event from the kernel for pid %d: %v\n", proc.Pid, err)
		return false
	}
	s := &cfg.spec
	r := trace.Verify(t.parent, t.child, ev, trace.Expect{
		New:      trace.KindsFromCloneFlags(uint64(s.Namespaces)),
		Hostname: s.Hostname,
		PID1:     s.Namespaces&clone.NewPID != 0,
	})
	if t.json {
		r.WriteJSON(w)
	} else {
		r.WriteText(w)
	}
	if !r.OK() {
		fmt.Fprintf(w, "rawns: --trace: %d MISMATCH(ES): the kernel does not hold what was asked for; rawns will exit %d\n", r.Mismatches(), exitTraceMismatch)
	}
	return r.OK()
}
