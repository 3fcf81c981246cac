package bpf

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
)

// hook is one way of attaching the exec program, best first.
type hook int

const (
	hookBTF        hook = iota // tp_btf/sched_process_exec: BTF-typed, no tracefs (5.5+)
	hookRaw                    // raw_tp/sched_process_exec: no tracefs (4.17+)
	hookTracepoint             // tracepoint/sched/sched_process_exec: needs tracefs
	numHooks
)

func (h hook) String() string {
	switch h {
	case hookBTF:
		return "tp_btf/sched_process_exec"
	case hookRaw:
		return "raw_tp/sched_process_exec"
	case hookTracepoint:
		return "tracepoint/sched/sched_process_exec"
	}
	return "hook(" + strconv.Itoa(int(h)) + ")"
}

func (h hook) program() string {
	switch h {
	case hookBTF:
		return "exec_btf"
	case hookRaw:
		return "exec_raw"
	}
	return "exec_tp"
}

// loadSpec parses the embedded object and prepares it for one user: keep only
// the named programs and maps, set the .rodata constants.
func loadSpec(progs, maps []string, consts map[string]any) (*ebpf.CollectionSpec, error) {
	// Before Linux 5.11 the kernel charges BPF maps and programs to
	// RLIMIT_MEMLOCK, not to the memory cgroup, and the default 64 KiB of
	// it refuses the ring buffer with EPERM, which reads as a missing
	// privilege (found on 5.10 by make vmtest: "map create: operation not
	// permitted" as root). rlimit.RemoveMemlock lifts it there and does
	// nothing on later kernels. It is this process's limit: in rawns run
	// that is the rawns-trace helper's, which the command does not inherit.
	// Best effort: a process that may not raise it (no CAP_SYS_RESOURCE)
	// would not be allowed to load the program either, and the load's own
	// error says that better.
	_ = rlimit.RemoveMemlock()
	spec, err := loadBpf()
	if err != nil {
		return nil, classify("parse embedded object", err)
	}
	keep := make(map[string]bool, len(progs))
	for _, p := range progs {
		keep[p] = true
	}
	for name := range spec.Programs {
		if !keep[name] {
			delete(spec.Programs, name)
		}
	}
	keepMap := map[string]bool{".rodata": true}
	for _, m := range maps {
		keepMap[m] = true
	}
	for name := range spec.Maps {
		if !keepMap[name] {
			delete(spec.Maps, name)
		}
	}
	for name, v := range consts {
		vs, ok := spec.Variables[name]
		if !ok {
			return nil, fmt.Errorf("trace: embedded object has no variable %q", name)
		}
		if err := vs.Set(v); err != nil {
			return nil, fmt.Errorf("trace: set %s: %w", name, err)
		}
	}
	return spec, nil
}

// loadOpts are the loader's knobs; the zero value is what the exported
// functions use minus the BTF cache.
type loadOpts struct {
	first hook // first exec hook to try
	// hideFentry, hideSyscallTP: the watcher acts as if fentry/fexit or
	// the per-syscall tracepoints were missing and takes the next hooks.
	hideFentry, hideSyscallTP bool
	btfCacheDir               string // where the minimal kernel BTF is kept; "" = never cached
}

// kernelTypes are the CO-RE relocation targets: either the cached minimal BTF
// or the whole kernel BTF.
type kernelTypes struct {
	spec    *btf.Spec
	cache   *btf.Cache // with the whole kernel BTF: for tp_btf attach targets
	minimal bool
}

func (k kernelTypes) options() ebpf.CollectionOptions {
	return ebpf.CollectionOptions{
		Cache: k.cache,
		// Setting KernelTypes also stops cilium/ebpf from reading the BTF of
		// every loaded kernel module, which it does by default.
		Programs: ebpf.ProgramOptions{KernelTypes: k.spec},
	}
}

// fullKernelTypes parses the kernel's BTF: the slow path.
func fullKernelTypes() (kernelTypes, error) {
	cache := btf.NewCache()
	spec, err := cache.Kernel()
	if err != nil {
		return kernelTypes{}, &Error{Op: "load kernel BTF", Reason: ErrNoBTF, Err: err}
	}
	return kernelTypes{spec: spec, cache: cache}, nil
}

// withKernelTypes runs load against the cached minimal BTF when there is
// one, else (or if that fails for any reason but privilege) against the
// whole kernel BTF, and then refreshes the cache. load must clean up after
// itself when it fails.
func withKernelTypes(spec *ebpf.CollectionSpec, opts loadOpts, load func(kernelTypes) error) (minimal bool, err error) {
	path := btfCachePath(opts.btfCacheDir)
	if min := readBTFCache(path); min != nil {
		err := load(kernelTypes{spec: min, minimal: true})
		if err == nil || errors.Is(err, ErrPermission) {
			return true, err
		}
	}
	kt, err := fullKernelTypes()
	if err != nil {
		return false, err
	}
	if err := load(kt); err != nil {
		return false, err
	}
	if path != "" {
		if raw, err := minimalKernelBTF(spec.Types, kt.spec); err == nil {
			writeBTFCache(path, raw)
		}
	}
	return false, nil
}

// attachExec loads the exec program for hook h from spec and attaches it.
// On success the caller owns coll and l.
func attachExec(spec *ebpf.CollectionSpec, kt kernelTypes, h hook) (*ebpf.Collection, link.Link, error) {
	cs := spec.Copy()
	name := h.program()
	for p := range cs.Programs {
		if p != name && !isWatchProg(p) {
			delete(cs.Programs, p)
		}
	}
	coll, err := ebpf.NewCollectionWithOptions(cs, kt.options())
	if err != nil {
		return nil, nil, classify("load "+h.String(), err)
	}
	prog := coll.Programs[name]
	var l link.Link
	switch h {
	case hookBTF:
		l, err = link.AttachTracing(link.TracingOptions{Program: prog, AttachType: ebpf.AttachTraceRawTp})
	case hookRaw:
		l, err = link.AttachRawTracepoint(link.RawTracepointOptions{Name: "sched_process_exec", Program: prog})
	case hookTracepoint:
		l, err = link.Tracepoint("sched", "sched_process_exec", prog, nil)
		if errors.Is(err, os.ErrNotExist) {
			err = fmt.Errorf("%w (is tracefs mounted at /sys/kernel/tracing?)", err)
		}
	}
	if err != nil {
		coll.Close()
		return nil, nil, classify("attach "+h.String(), err)
	}
	return coll, l, nil
}

// isWatchProg: the watcher's base collection holds the exec program and
// this one (the syscall hooks are loaded apart, on its maps).
func isWatchProg(name string) bool { return name == "watch_newtask" }

// attachExecFallback tries the hooks in order from first and returns the
// first that loads and attaches. A permission or BTF error stops at once:
// the other hooks would fail the same way. With the minimal BTF, tp_btf is
// skipped: its attach target is looked up in the whole kernel BTF, the very
// parse the minimal BTF avoids; raw_tp reads the same arguments.
func attachExecFallback(spec *ebpf.CollectionSpec, kt kernelTypes, first hook) (*ebpf.Collection, link.Link, hook, error) {
	if kt.minimal && first == hookBTF {
		first = hookRaw
	}
	var errs []error
	for h := first; h < numHooks; h++ {
		coll, l, err := attachExec(spec, kt, h)
		if err == nil {
			return coll, l, h, nil
		}
		if errors.Is(err, ErrPermission) || errors.Is(err, ErrNoBTF) {
			return nil, nil, h, err
		}
		errs = append(errs, err)
	}
	return nil, nil, numHooks, &Error{Op: "attach exec hook", Reason: ErrUnsupported, Err: errors.Join(errs...)}
}
