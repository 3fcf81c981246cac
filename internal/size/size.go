// Package size reads a size in bytes as docker writes it (512m, 1g): one
// rule for every flag of rawns that takes a size, so that --memory,
// --memory-swap, a tmpfs's --size and rawns bench's --rss accept the same
// units (issue 25: --size wanted bytes where --memory took 1m).
package size

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Parse parses a size the way docker's --memory does: a number with an
// optional binary suffix b, k, m, g, t (case-insensitive, an optional
// trailing "b" or "ib": 512m, 1.5GiB, 64kb). Zero and negative sizes are
// refused.
func Parse(s string) (int64, error) {
	num := strings.TrimSpace(s)
	low := strings.ToLower(num)
	mult := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"t", 1 << 40}, {"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}, {"b", 1}} {
		for _, tail := range []string{"ib", "b", ""} {
			if u.suf == "b" && tail != "" {
				continue
			}
			if strings.HasSuffix(low, u.suf+tail) {
				low = strings.TrimSuffix(low, u.suf+tail)
				mult = u.m
				goto parsed
			}
		}
	}
parsed:
	f, err := strconv.ParseFloat(low, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a size; give a number with an optional unit b, k, m, g or t (512m, 1g)", s)
	}
	if f <= 0 {
		return 0, fmt.Errorf("size %q must be above zero", s)
	}
	v := f * float64(mult)
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	if v < 1 {
		return 0, fmt.Errorf("size %q is less than a byte", s)
	}
	return int64(v), nil
}
