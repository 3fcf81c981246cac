package bench

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
)

// writeSVGFile writes the chart to path.
func writeSVGFile(path string, rep *Report) error {
	var b bytes.Buffer
	if err := writeSVG(&b, rep); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// writeSVG draws one row per result: every sample as a faint dot, the range
// min..max as a thin line, the box from p25 to p75, the median as a bold
// tick and p99 as a small one. A shared axis makes rows comparable at a
// glance; it is logarithmic when the rows span more than a factor of 8, as
// the whole-process view does (runc is tens of times the C reference).
func writeSVG(w io.Writer, rep *Report) error {
	var rows []Result
	for _, r := range rep.Results {
		if r.Err == "" && r.Runs > 0 {
			rows = append(rows, r)
		}
	}
	const (
		width, left, right, top, rowH, bottom = 960.0, 300.0, 30.0, 50.0, 24.0, 50.0
	)
	height := top + rowH*float64(len(rows)) + bottom
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range rows {
		lo, hi = math.Min(lo, r.Min), math.Max(hi, r.P99)
	}
	if len(rows) == 0 {
		lo, hi = 1, 10
	}
	logScale := hi/lo > 8
	var x func(ns float64) float64
	var ticks []float64
	if logScale {
		l0, l1 := math.Log10(lo*0.9), math.Log10(hi*1.1)
		x = func(ns float64) float64 {
			v := math.Log10(math.Max(ns, lo*0.9))
			return left + (width-left-right)*(math.Min(v, l1)-l0)/(l1-l0)
		}
		for d := math.Floor(l0); d <= l1; d++ {
			for _, m := range []float64{1, 2, 5} {
				if t := m * math.Pow(10, d); t >= lo*0.9 && t <= hi*1.1 {
					ticks = append(ticks, t)
				}
			}
		}
	} else {
		top := hi * 1.05
		x = func(ns float64) float64 { return left + (width-left-right)*math.Min(ns, top)/top }
		step := niceStep(top / 6)
		for t := 0.0; t <= top; t += step {
			ticks = append(ticks, t)
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	title := fmt.Sprintf("rawns bench, %s: %s (%d rounds x %d, %s, %s)", rep.View, strings.Join(rep.Command, " "), rep.Rounds, rep.Batch, rep.Kernel, rep.Go)
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="14" font-weight="bold">%s</text>`+"\n", xmlEscape(title))
	scale := "linear"
	if logScale {
		scale = "log"
	}
	fmt.Fprintf(&b, `<text x="10" y="38" fill="#555">µs per spawn (%s axis); box p25-p75, bold tick median, thin tick p99, line min-max, dots every sample; right: x %s</text>`+"\n",
		scale, xmlEscape(rep.Reference))
	axisY := top + rowH*float64(len(rows))
	for _, t := range ticks {
		tx := x(t)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", tx, top-4, tx, axisY)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#555">%s</text>`+"\n", tx, axisY+16, trimFloat(t/1e3))
	}
	palette := []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"}
	colour := map[string]string{}
	for i, r := range rows {
		c, ok := colour[r.Name]
		if !ok {
			c = palette[len(colour)%len(palette)]
			colour[r.Name] = c
		}
		cy := top + rowH*float64(i) + rowH/2
		name := r.Name
		if ls := labelString(r.Labels); ls != "" {
			name += "  " + ls
		}
		if i%2 == 1 {
			fmt.Fprintf(&b, `<rect x="0" y="%.1f" width="%.0f" height="%.0f" fill="#f6f6f6"/>`+"\n", cy-rowH/2, width, rowH)
		}
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-10, cy+4, xmlEscape(name))
		s := slices.Clone(r.Samples)
		slices.Sort(s)
		// At most 400 dots per row, spread evenly over the sorted samples.
		stepN := max(1, len(s)/400)
		for k := 0; k < len(s); k += stepN {
			jit := (float64((k*7919)%11)/10 - 0.5) * rowH * 0.6
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="1.5" fill="%s" fill-opacity="0.25"/>`+"\n", x(s[k]), cy+jit, c)
		}
		p25, p75 := Percentile(s, 25), Percentile(s, 75)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`+"\n", x(r.Min), cy, x(r.Max), cy, c)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" fill-opacity="0.35" stroke="%s"/>`+"\n",
			x(p25), cy-rowH*0.3, math.Max(x(p75)-x(p25), 1), rowH*0.6, c, c)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black" stroke-width="3"/>`+"\n", x(r.Median), cy-rowH*0.4, x(r.Median), cy+rowH*0.4)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", x(r.P99), cy-rowH*0.25, x(r.P99), cy+rowH*0.25)
		if !math.IsNaN(r.Ratio) {
			fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end" fill="#333">%s</text>`+"\n", width-2, cy+4, ratio(r.Ratio))
		}
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="middle" fill="#555">µs</text>`+"\n", (left+width)/2, axisY+34)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// niceStep rounds a raw axis step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), "."), ".")
}

// xmlEscape escapes text for SVG; package html would add an init to the
// rawns binary for a map this needs none of.
func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
