package cgroup_test

import (
	"os"
	"sort"
	"testing"
	"time"

	"github.com/rawns/rawns/cgroup"
	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// The cost of a limited run over an unlimited one, in process: a spawn of
// /bin/true in new pid and uts namespaces, reaped, without a cgroup and
// with one of its own (made with three limits, the child placed in it,
// statistics read, killed-all and removed). The two alternate spawn by
// spawn, so that both see the same machine; the metrics are the medians
// and their ratio (docs/benchmarks.md):
//
//	go test -run '^$' -bench Spawn -benchtime 500x ./cgroup/
func BenchmarkSpawn(b *testing.B) {
	testutil.RequireRoot(b)
	null, err := os.OpenFile("/dev/null", os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer null.Close()
	fd := int(null.Fd())
	limits := cgroup.Options{Resources: cgroup.Resources{
		Memory: cgroup.Memory{Limit: 64 << 20},
		Pids:   cgroup.Pids{Limit: 64},
		CPU:    cgroup.CPU{Quota: 50000, Period: 100000},
	}}
	for _, m := range []struct {
		name string
		mode clone.Mode
	}{{"vfork", clone.ModeVfork}, {"fork", clone.ModeFork}} {
		spec := func() *clone.Spec {
			return &clone.Spec{Path: "/bin/true", Env: []string{}, Stdio: []int{fd, fd, fd}, Namespaces: clone.NewPID | clone.NewUTS, Hostname: "bench", Mode: m.mode}
		}
		b.Run(m.name, func(b *testing.B) {
			clone.PinThread()
			var plain, limited, made []time.Duration
			var pl cgroup.Placement
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				p, err := clone.StartHere(spec())
				if err != nil {
					b.Fatal(err)
				}
				if st, err := p.Wait(); err != nil || st.Code != 0 {
					b.Fatal(st, err)
				}
				t1 := time.Now()
				cg, err := cgroup.New(limits)
				if err != nil {
					b.Fatal(err)
				}
				if p, pl, err = cg.Start(spec()); err != nil {
					b.Fatal(err)
				}
				if st, err := p.Wait(); err != nil || st.Code != 0 {
					b.Fatal(st, err)
				}
				cg.Stats()
				if err := cg.Close(); err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				// The cgroup alone: made with its limits and removed.
				cg, err = cgroup.New(limits)
				if err != nil {
					b.Fatal(err)
				}
				if err := cg.Close(); err != nil {
					b.Fatal(err)
				}
				t3 := time.Now()
				plain, limited, made = append(plain, t1.Sub(t0)), append(limited, t2.Sub(t1)), append(made, t3.Sub(t2))
			}
			mp, ml, mm := med(plain), med(limited), med(made)
			b.ReportMetric(float64(mp.Microseconds()), "µs-unlimited")
			b.ReportMetric(float64(ml.Microseconds()), "µs-limited")
			b.ReportMetric(float64(mm.Microseconds()), "µs-cgroup-only")
			b.ReportMetric(float64(ml)/float64(mp), "limited/unlimited")
			b.Logf("placement %s", pl)
		})
	}
}

func med(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
