package testutil

import (
	"slices"
	"syscall"
	"testing"
)

// MedianMinorFaults runs path with args n times, its fds 0, 1 and 2 from
// files, and returns the median of the minor page faults each run took
// (getrusage(2) of the reaped child, which counts the children it reaped
// too): the start-up budget tests' count, held instead of times on these
// shared, noisy machines. A run that fails fails the test.
func MedianMinorFaults(t testing.TB, n int, files []uintptr, path string, args ...string) int64 {
	t.Helper()
	var all []int64
	for range n {
		pid, err := syscall.ForkExec(path, append([]string{path}, args...), &syscall.ProcAttr{Env: syscall.Environ(), Files: files})
		if err != nil {
			t.Fatal(err)
		}
		var ws syscall.WaitStatus
		var ru syscall.Rusage
		if _, err := syscall.Wait4(pid, &ws, 0, &ru); err != nil || ws.ExitStatus() != 0 {
			t.Fatalf("%s %q: %v, %v", path, args, err, ws)
		}
		all = append(all, ru.Minflt)
	}
	slices.Sort(all)
	return all[len(all)/2]
}
