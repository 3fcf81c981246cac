package bpf

import (
	"errors"
	"os"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"
)

// sentinel is a constant error: the package declares no error variables, so
// importing it runs no initialisation code.
type sentinel string

func (s sentinel) Error() string { return string(s) }

// Reasons the kernel side cannot be set up. Every error from [LoadExecTracer]
// and the watcher's loader is an [*Error] wrapping one of them, so a caller
// tests errors.Is(err, ErrPermission) or errors.As(err, &*trace.Error) and
// maps it to its usage/environment exit code.
const (
	// ErrPermission: loading BPF programs needs root, or CAP_BPF plus
	// CAP_PERFMON (CAP_SYS_ADMIN before 5.8).
	ErrPermission = sentinel("needs root or CAP_BPF+CAP_PERFMON")
	// ErrNoBTF: the kernel exposes no BTF (/sys/kernel/btf/vmlinux), which
	// the CO-RE relocations need (CONFIG_DEBUG_INFO_BTF=y).
	ErrNoBTF = sentinel("kernel has no BTF (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF=y)")
	// ErrUnsupported: the kernel lacks a needed feature (ring buffer: 5.8;
	// every exec hook failed) or rejected the program.
	ErrUnsupported = sentinel("kernel too old or missing a BPF feature")
)

// Error is the error type of the kernel side: Op says what was being done,
// Reason is one of ErrPermission, ErrNoBTF, ErrUnsupported, Err the cause.
type Error struct {
	Op     string
	Reason error
	Err    error
}

func (e *Error) Error() string {
	msg := "trace: " + e.Op + ": " + e.Reason.Error()
	if e.Err != nil {
		msg += ": " + cleanCause(e.Err)
	}
	return msg
}

// Unwrap lets errors.Is match both the reason and the underlying errno.
func (e *Error) Unwrap() []error { return []error{e.Reason, e.Err} }

// classify wraps err from loading or attaching into an *Error with the
// reason that best explains it.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var te *Error
	if errors.As(err, &te) {
		return err
	}
	reason := error(ErrUnsupported)
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES), errors.Is(err, os.ErrPermission):
		reason = ErrPermission
	case errors.Is(err, btf.ErrNotSupported) && strings.Contains(err.Error(), "btf"):
		reason = ErrNoBTF
	}
	return &Error{Op: op, Reason: reason, Err: err}
}

// cleanCause drops cilium/ebpf's "MEMLOCK may be too low" hint: since 5.11
// BPF memory is charged to the cgroup, and an EPERM here means missing
// privilege, which the Reason already says.
func cleanCause(err error) string {
	s := err.Error()
	if i := strings.Index(s, " (MEMLOCK may be too low"); i >= 0 {
		j := strings.Index(s[i:], ")")
		if j >= 0 {
			s = s[:i] + s[i+j+1:]
		}
	}
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) && len(ve.Log) > 0 {
		// The last lines of the verifier log say why; the whole log is huge.
		n := len(ve.Log)
		from := max(0, n-3)
		s += " [verifier: " + strings.Join(ve.Log[from:], "; ") + "]"
	}
	return s
}
