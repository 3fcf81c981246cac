package bpf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/procfs"
)

// tracefsDirs are where tracefs is usually mounted: its own mount point
// (4.1+), and the directory where debugfs mounts it by itself.
var tracefsDirs = []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}

// mountedTracefs returns the mount points of tracefs in this mount
// namespace, from /proc/self/mountinfo (proc(5)): "... MOUNTPOINT ... - FSTYPE
// ...". Not by stat or statfs of the usual directories: with debugfs
// mounted, looking up /sys/kernel/debug/tracing makes the kernel automount
// tracefs there, in the host's mount table.
func mountedTracefs() []string {
	b, err := procfs.Read("/proc/self/mountinfo", nil)
	if err != nil {
		return nil
	}
	mounts, err := procfs.Mounts(b)
	if err != nil {
		return nil
	}
	var dirs []string
	for _, m := range mounts {
		if m.FSType == "tracefs" {
			dirs = append(dirs, m.Point)
		}
	}
	// The usual places first.
	slices.SortStableFunc(dirs, func(a, b string) int {
		ia, ib := slices.Index(tracefsDirs, a), slices.Index(tracefsDirs, b)
		if ia < 0 {
			ia = len(tracefsDirs)
		}
		if ib < 0 {
			ib = len(tracefsDirs)
		}
		return ia - ib
	})
	return dirs
}

// eventIDs is what readEventIDs found: the id of each tracepoint and how
// tracefs was reached, said in the watcher's first line.
type eventIDs struct {
	ids map[string]uint64 // "syscalls/sys_enter_unshare" -> 192
	how string
}

// readEventIDs returns the perf event ids of the tracepoints named
// "GROUP/EVENT". The ids are numbers the kernel assigns at boot and shows
// only in tracefs (events/GROUP/EVENT/id); perf_event_open(2) with
// PERF_TYPE_TRACEPOINT takes the number and nothing else, so tracefs is
// needed only for this read, not while the programs run.
//
// When tracefs is not mounted, it is mounted where the host cannot see it:
// on a new OS thread that unshares its mount namespace (CLONE_NEWNS, allowed
// in a multi-threaded process because it only unshares the thread's
// fs_struct), makes every mount in it private (so nothing propagates back
// to the host's peer groups), mounts tracefs, reads the ids and ends. The
// goroutine exits with its thread still locked, so the Go runtime kills the
// thread (runtime.LockOSThread); the namespace had that one thread as its
// only member and dies with it, and the tracefs mount with the namespace.
// Nothing is ever mounted in the host's namespace, so there is nothing to
// undo: a SIGKILL at any moment leaves the host's mount table as it was.
func readEventIDs(events []string) (eventIDs, error) {
	if dirs := mountedTracefs(); len(dirs) > 0 {
		ids, err := readIDsIn(dirs[0], events)
		return eventIDs{ids: ids, how: "event ids from tracefs at " + dirs[0]}, err
	}
	type result struct {
		ids map[string]uint64
		err error
	}
	ch := make(chan result, 1)
	onThrowawayThread(func() {
		ids, err := readIDsPrivately(events)
		ch <- result{ids, err}
	})
	r := <-ch
	return eventIDs{ids: r.ids, how: "tracefs was not mounted: mounted it in a private mount namespace of a short-lived thread to read the event ids; the host's mounts are untouched"}, r.err
}

// onThrowawayThread runs fn in a new goroutine locked to an OS thread that
// ends when fn returns. The Go runtime does not end the main thread when a
// goroutine exits locked to it: it parks it for good, and /proc/PID/mountinfo
// shows the main thread's mount namespace. So when the new goroutine lands
// on the main thread it keeps it locked (no other goroutine can be
// scheduled there), hands fn to one more goroutine, which therefore runs
// elsewhere, and gives the main thread back untouched.
func onThrowawayThread(fn func()) {
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() != unix.Getpid() {
			fn() // returns without UnlockOSThread: the thread exits
			return
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			runtime.LockOSThread()
			fn()
		}()
		<-done
		runtime.UnlockOSThread()
	}()
}

// readIDsPrivately runs on a locked thread that is thrown away afterwards.
func readIDsPrivately(events []string) (map[string]uint64, error) {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return nil, fmt.Errorf("unshare(CLONE_NEWNS) to mount tracefs: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return nil, fmt.Errorf("make the private mount namespace's mounts private: %w", err)
	}
	dir := tracefsDirs[0]
	// A tracefs already there (mounted after the caller looked) would make
	// the mount fail with EBUSY; detaching it here, in the private
	// namespace, does not reach the host.
	_ = unix.Unmount(dir, unix.MNT_DETACH)
	if err := unix.Mount("tracefs", dir, "tracefs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return nil, fmt.Errorf("mount tracefs on %s (in a private mount namespace): %w", dir, err)
	}
	return readIDsIn(dir, events)
}

func readIDsIn(dir string, events []string) (map[string]uint64, error) {
	ids := make(map[string]uint64, len(events))
	for _, ev := range events {
		path := filepath.Join(dir, "events", ev, "id")
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no tracepoint %s (%s; per-syscall tracepoints need CONFIG_FTRACE_SYSCALLS=y)", ev, path)
		}
		if err != nil {
			return nil, err
		}
		id, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		ids[ev] = id
	}
	return ids, nil
}

// perfLink is a BPF program attached to a tracepoint through a perf event.
type perfLink struct {
	perf *os.File
	link interface{ Close() error } // nil when attached with the ioctl
}

func (p *perfLink) Close() error {
	var err error
	if p.link != nil {
		err = p.link.Close()
	}
	return errors.Join(err, p.perf.Close())
}

// attachTracepointID attaches prog to the tracepoint with perf event id id,
// on every CPU: the program hangs on the tracepoint itself (its prog_array),
// so one perf event (pid -1, cpu 0) is enough, as with cilium/ebpf's
// link.Tracepoint, which is not used here because it finds tracefs on its
// own, once per process, in the calling thread's mount namespace.
func attachTracepointID(prog *ebpf.Program, id uint64) (*perfLink, error) {
	// The attributes perf(1), libbpf and cilium/ebpf use for a tracepoint.
	attr := unix.PerfEventAttr{
		Type:        unix.PERF_TYPE_TRACEPOINT,
		Config:      id,
		Sample_type: unix.PERF_SAMPLE_RAW,
		Sample:      1,
		Wakeup:      1,
	}
	fd, err := unix.PerfEventOpen(&attr, -1, 0, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("perf_event_open(tracepoint id %d): %w", id, err)
	}
	perf := os.NewFile(uintptr(fd), "perf-event")
	l, err := link.AttachRawLink(link.RawLinkOptions{Target: fd, Program: prog, Attach: ebpf.AttachPerfEvent})
	if err == nil {
		return &perfLink{perf: perf, link: l}, nil
	}
	// Before 5.15 there is no bpf_link for a perf event: the ioctls, whose
	// attachment ends when the perf event's fd is closed.
	if err := unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_SET_BPF, prog.FD()); err != nil {
		perf.Close()
		return nil, fmt.Errorf("attach to tracepoint id %d: %w", id, err)
	}
	if err := unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_ENABLE, 0); err != nil {
		perf.Close()
		return nil, fmt.Errorf("enable tracepoint id %d: %w", id, err)
	}
	return &perfLink{perf: perf}, nil
}
