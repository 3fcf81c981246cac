package bench

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// groups splits results into runs of equal labels, in order, for tables
// with one block per setting.
func groups(rs []Result) [][]Result {
	var out [][]Result
	for i, r := range rs {
		if i == 0 || labelString(r.Labels) != labelString(rs[i-1].Labels) {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], r)
	}
	return out
}

func us(ns float64) string {
	if math.IsNaN(ns) {
		return "-"
	}
	return strconv.FormatFloat(ns/1e3, 'f', 1, 64)
}

func ratio(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return strconv.FormatFloat(x, 'f', 2, 64) + "x"
}

// writeTable prints the aligned table, one block per setting.
func writeTable(w io.Writer, rep *Report) error {
	fmt.Fprintf(w, "rawns bench, %s view: %s\n", rep.View, strings.Join(rep.Command, " "))
	fmt.Fprintf(w, "%d rounds x %d spawns per strategy after %d warm-up rounds, fresh random order each round (seed %d)\n",
		rep.Rounds, rep.Batch, rep.Warmup, rep.Seed)
	fmt.Fprintf(w, "%s %s, %d CPUs (%s), %s\n", rep.Kernel, rep.Arch, rep.CPUs, rep.CPU, rep.Go)
	hasBase, hasPar := false, false
	for _, r := range rep.Results {
		hasBase = hasBase || !math.IsNaN(r.BaseRatio)
		hasPar = hasPar || r.Label("parallel") != ""
	}
	for _, g := range groups(rep.Results) {
		fmt.Fprintf(w, "\n%s\n", labelString(g[0].Labels))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		nameW := 0
		for _, r := range g {
			nameW = max(nameW, len(r.Name))
		}
		// Pad names so that the right-aligned column reads left-aligned.
		pad := func(s string) string { return s + strings.Repeat(" ", nameW-len(s)) }
		head := pad("strategy") + "\truns\tmin µs\tmedian\tp90\tp99\tmax\tx " + rep.Reference + "\t"
		if hasBase {
			head += "x base\t"
		}
		if hasPar {
			head += "spawns/s\t"
		}
		fmt.Fprintln(tw, head)
		for _, r := range g {
			if r.Err != "" {
				fmt.Fprintf(tw, "%s\tfailed\t\t\t\t\t\t\t\n", pad(r.Name))
				continue
			}
			line := fmt.Sprintf("%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t", r.Name, r.Runs, us(r.Min), us(r.Median), us(r.P90), us(r.P99), us(r.Max), ratio(r.Ratio))
			line = pad(r.Name) + line[len(r.Name):]
			if hasBase {
				line += ratio(r.BaseRatio) + "\t"
			}
			if hasPar {
				line += strconv.FormatFloat(1e9/r.Median, 'f', 0, 64) + "\t"
			}
			fmt.Fprintln(tw, line)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\ntimes in µs per spawn; \"x %s\" is the median over rounds of (round median / %s's round median)\n", rep.Reference, rep.Reference)
	if hasBase {
		for _, r := range rep.Results {
			if !math.IsNaN(r.BaseRatio) {
				how := "paired per round"
				if !r.BasePaired {
					how = "ratio of medians of separate runs"
				}
				fmt.Fprintf(w, "\"x base\" is the same strategy at %s (%s)\n", r.BaseOf, how)
				break
			}
		}
	}
	if hasPar {
		fmt.Fprintln(w, "with parallel > 1 each sample is a round's wall time divided by its spawns")
	}
	if len(rep.Notes) > 0 {
		fmt.Fprintln(w, "notes:")
		for _, n := range rep.Notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	return nil
}

// jsonFloat is a float64 that encodes NaN as null, which encoding/json
// refuses to encode at all.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, float64(f), 'f', -1, 64), nil
}

// writeJSON prints the report, with per-round medians so that another tool
// can redo the statistics.
func writeJSON(w io.Writer, rep *Report) error {
	type result struct {
		Strategy   string            `json:"strategy"`
		About      string            `json:"about"`
		Labels     map[string]string `json:"labels"`
		Runs       int               `json:"runs"`
		MinNS      jsonFloat         `json:"min_ns"`
		MedianNS   jsonFloat         `json:"median_ns"`
		P90NS      jsonFloat         `json:"p90_ns"`
		P99NS      jsonFloat         `json:"p99_ns"`
		MaxNS      jsonFloat         `json:"max_ns"`
		MeanNS     jsonFloat         `json:"mean_ns"`
		Ratio      jsonFloat         `json:"ratio"`
		RatioTo    string            `json:"ratio_to,omitempty"`
		BaseRatio  jsonFloat         `json:"base_ratio"`
		BaseOf     string            `json:"base_of,omitempty"`
		BasePaired bool              `json:"base_paired,omitempty"`
		RoundsNS   []jsonFloat       `json:"round_medians_ns"`
		Error      string            `json:"error,omitempty"`
	}
	out := struct {
		*Report
		Results []result `json:"results"`
	}{Report: rep}
	for _, r := range rep.Results {
		x := result{Strategy: r.Name, About: r.About, Labels: map[string]string{}, Runs: r.Runs,
			MinNS: jsonFloat(r.Min), MedianNS: jsonFloat(r.Median), P90NS: jsonFloat(r.P90), P99NS: jsonFloat(r.P99),
			MaxNS: jsonFloat(r.Max), MeanNS: jsonFloat(r.Mean), Ratio: jsonFloat(r.Ratio), RatioTo: r.RatioTo,
			BaseRatio: jsonFloat(r.BaseRatio), BaseOf: r.BaseOf, BasePaired: r.BasePaired, Error: r.Err,
			RoundsNS: []jsonFloat{}}
		if r.Err != "" {
			x = result{Strategy: r.Name, About: r.About, Labels: map[string]string{}, Error: r.Err,
				MinNS: jsonFloat(math.NaN()), MedianNS: jsonFloat(math.NaN()), P90NS: jsonFloat(math.NaN()), P99NS: jsonFloat(math.NaN()),
				MaxNS: jsonFloat(math.NaN()), MeanNS: jsonFloat(math.NaN()), Ratio: jsonFloat(math.NaN()), BaseRatio: jsonFloat(math.NaN()), RoundsNS: []jsonFloat{}}
		}
		for _, l := range r.Labels {
			x.Labels[l.Key] = l.Value
		}
		for _, v := range r.Rounds {
			x.RoundsNS = append(x.RoundsNS, jsonFloat(v))
		}
		out.Results = append(out.Results, x)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// labelKeys returns every label key in the results, in first-seen order.
func labelKeys(rs []Result) []string {
	var keys []string
	for _, r := range rs {
		for _, l := range r.Labels {
			found := false
			for _, k := range keys {
				found = found || k == l.Key
			}
			if !found {
				keys = append(keys, l.Key)
			}
		}
	}
	return keys
}

// writeCSV prints one row per result, times in ns, empty cells for none.
func writeCSV(w io.Writer, rep *Report) error {
	keys := labelKeys(rep.Results)
	cw := csv.NewWriter(w)
	head := append([]string{"view", "strategy"}, keys...)
	head = append(head, "runs", "min_ns", "median_ns", "p90_ns", "p99_ns", "max_ns", "mean_ns", "ratio", "ratio_to", "base_ratio", "base_of", "error")
	cw.Write(head)
	f := func(x float64) string {
		if math.IsNaN(x) {
			return ""
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	for _, r := range rep.Results {
		row := []string{rep.View, r.Name}
		for _, k := range keys {
			row = append(row, r.Label(k))
		}
		if r.Err != "" {
			row = append(row, "0", "", "", "", "", "", "", "", "", "", "", r.Err)
		} else {
			row = append(row, strconv.Itoa(r.Runs), f(r.Min), f(r.Median), f(r.P90), f(r.P99), f(r.Max), f(r.Mean),
				f(r.Ratio), r.RatioTo, f(r.BaseRatio), r.BaseOf, "")
		}
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

// writeGobench prints the Go benchmark format, one line per round (the
// round's median as ns/op, the batch as the iteration count), so that
// benchstat can compare two runs with its own statistics.
func writeGobench(w io.Writer, rep *Report) error {
	fmt.Fprintf(w, "goos: linux\ngoarch: %s\npkg: github.com/rawns/rawns/bench\n", strings.TrimPrefix(rep.Arch, "linux/"))
	if rep.CPU != "" {
		fmt.Fprintf(w, "cpu: %s\n", rep.CPU)
	}
	view := "InProcess"
	if rep.View == "whole-process" {
		view = "WholeProcess"
	}
	for _, r := range rep.Results {
		if r.Err != "" {
			continue
		}
		name := "BenchmarkSpawn" + view
		for _, l := range r.Labels {
			name += "/" + l.Key + "=" + l.Value
		}
		name += "/" + r.Name
		for _, v := range r.Rounds {
			if !math.IsNaN(v) {
				fmt.Fprintf(w, "%s-%d\t%8d\t%12.0f ns/op\n", name, rep.CPUs, rep.Batch, v)
			}
		}
	}
	return nil
}
