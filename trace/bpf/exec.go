package bpf

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"

	"github.com/rawns/rawns/trace"
)

// ExecTracer reports the execs of one process's descendants. It is attached
// from LoadExecTracer until Close; events are buffered in a 256 KiB ring
// buffer in the kernel and read by Next.
type ExecTracer struct {
	coll *ebpf.Collection
	link link.Link
	rd   *ringbuf.Reader
	hook hook
	// minimalBTF: relocated against the cached minimal kernel BTF.
	minimalBTF bool

	mu      sync.Mutex // serialises Next and guards pending, rec
	pending map[uint32]trace.ExecEvent
	rec     ringbuf.Record
}

// LoadExecTracer loads and attaches the exec program, filtered in the kernel
// to the descendants of targetTGID (up to 8 generations, through
// real_parent; targetTGID's own execs are not reported). Call it before
// creating the child, so its exec cannot be missed. It tries
// tp_btf/sched_process_exec, then raw_tp, then the classic tracepoint.
//
// Errors are *Error wrapping ErrPermission, ErrNoBTF or ErrUnsupported.
func LoadExecTracer(targetTGID int) (*ExecTracer, error) {
	return loadExecTracer(targetTGID, loadOpts{first: hookBTF, btfCacheDir: defaultBTFCacheDir})
}

func loadExecTracer(targetTGID int, opts loadOpts) (*ExecTracer, error) {
	if targetTGID <= 0 || targetTGID > 1<<22 {
		return nil, fmt.Errorf("trace: target tgid %d out of range", targetTGID)
	}
	spec, err := loadSpec([]string{"exec_btf", "exec_raw", "exec_tp"}, []string{"events", "drops"},
		map[string]any{"target_tgid": uint32(targetTGID)})
	if err != nil {
		return nil, err
	}
	var (
		coll *ebpf.Collection
		l    link.Link
		h    hook
	)
	minimal, err := withKernelTypes(spec, opts, func(kt kernelTypes) (err error) {
		coll, l, h, err = attachExecFallback(spec, kt, opts.first)
		return err
	})
	if err != nil {
		return nil, err
	}
	rd, err := ringbuf.NewReader(coll.Maps["events"])
	if err != nil {
		l.Close()
		coll.Close()
		return nil, classify("open ring buffer", err)
	}
	return &ExecTracer{coll: coll, link: l, rd: rd, hook: h, minimalBTF: minimal, pending: make(map[uint32]trace.ExecEvent)}, nil
}

// Hook names the kernel hook the program is attached to and the BTF it was
// relocated against, for diagnostics: "raw_tp/sched_process_exec (cached
// minimal BTF)".
func (t *ExecTracer) Hook() string {
	if t.minimalBTF {
		return t.hook.String() + " (cached minimal BTF)"
	}
	return t.hook.String() + " (kernel BTF)"
}

// maxPending bounds the events of other pids kept for later Next calls.
const maxPending = 256

// Next returns the first exec event of hostPID: the first execve that pid
// made after LoadExecTracer. Events of other pids in the tree are kept for
// later calls. It blocks until the event arrives, ctx is done (ctx.Err() is
// returned) or the tracer is closed (os.ErrClosed).
func (t *ExecTracer) Next(ctx context.Context, hostPID int) (trace.ExecEvent, error) {
	return t.NextMatch(ctx, func(ev *trace.ExecEvent) bool { return ev.HostPID == uint32(hostPID) })
}

// NextMatch is Next for the first exec event that match accepts: rawns
// run --init asks for the exec of pid 2 of the init's PID namespace,
// whose host pid it never learns.
func (t *ExecTracer) NextMatch(ctx context.Context, match func(*trace.ExecEvent) bool) (trace.ExecEvent, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for pid, ev := range t.pending {
		if match(&ev) {
			delete(t.pending, pid)
			return ev, nil
		}
	}
	dl, _ := ctx.Deadline() // zero: no deadline
	t.rd.SetDeadline(dl)
	// Flush wakes a blocked read at once when ctx is cancelled; it returns the
	// records already in the ring, then ErrFlushed.
	stop := context.AfterFunc(ctx, func() { _ = t.rd.Flush() })
	defer stop()
	for {
		if err := t.rd.ReadInto(&t.rec); err != nil {
			if errors.Is(err, ringbuf.ErrFlushed) || errors.Is(err, os.ErrDeadlineExceeded) {
				if cerr := ctx.Err(); cerr != nil {
					return trace.ExecEvent{}, cerr
				}
				continue
			}
			if errors.Is(err, ringbuf.ErrClosed) || errors.Is(err, os.ErrClosed) {
				return trace.ExecEvent{}, os.ErrClosed
			}
			return trace.ExecEvent{}, fmt.Errorf("trace: read ring buffer: %w", err)
		}
		var raw bpfExecEvent
		if err := decodeEvent(t.rec.RawSample, &raw.Ev); err != nil {
			return trace.ExecEvent{}, err
		}
		if raw.Ev.Type != evExec {
			continue
		}
		if err := decodeProof(t.rec.RawSample, &raw.Proof); err != nil {
			return trace.ExecEvent{}, err
		}
		ev := execEventFrom(&raw)
		if match(&ev) {
			return ev, nil
		}
		if _, dup := t.pending[ev.HostPID]; !dup && len(t.pending) < maxPending {
			t.pending[ev.HostPID] = ev
		}
	}
}

// Close detaches the program and frees the ring buffer, maps and program.
// It interrupts a blocked Next, which returns os.ErrClosed.
func (t *ExecTracer) Close() error {
	// Detach first so nothing more is produced, then wake the reader.
	err := t.link.Close()
	if rerr := t.rd.Close(); err == nil {
		err = rerr
	}
	t.mu.Lock() // wait for Next to return before freeing the map
	t.coll.Close()
	t.mu.Unlock()
	return err
}

// Event types, the EV_* of trace.c.
const (
	evExec        = 1
	evClone       = 2
	evUnshare     = 3
	evSetns       = 4
	evSethostname = 5
)

// decodeEvent decodes the struct event every record starts with.
func decodeEvent(b []byte, raw *bpfEvent) error {
	if _, err := binary.Decode(b, binary.NativeEndian, raw); err != nil {
		return fmt.Errorf("trace: decode event (%d bytes): %w", len(b), err)
	}
	return nil
}

// decodeProof decodes the struct proof after the struct event of an
// EV_EXEC record (struct exec_event).
func decodeProof(b []byte, p *bpfProof) error {
	off := binary.Size(bpfEvent{})
	if len(b) < off+binary.Size(bpfProof{}) {
		return fmt.Errorf("trace: exec event of %d bytes, want %d", len(b), off+binary.Size(bpfProof{}))
	}
	_, err := binary.Decode(b[off:], binary.NativeEndian, p)
	return err
}

// proofFrom converts the kernel's struct proof.
func proofFrom(r *bpfProof) trace.Proof {
	p := trace.Proof{
		Have: trace.ProofSet(r.Have),
		Root: trace.RootView{
			MountID: r.RootMntId, Dev: r.RootDev, Ino: r.RootIno, Flags: r.RootFlags,
			MntNS:  trace.NSID{Inode: r.RootMntns.Inum, ID: r.RootMntns.Id},
			FSType: cstr(r.RootFstype[:]),
		},
		CgroupV2:       r.CgroupV2,
		CgroupV1:       r.CgroupV1,
		UID:            [4]uint32{r.Uid, r.Euid, r.Suid, r.Fsuid},
		GID:            [4]uint32{r.Gid, r.Egid, r.Sgid, r.Fsgid},
		Securebits:     r.Securebits,
		NGroups:        r.Ngroups,
		Groups:         r.Groups,
		Caps:           trace.CapSets{Inheritable: r.CapInh, Permitted: r.CapPrm, Effective: r.CapEff, Bounding: r.CapBnd, Ambient: r.CapAmb},
		SeccompMode:    r.SeccompMode,
		SeccompFilters: r.SeccompFilters,
		NoNewPrivs:     r.Nnp != 0,
		File:           trace.ExecFile{Mode: r.FileMode, UID: r.FileUid, GID: r.FileGid, MntFlags: r.FileMntFlags},
	}
	for i, l := range r.Rlim {
		p.Rlimits[i] = trace.RlimitValue{Cur: l.Cur, Max: l.Max}
	}
	// Groups beyond the count were not read: zero, not garbage.
	for i := max(int(r.Ngroups), 0); i < len(p.Groups); i++ {
		p.Groups[i] = 0
	}
	return p
}

func execEventFrom(x *bpfExecEvent) trace.ExecEvent {
	raw := &x.Ev
	ev := trace.ExecEvent{
		HostPID:  raw.Tgid,
		NSPID:    raw.Nspid,
		Level:    raw.Level,
		Comm:     cstr(raw.Comm[:]),
		Filename: cstr(raw.Filename[:]),
		Nodename: cstr(raw.Nodename[:]),
	}
	for k := range ev.NS {
		ev.NS[k] = trace.NSID{Inode: raw.Ns[k].Inum, ID: raw.Ns[k].Id}
	}
	ev.Proof = proofFrom(&x.Proof)
	return ev
}

func cstr(b []int8) string {
	n := 0
	for n < len(b) && b[n] != 0 {
		n++
	}
	s := make([]byte, n)
	for i := range n {
		s[i] = byte(b[i])
	}
	return string(s)
}
