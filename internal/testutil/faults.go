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
//
// With GOMAXPROCS=1 in the environment, so that a Go program's count
// follows its code, not the machine's load: with an idle P the runtime
// starts an M (a thread: its stack, its g0, its mcache) for each
// goroutine it wakes before one is spinning, and how many it starts
// depends on when the other CPU gets to run them. Measured on 2026-12-07
// (2 vCPUs): `rawns-oci list` took 238-240 faults on the idle machine and
// 258-260 under a load of 3, the same binary; with one P 218-219 either
// way. The budgets are set in this count.
func MedianMinorFaults(t testing.TB, n int, files []uintptr, path string, args ...string) int64 {
	t.Helper()
	env := append(syscall.Environ(), "GOMAXPROCS=1")
	var all []int64
	for range n {
		pid, err := syscall.ForkExec(path, append([]string{path}, args...), &syscall.ProcAttr{Env: env, Files: files})
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
