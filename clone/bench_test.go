package clone_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rawns/rawns/bench"
	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// The reexec strategy re-executes this test binary, whose copy must act as
// the child before any test runs. An init rather than TestMain, so that the
// package's other test files stay free to define TestMain.
func init() {
	if len(os.Args) > 1 && os.Args[1] == bench.ReexecArg {
		bench.ReexecChild()
	}
}

// benchJob is the job of issue 2: /bin/true in new PID and UTS namespaces,
// with a hostname, stdio on /dev/null.
func benchJob(b *testing.B, ns clone.Namespaces) *bench.Job {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { null.Close() })
	return &bench.Job{Path: "/bin/true", Args: []string{"true"}, Env: []string{"PATH=/usr/bin:/bin"},
		Namespaces: ns, Hostname: "bench", Null: null}
}

func benchCRef(b *testing.B) string {
	p, err := bench.BuildCRef(filepath.Join("..", "bench", "cref", "spawn.c"), b.TempDir())
	if errors.Is(err, bench.ErrNoCompiler) {
		b.Log("no C compiler: the C reference is left out")
		return ""
	}
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// runStrategy times s for b.N spawns. The C reference times itself in one
// process (spawn-c --loop), so its ns/op is the mean of its own timings,
// without its start-up.
func runStrategy(b *testing.B, s *bench.Strategy) {
	if s.CanSpawn() {
		for b.Loop() {
			if err := s.Spawn(); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	ds, err := s.Batch(b.N, 1)
	if err != nil {
		b.Fatal(err)
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	b.ReportMetric(float64(sum.Nanoseconds())/float64(b.N), "ns/op")
}

// BenchmarkSpawn is spawn+wait of /bin/true in pid+uts namespaces by every
// strategy of rawns bench (issue 2: vfork-style, fork-style, clone3 and
// clone, against os/exec and syscall.ForkExec). For interleaved rounds and
// paired ratios use rawns bench; go test -bench runs one strategy after
// another, so compare -count runs with benchstat.
func BenchmarkSpawn(b *testing.B) {
	testutil.RequireRoot(b)
	job := benchJob(b, clone.NewPID|clone.NewUTS)
	cref := benchCRef(b)
	for _, name := range bench.StrategyNames() {
		s, err := bench.NewStrategy(name, job, cref)
		if err != nil {
			b.Logf("%s: %v; skipped", name, err)
			continue
		}
		b.Run(name, func(b *testing.B) { runStrategy(b, s) })
	}
}

// BenchmarkNamespaceKinds is the cost of creating each namespace kind
// (issue 3): rawns vfork-style with pid+uts plus one kind, and none and
// all. Each iteration also spawns with pid+uts alone, in alternating
// order, and the x-pid+uts metric is the ratio of the two medians, paired
// within one benchmark so that drift cancels; ns/op is the mean of the
// kind's spawns alone.
func BenchmarkNamespaceKinds(b *testing.B) {
	testutil.RequireRoot(b)
	pu := clone.NewPID | clone.NewUTS
	base, err := bench.NewStrategy("rawns-vfork", benchJob(b, pu), "")
	if err != nil {
		b.Fatal(err)
	}
	type set struct {
		name string
		ns   clone.Namespaces
	}
	sets := []set{{"none", 0}, {"pid+uts", pu}}
	for _, k := range clone.Kinds {
		if k.Flag&pu == 0 {
			sets = append(sets, set{"pid+uts+" + k.Name, pu | k.Flag})
		}
	}
	sets = append(sets, set{"all", clone.AllNamespaces})
	for _, st := range sets {
		s, err := bench.NewStrategy("rawns-vfork", benchJob(b, st.ns), "")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(st.name, func(b *testing.B) {
			timed := func(s *bench.Strategy) func() time.Duration {
				return func() time.Duration {
					t0 := time.Now()
					if err := s.Spawn(); err != nil {
						b.Fatal(err)
					}
					return time.Since(t0)
				}
			}
			mine, ref, sum := paired(b, timed(s), timed(base))
			b.ReportMetric(float64(sum.Nanoseconds())/float64(len(mine)), "ns/op")
			b.ReportMetric(bench.Median(mine)/bench.Median(ref), "x-pid+uts")
		})
	}
}

// BenchmarkJoinPID is what entering a PID namespace costs a spawn: the
// cloning thread's two setns(2) around the clone and the open of its
// pid_for_children, against the same spawn joining only the target's
// network namespace (x-net: the ratio of the two medians, interleaved).
// The other way, one more clone in the child that enters the namespace
// first, costs a whole fork-style clone and its reaping (BenchmarkSpawn's
// rawns-fork against rawns-vfork).
func BenchmarkJoinPID(b *testing.B) {
	testutil.RequireRoot(b)
	tg, err := clone.Start(&clone.Spec{Path: "/bin/sleep", Args: []string{"sleep", "600"}, Namespaces: clone.NewPID | clone.NewNet})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { tg.Signal(9); tg.Wait() }()
	open := func(kind string) int {
		fd, err := os.Open("/proc/" + strconv.Itoa(tg.Pid) + "/ns/" + kind)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { fd.Close() })
		return int(fd.Fd())
	}
	net, pid := open("net"), open("pid")
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer null.Close()
	n := int(null.Fd())
	spawn := func(join []clone.Join) time.Duration {
		t0 := time.Now()
		p, err := clone.Start(&clone.Spec{Path: "/bin/true", Stdio: []int{n, n, n}, Join: join})
		if err != nil {
			b.Fatal(err)
		}
		p.Wait()
		return time.Since(t0)
	}
	withPID := []clone.Join{{Kinds: clone.NewNet, FD: net}, {Kinds: clone.NewPID, FD: pid}}
	mine, ref, _ := paired(b, func() time.Duration { return spawn(withPID) }, func() time.Duration { return spawn(withPID[:1]) })
	b.ReportMetric(bench.Median(mine), "ns/op")
	b.ReportMetric(bench.Median(mine)/bench.Median(ref), "x-net")
}

// paired times mine and ref once each per round, for b.N rounds, in
// alternating order so that drift cancels: the times of each, and mine's
// sum.
func paired(b *testing.B, mine, ref func() time.Duration) (m, r []float64, sum time.Duration) {
	i := 0
	for b.Loop() {
		var dm, dr time.Duration
		if i%2 == 0 {
			dm, dr = mine(), ref()
		} else {
			dr, dm = ref(), mine()
		}
		i++
		sum += dm
		m, r = append(m, float64(dm)), append(r, float64(dr))
	}
	return m, r, sum
}
