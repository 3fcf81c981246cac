package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/procfs"
)

// Children lists the children of pid, from /proc/PID/task/*/children
// (proc(5)).
func Children(pid int) []int {
	var kids []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			n, _ := strconv.Atoi(s)
			kids = append(kids, n)
		}
	}
	return kids
}

// Descendants lists every process below pid.
func Descendants(pid int) []int {
	var all []int
	queue := []int{pid}
	for len(queue) > 0 {
		kids := Children(queue[0])
		queue = append(queue[1:], kids...)
		all = append(all, kids...)
	}
	return all
}

// ProcessAlive reports whether pid exists and has not exited (a zombie
// whose other threads run has not: procfs.Exited).
func ProcessAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	var buf [1024]byte
	b, err := procfs.ReadFile(procfs.Path(pid, "stat"), buf[:])
	return err == nil && !procfs.Exited(b)
}

// AssertNoChildren fails t if the calling process has a child left: a
// zombie not reaped, or a process still running after a failed start.
func AssertNoChildren(t testing.TB) {
	t.Helper()
	var info unix.Siginfo
	err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	if err == nil && info.Signo != 0 {
		t.Errorf("a child is left over (siginfo %+v)", info)
	} else if err != nil && err != unix.ECHILD {
		t.Errorf("waitid: %v", err)
	}
	if kids := Children(os.Getpid()); len(kids) != 0 {
		t.Errorf("children left: %v", kids)
	}
}

// CloneStyles are the clone styles and system calls every behaviour of the
// clone package is checked under.
var CloneStyles = []struct {
	Name    string
	Mode    clone.Mode
	Syscall clone.Syscall
}{
	{"vfork-clone3", clone.ModeVfork, clone.SyscallClone3},
	{"vfork-clone", clone.ModeVfork, clone.SyscallClone},
	{"fork-clone3", clone.ModeFork, clone.SyscallClone3},
	{"fork-clone", clone.ModeFork, clone.SyscallClone},
}

// WaitSleeping waits until a sleep(1) process, pid itself or one below it
// (the command under --init), is blocked in nanosleep, and returns its pid.
// Not merely exec'd: as it starts, sleep's dynamic loader and its locale
// code open and close files of their own, so an fd table read any earlier
// can show a transient fd 3 that looks like a leak. Once it sleeps, it
// holds exactly what it will hold until it wakes.
func WaitSleeping(t testing.TB, pid int) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, p := range append([]int{pid}, Descendants(pid)...) {
			if readProc(p, "comm") == "sleep" && (strings.Contains(readProc(p, "wchan"), "nanosleep") || inNanosleep(p)) {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sleep at or below pid %d went to sleep within 10s", pid)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// FDs lists the open fds of process pid, read from outside, sorted.
func FDs(pid int) []string {
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	fds := make([]string, 0, len(ents))
	for _, e := range ents {
		fds = append(fds, e.Name())
	}
	sort.Strings(fds)
	return fds
}

func readProc(pid int, file string) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, file))
	return strings.TrimSpace(string(b))
}

// inNanosleep reports whether pid is blocked in nanosleep(2) or
// clock_nanosleep(2), from the system call number /proc/PID/syscall shows
// (proc(5)): kernels whose unwinder leaves wchan at 0 (Debian's 5.10 cloud
// kernel) still say it there.
func inNanosleep(pid int) bool {
	f := strings.Fields(readProc(pid, "syscall"))
	if len(f) == 0 {
		return false
	}
	nr, err := strconv.Atoi(f[0])
	return err == nil && (nr == unix.SYS_CLOCK_NANOSLEEP || nr == unix.SYS_NANOSLEEP)
}
