//go:build linux && (amd64 || arm64)

// Command spawnloop is a helper of the torture suite (torture/load_test.go):
// it spawns /bin/true in new PID and UTS namespaces N times in a row from
// one process, every clone style in turn, and prints one JSON line with
// its open fd count, resident set size and Go heap before and after, and
// whether any child was left. It is built without -race, because the race
// detector's own bookkeeping grows the RSS of a race-enabled binary with
// every spawn and would hide what rawns does.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/procfs"
)

type sample struct {
	FDs       int    `json:"fds"`
	FDList    string `json:"fd_list"` // "N->target N->target ...", to name a leak
	RSSKiB    int    `json:"rss_kib"`
	HeapInuse uint64 `json:"heap_inuse"`
}

type report struct {
	N        int    `json:"n"`
	Before   sample `json:"before"`
	After    sample `json:"after"`
	Children string `json:"children"` // "" when none is left
	Error    string `json:"error"`
	Elapsed  int64  `json:"elapsed_ns"`
}

func measure() sample {
	runtime.GC()
	debug.FreeOSMemory()
	var s sample
	ents, _ := os.ReadDir("/proc/self/fd")
	s.FDs = len(ents)
	var list []string
	for _, e := range ents {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		list = append(list, e.Name()+"->"+target)
	}
	s.FDList = strings.Join(list, " ")
	var buf [4096]byte
	b, _ := procfs.ReadFile("/proc/self/status", buf[:])
	if v, ok := procfs.StatusValue(b, "VmRSS"); ok {
		s.RSSKiB, _ = strconv.Atoi(strings.TrimSuffix(string(v), " kB"))
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.HeapInuse = ms.HeapInuse
	return s
}

var styles = []struct {
	mode    clone.Mode
	syscall clone.Syscall
}{
	{clone.ModeVfork, clone.SyscallClone3},
	{clone.ModeVfork, clone.SyscallClone},
	{clone.ModeFork, clone.SyscallClone3},
	{clone.ModeFork, clone.SyscallClone},
}

func spawn(i int) error {
	s := styles[i%len(styles)]
	p, err := clone.Start(&clone.Spec{Path: "/bin/true", Namespaces: clone.NewPID | clone.NewUTS, Hostname: "load", Mode: s.mode, Syscall: s.syscall})
	if err != nil {
		return fmt.Errorf("spawn %d: %w", i, err)
	}
	st, err := p.Wait()
	if err != nil || st.ExitCode() != 0 {
		return fmt.Errorf("spawn %d: %v, %v", i, st, err)
	}
	return nil
}

func main() {
	n := flag.Int("n", 10000, "spawns to measure")
	warmup := flag.Int("warmup", 200, "spawns before the first measurement")
	flag.Parse()
	r := report{N: *n}
	for i := 0; i < *warmup && r.Error == ""; i++ {
		if err := spawn(i); err != nil {
			r.Error = err.Error()
		}
	}
	// The runtime's poller (an epoll fd and an eventfd, kept for the
	// process's life) starts with the first pollable file or the first
	// timer. Reading /proc/self/fd does not start it (a directory is never
	// pollable); the runtime's own background scavenger does, when it first
	// sleeps on a timer after a GC gave memory back, at a moment that
	// depends on the machine's speed (seen at load 12: fds 8 -> 10, the two
	// being [eventpoll] and [eventfd], started from runtime.bgscavenge;
	// strace -f -k -e trace=epoll_create1 shows it). So start it here, with
	// a pipe, before the first sample.
	if pr, pw, err := os.Pipe(); err == nil {
		pr.Close()
		pw.Close()
	}
	measure()
	r.Before = measure()
	start := time.Now()
	for i := 0; i < *n && r.Error == ""; i++ {
		if err := spawn(i); err != nil {
			r.Error = err.Error()
		}
	}
	r.Elapsed = int64(time.Since(start))
	r.After = measure()
	var info unix.Siginfo
	err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	if err == nil && info.Signo != 0 {
		r.Children = fmt.Sprintf("a child is left: %+v", info)
	} else if err != nil && err != unix.ECHILD {
		r.Children = "waitid: " + err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(r)
}
