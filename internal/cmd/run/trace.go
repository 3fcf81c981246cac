package run

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/exitcode"
	"github.com/rawns/rawns/internal/sibling"
	"github.com/rawns/rawns/trace"
)

// The eBPF side (package trace/bpf, cilium/ebpf) is not linked into rawns:
// it costs every run about 1 ms of start-up, --trace or not
// (docs/trace.md). It lives in the rawns-trace binary, which rawns runs
// only for `rawns trace` and `rawns run --trace`.
const helperName = "rawns-trace"

// How long rawns waits for the exec helper: to attach (a first load of a
// boot parses the whole kernel BTF, ~40 ms here) and to answer a pid (it
// gives up itself after its own 5 s).
const (
	helperReadyTimeout  = 30 * time.Second
	helperAnswerTimeout = 10 * time.Second
	helperExitTimeout   = 5 * time.Second
)

// runTrace is the kernel-side proof of `rawns run --trace`: an eBPF program
// loaded (by the rawns-trace exec helper) before the clone records what the
// kernel holds for the child at exec; rawns reads the child's /proc/PID/ns/*
// while the child is held before exec (so even /bin/true cannot exit
// first); the two are compared with each other and with what was asked for.
type runTrace struct {
	json     bool
	helper   *clone.Process
	toHelper *os.File // the helper's stdin
	fromFile *os.File // the helper's stdout
	from     *bufio.Reader
	parent   [trace.NumKinds]trace.NSID
	child    [trace.NumKinds]trace.NSID
	childErr error
}

// startTrace starts the exec helper, waits until its program is attached,
// and arranges the hold. Errors mean nothing was started (the helper, if it
// ran, has been reaped).
func startTrace(cfg *config) (*runTrace, error) {
	path, err := sibling.Find(helperName)
	if err != nil {
		return nil, err
	}
	t := &runTrace{json: cfg.trace == "json"}
	if t.parent, err = trace.ReadProcNS(os.Getpid()); err != nil {
		return nil, err
	}
	if err := t.startHelper(path); err != nil {
		return nil, err
	}
	chainHold(&cfg.spec, func(h clone.Held) error {
		t.child, t.childErr = trace.ReadProcNS(h.Pid)
		return nil
	})
	return t, nil
}

// startHelper runs `rawns-trace exec-helper --target <rawns's pid>` with the
// project's own spawner (no os/exec in rawns) and waits for "ready".
func (t *runTrace) startHelper(path string) error {
	inR, inW, err := os.Pipe()
	if err != nil {
		return err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return err
	}
	// Fd puts inR and outW in blocking mode, which suits the helper; rawns
	// keeps inW and outR, whose deadlines still work.
	// The helper is cloned right here, from the main thread, as the
	// command will be (clone.PinThread).
	clone.PinThread()
	t.helper, err = clone.StartHere(&clone.Spec{
		Path:  path,
		Args:  []string{path, "exec-helper", "--target", strconv.Itoa(os.Getpid())},
		Env:   os.Environ(),
		Stdio: []int{int(inR.Fd()), int(outW.Fd()), 2},
	})
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return fmt.Errorf("starting %s: %v", path, err)
	}
	t.toHelper, t.fromFile, t.from = inW, outR, bufio.NewReader(outR)
	line, err := t.readLine(helperReadyTimeout)
	if err == nil && line == trace.HelperReady {
		return nil
	}
	if err == nil {
		_, err = trace.ParseHelperLine(line)
		if err == nil {
			err = fmt.Errorf("%s exec-helper: unexpected first line %.80q", path, line)
		}
	} else {
		err = fmt.Errorf("%s exec-helper did not get ready: %v", path, err)
	}
	if st, werr := t.finish(); werr == nil && st.ExitCode() != 0 && st.ExitCode() != exitcode.Failed {
		err = fmt.Errorf("%v (it %v)", err, st)
	}
	return err
}

// readLine reads one line from the helper, without its newline.
func (t *runTrace) readLine(timeout time.Duration) (string, error) {
	t.fromFile.SetReadDeadline(time.Now().Add(timeout))
	line, err := t.from.ReadString('\n')
	if err == io.EOF {
		if line == "" {
			return "", errors.New("it exited without a word")
		}
		err = nil
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(line, "\n"), nil
}

// finish closes the pipes, which makes the helper exit, and reaps it; a
// helper that does not exit in time is killed.
func (t *runTrace) finish() (clone.ExitStatus, error) {
	t.toHelper.Close()
	t.fromFile.Close()
	type result struct {
		st  clone.ExitStatus
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := t.helper.Wait()
		done <- result{st, err}
	}()
	select {
	case r := <-done:
		return r.st, r.err
	case <-time.After(helperExitTimeout):
		t.helper.Signal(syscall.SIGKILL)
		r := <-done
		return r.st, r.err
	}
}

// close stops the helper when the run ends before report (a failed start).
func (t *runTrace) close() { t.finish() }

// report asks the helper for the child's exec event, prints the
// verification on w, and says whether every check passed; with it, the
// verdict as one line of JSON (for --json-status-fd), nil when there is no
// verdict to give.
func (t *runTrace) report(w io.Writer, cfg *config, proc *clone.Process) (bool, []byte) {
	ev, err := t.event(proc.Pid, cfg.init)
	t.finish()
	if t.childErr != nil {
		fmt.Fprintf(w, "rawns: --trace: reading the child's namespaces: %v\n", t.childErr)
		return false, nil
	}
	if err != nil {
		fmt.Fprintf(w, "rawns: --trace: MISMATCH: no exec event from the kernel for pid %d: %v\n", proc.Pid, err)
		return false, nil
	}
	s := &cfg.spec
	r := trace.Verify(t.parent, t.child, ev, trace.Expect{
		New:      trace.KindsFromCloneFlags(uint64(s.Namespaces)),
		Hostname: s.Hostname,
		PID1:     s.Namespaces&clone.NewPID != 0 && !cfg.init, // pid 2 under --init
	})
	if t.json {
		r.WriteJSON(w)
	} else {
		r.WriteText(w)
	}
	if !r.OK() {
		fmt.Fprintf(w, "rawns: --trace: %d MISMATCH(ES): the kernel does not hold what was asked for; rawns will exit %d\n", r.Mismatches(), exitcode.TraceMismatch)
	}
	verdict, _ := r.MarshalJSON()
	return r.OK(), append(verdict, '\n')
}

// event gets the exec event of pid from the helper. The exec already
// happened when Start returned; the event is in the ring buffer or about
// to be.
//
// With --init the command is not the process rawns cloned but its first
// child, so pid 2 of the init's new PID namespace, whose host pid rawns
// never sees: the query names the namespace instead.
func (t *runTrace) event(pid int, init bool) (trace.ExecEvent, error) {
	if t.childErr != nil {
		return trace.ExecEvent{}, t.childErr
	}
	query := strconv.Itoa(pid)
	if init {
		query = "pidns " + strconv.FormatUint(t.child[trace.PID].Inode, 10) + " 2"
	}
	if _, err := io.WriteString(t.toHelper, query+"\n"); err != nil {
		return trace.ExecEvent{}, fmt.Errorf("exec helper: %v", err)
	}
	line, err := t.readLine(helperAnswerTimeout)
	if err != nil {
		return trace.ExecEvent{}, fmt.Errorf("exec helper: %v", err)
	}
	return trace.ParseHelperLine(line)
}
