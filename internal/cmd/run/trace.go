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

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/cgroup"
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
	// proof is what the run asks of the rest of the container, but for
	// the cgroup, which exists only once the run's limits are set up
	// (cg, set by run).
	proof trace.ProofExpect
	cg    *cgroup.Cgroup
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
	if t.proof, err = expectProof(cfg); err != nil {
		return nil, err
	}
	if err := t.startHelper(path); err != nil {
		return nil, err
	}
	chainHold(&cfg.spec, func(h clone.Held) error {
		t.child, t.childErr = heldNamespaces(cfg, h.Pid)
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
	proof := t.proof
	if t.cg != nil {
		proof.Cgroups = expectCgroups(t.cg)
	}
	lie(&proof, os.Getenv(faultEnv))
	r := trace.Verify(t.parent, t.child, ev, trace.Expect{
		New:      trace.KindsFromCloneFlags(uint64(s.Namespaces)),
		Hostname: s.Hostname,
		PID1:     s.Namespaces&clone.NewPID != 0 && !cfg.init, // pid 2 under --init
		Proof:    proof,
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

// expectProof is what the run asks of the rest of the container, from the
// spec the child gets: each property the command line did not set is left
// out, and the report shows it as seen, not judged.
func expectProof(cfg *config) (trace.ProofExpect, error) {
	var e trace.ProofExpect
	s := &cfg.spec
	if cfg.fs != nil && cfg.fs.Root != "" {
		var st unix.Stat_t
		if err := unix.Stat(cfg.fs.Root, &st); err != nil {
			return e, fmt.Errorf("stat --rootfs %s: %v", cfg.fs.Root, err)
		}
		e.Root = &trace.RootExpect{Dir: cfg.fs.Root, Dev: st.Dev, Ino: st.Ino, Overlay: s.Overlay}
	}
	p := s.Privilege
	if p == nil {
		return e, nil
	}
	if c := p.Cred; c != nil {
		e.Cred = &trace.CredExpect{UID: outside(s.UIDMap, c.UID), GID: outside(s.GIDMap, c.GID)}
		// Groups are set unless left alone, as clone does it: explicitly,
		// or for none in a user namespace whose gid map rawns writes.
		if !c.NoSetGroups && !(s.GIDMap != nil && len(c.Groups) == 0) {
			e.Cred.Groups = []uint32{}
			for _, g := range c.Groups {
				e.Cred.Groups = append(e.Cred.Groups, outside(s.GIDMap, g))
			}
		}
	}
	if p.Caps != nil {
		// Root is uid 0 in the command's user namespace: the uid asked
		// for, or rawns's own as that namespace maps it.
		ruid, euid := uint32(unix.Getuid()), uint32(unix.Geteuid())
		if s.Namespaces&clone.NewUser != 0 {
			ruid, euid = inside(s.UIDMap, ruid), inside(s.UIDMap, euid)
		}
		if p.Cred != nil {
			ruid, euid = p.Cred.UID, p.Cred.UID
		}
		e.Caps = &trace.CapsExpect{Sets: *p.Caps, Root: ruid == 0 || euid == 0, EffRoot: euid == 0, NoNewPrivs: p.NoNewPrivs}
	}
	if len(p.Seccomp) > 0 {
		e.Seccomp = &trace.SeccompExpect{Filters: ownSeccompFilters()}
		if e.Seccomp.Filters >= 0 {
			e.Seccomp.Filters++
		}
	}
	if p.NoNewPrivs {
		yes := true
		e.NoNewPrivs = &yes
	}
	e.Rlimits = p.Rlimits
	return e, nil
}

// outside maps an id of a new user namespace to the initial one's, the
// kernel's kuid (rawns run --trace runs there: loading BPF needs
// CAP_BPF or CAP_SYS_ADMIN in the initial user namespace). Without a map
// the id is the same.
func outside(m []clone.IDMap, id uint32) uint32 {
	for _, e := range m {
		if id >= e.Inside && id-e.Inside < e.Count {
			return e.Outside + (id - e.Inside)
		}
	}
	if m == nil {
		return id
	}
	return 65534 // unmapped: the overflow id (the child cannot take it)
}

// inside is outside's inverse; 65534 (the overflow id) when unmapped.
func inside(m []clone.IDMap, id uint32) uint32 {
	for _, e := range m {
		if id >= e.Outside && id-e.Outside < e.Count {
			return e.Inside + (id - e.Outside)
		}
	}
	return 65534
}

// ownSeccompFilters is the number of seccomp filters rawns itself runs
// under (inherited by the command), from /proc/self/status
// (Seccomp_filters, Linux 5.9+); -1 when it cannot be read.
func ownSeccompFilters() int32 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Seccomp_filters:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err == nil {
				return int32(n)
			}
		}
	}
	return -1
}

// expectCgroups lists the run's cgroup directories with their inodes.
func expectCgroups(cg *cgroup.Cgroup) []trace.CgroupExpect {
	var out []trace.CgroupExpect
	for _, m := range cg.Members() {
		var st unix.Stat_t
		if unix.Stat(m.Dir, &st) != nil {
			continue // gone: the kernel's value is then judged against nothing
		}
		e := trace.CgroupExpect{Dir: m.Dir, Ino: st.Ino, Controllers: m.Controllers}
		if m.Version == 2 {
			e.Controllers, e.Limited = nil, m.Controllers
		}
		out = append(out, e)
	}
	return out
}

// faultEnv names the properties whose expectation a test makes lie, so
// that it can see the check fail (MISMATCH, exit 125): root, cgroup, uid,
// gid, groups, caps, seccomp, nnp, rlimit, comma-separated. Read only
// under --trace; a lie can only make the check fail, never pass.
const faultEnv = "RAWNS_TRACE_FAULT"

// lie moves each property named in list away from what was asked.
func lie(e *trace.ProofExpect, list string) {
	if list == "" {
		return
	}
	for _, name := range strings.Split(list, ",") {
		switch name {
		case "root":
			if e.Root != nil {
				e.Root.Ino++
			}
		case "cgroup":
			for i := range e.Cgroups {
				e.Cgroups[i].Ino++
			}
		case "uid":
			if e.Cred != nil {
				e.Cred.UID++
			}
		case "gid":
			if e.Cred != nil {
				e.Cred.GID++
			}
		case "groups":
			if e.Cred != nil && e.Cred.Groups != nil {
				e.Cred.Groups = append(e.Cred.Groups, 4242)
			}
		case "caps":
			if e.Caps != nil {
				e.Caps.Sets.Bounding ^= 1 << unix.CAP_CHOWN
			}
		case "seccomp":
			if e.Seccomp != nil {
				e.Seccomp.Filters = e.Seccomp.Filters + 1
			}
		case "nnp":
			if e.NoNewPrivs != nil {
				no := !*e.NoNewPrivs
				e.NoNewPrivs = &no
			}
		case "rlimit":
			rl := make([]clone.Rlimit, len(e.Rlimits))
			copy(rl, e.Rlimits)
			for i := range rl {
				rl[i].Cur--
			}
			e.Rlimits = rl
		}
	}
}
