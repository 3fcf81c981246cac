package bench

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestPercentile(t *testing.T) {
	s := []float64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}
	for _, c := range []struct{ p, want float64 }{
		{0, 10}, {100, 100}, {50, 55}, {90, 91}, {99, 99.1}, {25, 32.5}, {-5, 10}, {150, 100},
	} {
		if got := Percentile(s, c.p); !near(got, c.want) {
			t.Errorf("Percentile(1..10 x10, %v) = %v, want %v", c.p, got, c.want)
		}
	}
	if got := Percentile([]float64{7}, 99); got != 7 {
		t.Errorf("Percentile of one sample = %v, want 7", got)
	}
	if got := Percentile([]float64{1, 2, 3}, 50); got != 2 {
		t.Errorf("median of 1,2,3 = %v, want 2", got)
	}
	if !math.IsNaN(Percentile(nil, 50)) {
		t.Error("Percentile(nil) is not NaN")
	}
	// NumPy: np.percentile(range(1, 101), 99) == 99.01
	var h []float64
	for i := 1; i <= 100; i++ {
		h = append(h, float64(i))
	}
	if got := Percentile(h, 99); !near(got, 99.01) {
		t.Errorf("p99 of 1..100 = %v, want 99.01", got)
	}
}

func TestSummarize(t *testing.T) {
	s := Summarize([]float64{5, 1, math.NaN(), 3, 2, 4})
	want := Summary{Runs: 5, Min: 1, Median: 3, P90: 4.6, P99: 4.96, Max: 5, Mean: 3}
	if s.Runs != want.Runs || !near(s.Min, want.Min) || !near(s.Median, want.Median) || !near(s.P90, want.P90) ||
		!near(s.P99, want.P99) || !near(s.Max, want.Max) || !near(s.Mean, want.Mean) {
		t.Errorf("Summarize = %+v, want %+v", s, want)
	}
	if e := Summarize(nil); e.Runs != 0 || !math.IsNaN(e.Median) {
		t.Errorf("Summarize(nil) = %+v", e)
	}
}

func TestPairedRatio(t *testing.T) {
	// Drift: both sides slow down together; the paired ratio stays 1.1
	// where the ratio of medians would not be.
	ref := []float64{100, 200, 400, 800, 1600}
	x := []float64{110, 220, 440, 880, 1760}
	if got := PairedRatio(x, ref); !near(got, 1.1) {
		t.Errorf("PairedRatio under drift = %v, want 1.1", got)
	}
	// One spoiled round does not move the median of the ratios.
	x2 := []float64{110, 220, 4400, 880, 1760}
	if got := PairedRatio(x2, ref); !near(got, 1.1) {
		t.Errorf("PairedRatio with an outlier round = %v, want 1.1", got)
	}
	// Even count: mean of the middle two ratios (1.0 and 2.0).
	if got := PairedRatio([]float64{1, 2, 4, 8}, []float64{1, 2, 2, 2}); !near(got, 1.5) {
		t.Errorf("PairedRatio even = %v, want 1.5", got)
	}
	// NaN rounds and non-positive references are left out.
	if got := PairedRatio([]float64{math.NaN(), 3, 6}, []float64{1, 0, 2}); !near(got, 3) {
		t.Errorf("PairedRatio skipping = %v, want 3", got)
	}
	if !math.IsNaN(PairedRatio(nil, nil)) {
		t.Error("PairedRatio(nil) is not NaN")
	}
}

// fixed is a strategy whose spawns take the given times, round after round.
func fixed(name string, times ...time.Duration) *Strategy {
	k := 0
	return &Strategy{Name: name, batch: func(n, _ int) ([]time.Duration, error) {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = times[k%len(times)]
			k++
		}
		return out, nil
	}}
}

func TestRunRatiosAndWarmup(t *testing.T) {
	ref := fixed("ref", 1000*time.Nanosecond)
	// Warm-up spawns are slow; they must not be counted.
	slow := 0
	x := &Strategy{Name: "x", batch: func(n, _ int) ([]time.Duration, error) {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = 1500
			if slow < 2*n {
				out[i] = 99999
			}
			slow++
		}
		return out, nil
	}}
	cases := []Case{{Strategy: ref, Ref: 0, Base: -1}, {Strategy: x, Ref: 0, Base: -1}}
	res := Run(cases, Plan{Rounds: 7, Batch: 3, Warmup: 2, Seed: 1}, nil)
	if res[1].Runs != 21 || res[1].Max != 1500 || !near(res[1].Ratio, 1.5) || res[1].RatioTo != "ref" {
		t.Errorf("x: runs %d max %v ratio %v to %q; want 21, 1500, 1.5, ref", res[1].Runs, res[1].Max, res[1].Ratio, res[1].RatioTo)
	}
	if !near(res[0].Ratio, 1) || len(res[0].Rounds) != 7 {
		t.Errorf("ref: ratio %v rounds %d", res[0].Ratio, len(res[0].Rounds))
	}
}

func TestRunDropsFailingCase(t *testing.T) {
	bad := &Strategy{Name: "bad", batch: func(int, int) ([]time.Duration, error) { return nil, errTest }}
	res := Run([]Case{{Strategy: fixed("ok", 10), Ref: -1, Base: -1}, {Strategy: bad, Ref: 0, Base: -1}}, Plan{Rounds: 3, Batch: 2}, nil)
	if res[1].Err == "" || res[1].Runs != 0 || res[0].Runs != 6 {
		t.Errorf("got %+v", res)
	}
}

var errTest = &json.UnsupportedValueError{Str: "test"}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "4096": 4096, "256M": 256 << 20, "1G": 1 << 30, "2GiB": 2 << 30, "64k": 64 << 10} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %v, %v; want %v", in, got, err, want)
		}
		if in != "2GiB" && in != "64k" {
			if got := formatSize(want); got != strings.ToUpper(in) && !(in == "4096" && got == "4K") {
				t.Errorf("formatSize(%d) = %q", want, got)
			}
		}
	}
	// rawns run's --memory units (package size), as every size flag.
	if got, err := parseSize("1.5g"); err != nil || got != 3<<29 {
		t.Errorf("parseSize(1.5g) = %v, %v", got, err)
	}
	if _, err := parseSize("lots"); err == nil {
		t.Error("parseSize(lots) did not fail")
	}
}

func TestNamespaceSweep(t *testing.T) {
	sets, err := namespaceSets("", true)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range sets {
		names = append(names, nsLabel(s))
	}
	want := "none pid+uts pid+uts+mnt pid+uts+ipc pid+uts+net pid+uts+user pid+uts+cgroup pid+uts+time pid+uts+mnt+ipc+net+user+cgroup+time"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("sweep = %s\nwant    %s", got, want)
	}
}

func testReport() *Report {
	res := Run([]Case{
		{Strategy: fixed("c-vfork", 100, 200), Labels: []Label{{"ns", "pid+uts"}}, Ref: 0, Base: -1},
		{Strategy: fixed("rawns-vfork", 110, 220), Labels: []Label{{"ns", "pid+uts"}}, Ref: 0, Base: -1},
	}, Plan{Rounds: 4, Batch: 2, Seed: 3}, nil)
	res = append(res, Result{Name: "broken", Labels: []Label{{"ns", "pid+uts"}}, Err: "no", Ratio: math.NaN(), BaseRatio: math.NaN()})
	return &Report{View: "in-process", Command: []string{"/bin/true"}, Rounds: 4, Batch: 2, Reference: "c-vfork", Arch: "linux/amd64", CPUs: 2, Results: res}
}

func TestOutputs(t *testing.T) {
	rep := testReport()
	var b bytes.Buffer
	if err := writeJSON(&b, rep); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Results []struct {
			Strategy string
			Ratio    *float64
			MedianNS *float64 `json:"median_ns"`
		}
	}
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatalf("JSON does not parse: %v\n%s", err, b.String())
	}
	if r := back.Results[1]; r.Ratio == nil || !near(*r.Ratio, 1.1) || *r.MedianNS != 165 {
		t.Errorf("JSON rawns-vfork = %+v", r)
	}
	if back.Results[2].Ratio != nil {
		t.Error("JSON: a failed case's ratio is not null")
	}

	b.Reset()
	if err := writeCSV(&b, rep); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "view,strategy,ns,runs,min_ns,median_ns") ||
		!strings.HasPrefix(lines[2], "in-process,rawns-vfork,pid+uts,8,110,165,") {
		t.Errorf("CSV:\n%s", b.String())
	}

	b.Reset()
	if err := writeGobench(&b, rep); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "BenchmarkSpawnInProcess/ns=pid+uts/rawns-vfork-2\t       2\t         165 ns/op\n"); n != 4 {
		t.Errorf("gobench: %d round lines for rawns-vfork, want 4:\n%s", n, b.String())
	}

	b.Reset()
	if err := writeTable(&b, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "1.10x") || !strings.Contains(b.String(), "broken") {
		t.Errorf("table:\n%s", b.String())
	}

	b.Reset()
	if err := writeSVG(&b, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "<svg") || strings.Count(b.String(), "stroke-width=\"3\"") != 2 {
		t.Errorf("SVG has not one median tick per row:\n%s", b.String())
	}
}

// The floor of a Go tool is go-empty + c-ref - c-empty in each round, as a
// paired ratio to c-ref.
func TestGoFloor(t *testing.T) {
	ns := []Label{{"ns", "pid+uts"}}
	res := []Result{
		{Name: "c-ref", Labels: ns, Rounds: []float64{2000, 2200, 1800}},
		{Name: "c-empty", Labels: ns, Rounds: []float64{800, 800, 600}},
		{Name: "go-empty", Labels: ns, Rounds: []float64{2000, 2400, 1800}},
		{Name: "rawns-run", Labels: ns, Rounds: []float64{4000, 4400, 3600}, Ratio: 2},
		{Name: "c-ref", Labels: []Label{{"ns", "none"}}, Rounds: []float64{1}},
	}
	// Floors: 3200/2000 = 1.6, 3800/2200 = 1.727, 3000/1800 = 1.667.
	got := goFloor(res)
	// rawns-run to the floor: 4000/3200 = 1.25, 4400/3800 = 1.158, 3600/3000 = 1.2.
	want := []string{"ns=pid+uts: floor of a Go tool (go-empty + c-ref - c-empty, per round) 1.67x c-ref; rawns-run 2.00x, 1.20x the floor (target <= 1.10)"}
	if len(got) != 1 || got[0] != want[0] {
		t.Fatalf("goFloor = %q, want %q", got, want)
	}
	// With go-os, a second floor: 2400+1200 = 3600/2000 = 1.8, 2800+1400 =
	// 4200/2200 = 1.909, 2000+1200 = 3200/1800 = 1.778; rawns-run to it
	// 1.111, 1.048, 1.125.
	withOS := append(res[:len(res):len(res)], Result{Name: "go-os", Labels: ns, Rounds: []float64{2400, 2800, 2000}})
	got = goFloor(withOS)
	want = append(want, "ns=pid+uts: floor of a Go tool that imports os (go-os + c-ref - c-empty, per round) 1.80x c-ref; rawns-run 2.00x, 1.11x the floor (target <= 1.10)")
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("goFloor with go-os = %q, want %q", got, want)
	}
	res[2].Err = "failed"
	if got := goFloor(res); len(got) != 0 {
		t.Fatalf("goFloor with a failed go-empty = %q, want nothing", got)
	}
}
