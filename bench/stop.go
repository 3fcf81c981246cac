package bench

import (
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

// stopper turns SIGINT, SIGTERM and SIGHUP into a request to stop: the
// batch in flight ends (a few spawns, each a program that exits by
// itself), the run returns, and the deferred cleanups remove what it made
// (the whole-process view's directory in $TMPDIR with an OCI bundle and a
// root filesystem, the cgroups of the cgroup strategies). Killed by the
// signal's default action instead, rawns bench left /tmp/rawns-bench-*
// behind (issue 25). A second signal is not caught: it ends rawns bench at
// once, as its default action does. A signal ignored when rawns bench
// started (nohup's SIGHUP) stays ignored.
type stopper struct {
	c   chan os.Signal
	sig atomic.Int32
}

var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

func catchStop() *stopper {
	s := &stopper{c: make(chan os.Signal, 1)}
	var catch []os.Signal
	for _, sig := range stopSignals {
		if !signal.Ignored(sig) {
			catch = append(catch, sig)
		}
	}
	signal.Notify(s.c, catch...)
	go func() {
		for sig := range s.c {
			s.sig.CompareAndSwap(0, int32(sig.(syscall.Signal)))
			signal.Reset(catch...)
		}
	}()
	return s
}

// signal is the first signal caught, or 0.
func (s *stopper) signal() syscall.Signal { return syscall.Signal(s.sig.Load()) }

// release stops catching; a signal from then on has its default action.
func (s *stopper) release() {
	signal.Stop(s.c)
	close(s.c)
}
