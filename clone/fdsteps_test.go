package clone

import (
	"math/rand/v2"
	"testing"
)

// simulateFDs runs a plan on a model fd table: open maps each open fd to
// the file it refers to (a name) and whether it is close-on-exec.
type fdEntry struct {
	file    string
	cloexec bool
}

func applyPlan(t *testing.T, pl fdPlan, open map[int]fdEntry) {
	t.Helper()
	for _, op := range pl.ops {
		src, ok := open[op.from]
		if !ok {
			t.Fatalf("op %+v reads fd %d, which is not open", op, op.from)
		}
		if op.from == op.to {
			open[op.to] = fdEntry{src.file, false} // fcntl F_SETFD 0
			continue
		}
		open[op.to] = fdEntry{src.file, op.cloexec} // dup3
	}
}

// checkPlan holds a plan to its promise: fd i is srcs[i]'s file without
// close-on-exec, each kept fd's file is at its new number, close-on-exec
// unless it sits on a target, and no kept fd shares a number with a target
// it is not.
func checkPlan(t *testing.T, srcs []int, keep [numKept]int) {
	t.Helper()
	open := map[int]fdEntry{}
	name := func(fd int) string { return "file" + string(rune('A'+fd)) }
	for _, fd := range srcs {
		if fd >= 0 {
			open[fd] = fdEntry{name(fd), false}
		}
	}
	for _, fd := range keep {
		if fd >= 0 {
			open[fd] = fdEntry{name(fd), true}
		}
	}
	pl := planFDs(srcs, keep, nil)
	if pl.consoleFD >= 0 {
		if _, ok := open[pl.consoleFD]; ok {
			t.Fatalf("srcs %v keep %v: consoleFD %d is in use", srcs, keep, pl.consoleFD)
		}
		open[pl.consoleFD] = fdEntry{"console", true}
	}
	if len(pl.ops) > maxFDSteps(len(srcs), numKept) {
		t.Errorf("srcs %v keep %v: %d ops, over maxFDSteps %d", srcs, keep, len(pl.ops), maxFDSteps(len(srcs), numKept))
	}
	applyPlan(t, pl, open)
	for i, fd := range srcs {
		want := "console"
		if fd >= 0 {
			want = name(fd)
		}
		if got := open[i]; got.file != want || got.cloexec {
			t.Errorf("srcs %v keep %v: fd %d is %+v, want %s without close-on-exec (ops %+v)", srcs, keep, i, got, want, pl.ops)
		}
	}
	for k, fd := range keep {
		if fd < 0 {
			if pl.kept[k] != -1 {
				t.Errorf("keep %v: kept[%d] = %d for no fd", keep, k, pl.kept[k])
			}
			continue
		}
		got := open[pl.kept[k]]
		if got.file != name(fd) {
			t.Errorf("srcs %v keep %v: kept fd %d ended at %d holding %+v (ops %+v)", srcs, keep, fd, pl.kept[k], got, pl.ops)
		}
		if pl.kept[k] >= len(srcs) && !got.cloexec {
			t.Errorf("srcs %v keep %v: kept fd %d lost close-on-exec", srcs, keep, fd)
		}
	}
	if pl.firstCloexec != len(srcs) {
		t.Errorf("firstCloexec = %d, want %d", pl.firstCloexec, len(srcs))
	}
}

func TestPlanFDs(t *testing.T) {
	for _, c := range []struct {
		srcs []int
		keep [numKept]int
	}{
		{[]int{0, 1, 2}, [numKept]int{5, -1, -1}},          // a plain run: three fcntls
		{[]int{0, 1, 2}, [numKept]int{1, -1, -1}},          // the pipe on a target (stdout was closed)
		{[]int{2, 2, 2}, [numKept]int{7, -1, -1}},          // one fd on all three
		{[]int{2, 0, 1}, [numKept]int{9, -1, -1}},          // a rotation
		{[]int{4, 3, 5, 1, 0}, [numKept]int{2, 3, -1}},     // ExtraFDs crossing stdio, the gate on a target
		{[]int{-1, -1, -1, 3}, [numKept]int{0, -1, 6}},     // the console's slave; the pipe on 0
		{[]int{0, 1, 2, 7, 7, 3}, [numKept]int{4, 8, 7}},   // a duplicate extra fd; ExecFD also an extra
		{[]int{5, 6, 7, 0, 1, 2}, [numKept]int{3, -1, -1}}, // stdio shifted up, extras down
	} {
		checkPlan(t, c.srcs, c.keep)
	}
	// A plain run moves nothing: the three fcntls of Go's own exec.
	if pl := planFDs([]int{0, 1, 2}, [numKept]int{5, -1, -1}, nil); len(pl.ops) != 3 {
		t.Errorf("a plain run plans %d steps, want 3: %+v", len(pl.ops), pl.ops)
	}
}

func FuzzPlanFDs(f *testing.F) {
	f.Add(uint64(1), uint8(3))
	f.Add(uint64(42), uint8(9))
	f.Fuzz(func(t *testing.T, seed uint64, n uint8) {
		r := rand.New(rand.NewPCG(seed, seed>>1))
		nsrc := 3 + int(n%8)
		srcs := make([]int, nsrc)
		console := r.IntN(4) == 0
		for i := range srcs {
			srcs[i] = r.IntN(nsrc + 4)
			if console && i < 3 {
				srcs[i] = -1
			}
		}
		keep := [numKept]int{r.IntN(nsrc + 6), -1, -1}
		for _, fd := range srcs { // the error pipe is a new fd: never a source
			if fd == keep[0] {
				keep[0] = nsrc + 20
			}
		}
		if r.IntN(2) == 0 {
			keep[1] = r.IntN(nsrc + 6)
		}
		if r.IntN(2) == 0 {
			keep[2] = r.IntN(nsrc + 6)
		}
		if keep[1] == keep[0] || keep[2] == keep[0] {
			return
		}
		checkPlan(t, srcs, keep)
	})
}
