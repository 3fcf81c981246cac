package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"syscall"
)

// Label is one dimension of a case: ns=pid,uts, rss=2G, parallel=4.
type Label struct {
	Key, Value string
}

// Case is one strategy under one setting of the dimensions.
type Case struct {
	Strategy *Strategy
	Labels   []Label
	// Ref is the index of the case this one's Ratio is taken against (the C
	// reference under the same labels), Base the index of the same
	// strategy under the base setting of a swept dimension; -1 for none.
	Ref, Base int
	// Parallel is the number of workers sharing each batch of Parallel x
	// Plan.Batch spawns; <= 1 times each spawn on its own.
	Parallel int
}

// Plan is how many rounds to run.
type Plan struct {
	Rounds int    // counted rounds
	Batch  int    // spawns per case per round
	Warmup int    // rounds run first and thrown away
	Seed   uint64 // seed of the per-round shuffles
	// Stop, if set, is asked before each batch: a non-zero signal ends
	// the run there, the results incomplete.
	Stop func() syscall.Signal
}

// Result is what one case measured.
type Result struct {
	Name   string  `json:"strategy"`
	About  string  `json:"about"`
	Labels []Label `json:"labels"`
	// Samples are every counted spawn's time in ns; with parallel > 1,
	// one value per round, the wall time per spawn.
	Samples []float64 `json:"-"`
	// Rounds are the per-round medians in ns, NaN for a round not run.
	Rounds []float64 `json:"-"`
	Summary
	// Ratio is the median of the per-round ratios to RatioTo.
	Ratio   float64 `json:"ratio"`
	RatioTo string  `json:"ratio_to"`
	// BaseRatio compares with the same strategy under BaseOf; Paired
	// says whether it is a median of per-round ratios (same run) or a
	// ratio of medians (separate runs, as for --rss).
	BaseRatio  float64 `json:"base_ratio"`
	BaseOf     string  `json:"base_of"`
	BasePaired bool    `json:"base_paired"`
	Err        string  `json:"error,omitempty"`
}

// Label returns the value of the label key, or "".
func (r *Result) Label(key string) string {
	for _, l := range r.Labels {
		if l.Key == key {
			return l.Value
		}
	}
	return ""
}

func labelString(ls []Label) string {
	var b strings.Builder
	for i, l := range ls {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(l.Key + "=" + l.Value)
	}
	return b.String()
}

// Progress reports that a batch is about to run.
type Progress struct {
	Done, Total int
	Round       int // 1-based; <= 0 during warm-up
	Name        string
	Labels      []Label
}

// Run runs every case's batches in Plan.Warmup + Plan.Rounds rounds, in a
// fresh random order each round, and returns one Result per case, in the
// order of cases. A case whose batch fails is dropped from then on and
// carries the error; the others go on.
func Run(cases []Case, plan Plan, progress func(Progress)) []Result {
	rng := rand.New(rand.NewPCG(plan.Seed, plan.Seed^0x9e3779b97f4a7c15))
	res := make([]Result, len(cases))
	for i, c := range cases {
		res[i] = Result{Name: c.Strategy.Name, About: c.Strategy.About, Labels: c.Labels,
			Rounds: make([]float64, 0, plan.Rounds), Ratio: math.NaN(), BaseRatio: math.NaN()}
	}
	total := (plan.Warmup + plan.Rounds) * len(cases)
	done := 0
	batch := max(plan.Batch, 1)
	for round := 1 - plan.Warmup; round <= plan.Rounds; round++ {
		for _, i := range rng.Perm(len(cases)) {
			if plan.Stop != nil && plan.Stop() != 0 {
				return res
			}
			if progress != nil {
				progress(Progress{Done: done, Total: total, Round: round, Name: cases[i].Strategy.Name, Labels: cases[i].Labels})
			}
			done++
			r := &res[i]
			if r.Err != "" {
				if round > 0 {
					r.Rounds = append(r.Rounds, math.NaN())
				}
				continue
			}
			n, par := batch, cases[i].Parallel
			if par > 1 {
				n *= par
			}
			ds, err := cases[i].Strategy.Batch(n, par)
			if err != nil {
				r.Err = err.Error()
				if round > 0 {
					r.Rounds = append(r.Rounds, math.NaN())
				}
				continue
			}
			if round <= 0 {
				continue
			}
			xs := make([]float64, len(ds))
			for k, d := range ds {
				xs[k] = float64(d.Nanoseconds())
			}
			r.Samples = append(r.Samples, xs...)
			r.Rounds = append(r.Rounds, Median(xs))
		}
	}
	for i := range res {
		r := &res[i]
		if r.Err != "" {
			r.Samples, r.Rounds = nil, nil
			continue
		}
		r.Summary = Summarize(r.Samples)
		if j := cases[i].Ref; j >= 0 && res[j].Err == "" {
			r.Ratio = PairedRatio(r.Rounds, res[j].Rounds)
			r.RatioTo = res[j].Name
		}
		if j := cases[i].Base; j >= 0 && j != i && res[j].Err == "" {
			r.BaseRatio = PairedRatio(r.Rounds, res[j].Rounds)
			r.BaseOf = labelString(res[j].Labels)
			r.BasePaired = true
		}
	}
	return res
}

// describeErr is the note for a failed case.
func describeErr(r *Result) string {
	where := labelString(r.Labels)
	if where != "" {
		where = " (" + where + ")"
	}
	return fmt.Sprintf("%s%s failed and was dropped: %s", r.Name, where, r.Err)
}
