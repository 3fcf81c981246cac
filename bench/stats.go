package bench

import (
	"math"
	"slices"
)

// Summary is the distribution of one strategy's samples.
type Summary struct {
	Runs                             int
	Min, Median, P90, P99, Max, Mean float64
}

// Percentile returns the p-th percentile (0 <= p <= 100) of sorted, which
// must be in ascending order, interpolating linearly between the two nearest
// ranks (Hyndman and Fan's type 7, the default of R and NumPy): the median of
// an even count is the mean of the middle two, the 0th is the minimum and the
// 100th the maximum. Interpolation keeps a p99 of 300 samples from being just
// the third-largest sample. It returns NaN for no samples.
func Percentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	p = min(max(p, 0), 100)
	h := float64(n-1) * p / 100
	lo := int(math.Floor(h))
	if lo >= n-1 {
		return sorted[n-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// Summarize returns the summary of xs, ignoring NaNs. xs is not modified.
func Summarize(xs []float64) Summary {
	s := make([]float64, 0, len(xs))
	sum := 0.0
	for _, x := range xs {
		if !math.IsNaN(x) {
			s = append(s, x)
			sum += x
		}
	}
	if len(s) == 0 {
		nan := math.NaN()
		return Summary{Min: nan, Median: nan, P90: nan, P99: nan, Max: nan, Mean: nan}
	}
	slices.Sort(s)
	return Summary{
		Runs:   len(s),
		Min:    s[0],
		Median: Percentile(s, 50),
		P90:    Percentile(s, 90),
		P99:    Percentile(s, 99),
		Max:    s[len(s)-1],
		Mean:   sum / float64(len(s)),
	}
}

// Median returns the median of xs, ignoring NaNs; NaN if none is left.
func Median(xs []float64) float64 {
	return Summarize(xs).Median
}

// PairedRatio returns the median over rounds of x[i]/ref[i], where x[i] and
// ref[i] were measured in the same round. A round missing either value
// (NaN), or whose reference is not positive, is left out; NaN if no round is
// left. Pairing within a round cancels drift slower than a round, which the
// ratio of the two overall medians would not; the median of the per-round
// ratios ignores the few rounds that noise spoiled for one side only.
func PairedRatio(x, ref []float64) float64 {
	n := min(len(x), len(ref))
	r := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		if math.IsNaN(x[i]) || math.IsNaN(ref[i]) || ref[i] <= 0 {
			continue
		}
		r = append(r, x[i]/ref[i])
	}
	return Median(r)
}
