//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// BenchmarkEngines is the end-to-end speed of each runtime under each
// engine (make e2e-bench; docs/benchmarks.md): one container running
// /bin/true from the busybox image, removed when it ends, timed from the
// client's start to its exit, every (engine, runtime) pair once per round,
// in an order that rotates each round, b.N rounds. Beside them, the
// runtime alone: `RUNTIME run` of a busybox bundle (create, start, wait,
// delete), whose time over the engine's is the runtime's share of it.
//
// crun 1.8 refuses this host's hybrid cgroup layout, so make e2e-bench
// runs the sandbox with /sys/fs/cgroup/unified unmounted
// (RAWNS_E2E_HIDE_UNIFIED=1), for every runtime alike.
func BenchmarkEngines(b *testing.B) {
	rts := runtimesUnderTest(b, "bench")
	pod := getPodman(b, rts)
	ctrd := getContainerd(b, rts)
	dock := getDocker(b, rts)
	if err := sb.do("ctr image", func() error {
		if r := run(b, 2*time.Minute, nil, "ctr", "--address", ctrd.sock, "--namespace", ctrNamespace, "images", "import", pod.archive); r.code != 0 {
			return fmt.Errorf("ctr images import:\n%s", r)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	bundle, err := benchBundle()
	if err != nil {
		b.Fatal(err)
	}

	type row struct {
		engine string
		rt     ociRuntime
		once   func(n int) result
	}
	var rows []row
	for _, rt := range rts {
		rt := rt
		p := podmanClient{pod, rt}
		c := ctrClient{ctrd, rt}
		d := dockerClient{dock, rt}
		root := sb.path("bench-root", rt.Name)
		os.MkdirAll(root, 0o700)
		rows = append(rows,
			row{"podman", rt, func(n int) result {
				return p.run(b, p.runArgs("--rm", "--network", "none", podmanImage, "/bin/true")...)
			}},
			row{"ctr", rt, func(n int) result {
				id := fmt.Sprintf("e2e-bench-%s-%d", rt.Name, n+1)
				return c.ctr(b, c.runArgs(id, "--rm", podmanImage, id, "/bin/true")...)
			}},
			row{"docker", rt, func(n int) result {
				return d.docker(b, d.runArgs("--rm", "--network", "none", podmanImage, "/bin/true")...)
			}},
			row{"oci", rt, func(n int) result {
				return run(b, time.Minute, nil, rt.Path, "--root", root, "run", "--bundle", bundle, fmt.Sprintf("e2e-bench-%d", n+1))
			}},
		)
	}
	// One round first, untimed: the engines' caches, the page cache. A
	// pair that fails here (a runtime refusing an engine's config) is left
	// out of the timed rounds, its cell says why; the others still compare.
	refused := make(map[string]string)
	var ok []row
	for _, r := range rows {
		if res := r.once(-1); res.code != 0 {
			refused[r.engine+"/"+r.rt.Name] = lastLine(res.stderr + res.stdout)
			fmt.Printf("e2e: bench: %s with %s fails, left out:\n%s\n", r.engine, r.rt.Name, res)
			continue
		}
		ok = append(ok, r)
	}
	if len(ok) == 0 {
		b.Fatal("every engine failed with every runtime")
	}
	rows = ok
	times := make(map[string][]time.Duration)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range rows {
			r := rows[(i+j)%len(rows)]
			res := r.once(i)
			if res.code != 0 {
				b.Fatalf("%s with %s:\n%s", r.engine, r.rt.Name, res)
			}
			k := r.engine + "/" + r.rt.Name
			times[k] = append(times[k], res.dur)
		}
	}
	b.StopTimer()
	median := func(k string) time.Duration {
		d := append([]time.Duration(nil), times[k]...)
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		if len(d) == 0 {
			return 0
		}
		return d[len(d)/2]
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/1e6) }
	var tb strings.Builder
	fmt.Fprintf(&tb, "median of %d interleaved rounds, the same sandbox and image for all (%s)\n\n| | ", b.N, time.Now().UTC().Format("2006-01-02"))
	for _, rt := range rts {
		fmt.Fprintf(&tb, "%s | ", rt.Name)
	}
	tb.WriteString("\n|---|")
	for range rts {
		tb.WriteString("---|")
	}
	tb.WriteString("\n")
	for _, e := range []struct{ key, what string }{
		{"podman", "`podman run --rm --network none IMAGE /bin/true`"},
		{"ctr", "`ctr run --rm IMAGE ID /bin/true`"},
		{"docker", "`docker run --rm --network none IMAGE /bin/true`"},
		{"oci", "the runtime alone: `RUNTIME run --bundle B ID` (/bin/true)"},
	} {
		fmt.Fprintf(&tb, "| %s | ", e.what)
		for _, rt := range rts {
			if why, no := refused[e.key+"/"+rt.Name]; no {
				fmt.Fprintf(&tb, "fails: %s | ", strings.ReplaceAll(why, "|", "/"))
				continue
			}
			fmt.Fprintf(&tb, "%s | ", ms(median(e.key+"/"+rt.Name)))
		}
		tb.WriteString("\n")
	}
	// Paired per-round ratios against the last runtime listed (runc by
	// default): each round's pair ran back to back, so a load that comes
	// and goes hits both alike.
	ref := rts[len(rts)-1].Name
	for _, e := range []string{"podman", "ctr", "docker", "oci"} {
		fmt.Fprintf(&tb, "| %s: time / %s's, paired per round (median) | ", e, ref)
		for _, rt := range rts {
			a, r := times[e+"/"+rt.Name], times[e+"/"+ref]
			var q []float64
			for i := range a {
				if i < len(r) && r[i] > 0 {
					q = append(q, float64(a[i])/float64(r[i]))
				}
			}
			sort.Float64s(q)
			if len(q) == 0 {
				tb.WriteString("- | ")
				continue
			}
			fmt.Fprintf(&tb, "%.2fx | ", q[len(q)/2])
		}
		tb.WriteString("\n")
	}
	for _, e := range []string{"podman", "ctr", "docker"} {
		fmt.Fprintf(&tb, "| runtime alone / %s | ", e)
		for _, rt := range rts {
			if median(e+"/"+rt.Name) == 0 || median("oci/"+rt.Name) == 0 {
				tb.WriteString("- | ")
				continue
			}
			fmt.Fprintf(&tb, "%.0f%% | ", 100*float64(median("oci/"+rt.Name))/float64(median(e+"/"+rt.Name)))
		}
		tb.WriteString("\n")
	}
	fmt.Print(tb.String())
	os.MkdirAll(filepath.Join(sb.repo, "bin", "e2e"), 0o755)
	os.WriteFile(filepath.Join(sb.repo, "bin", "e2e", "bench-table.md"), []byte(tb.String()), 0o644)
	for k := range times {
		b.ReportMetric(float64(median(k))/1e6, "ms/"+strings.ReplaceAll(k, "/", "-"))
	}
}

// benchBundle is an OCI bundle of the busybox root running /bin/true, from
// runc's `spec` (the same config.json for every runtime).
func benchBundle() (string, error) {
	dir := sb.path("bench-bundle")
	err := sb.do("bench bundle", func() error {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		r := run(silent{}, time.Minute, nil, "/usr/sbin/runc", "spec", "--bundle", dir)
		if r.code != 0 {
			return fmt.Errorf("runc spec:\n%s", r)
		}
		b, err := os.ReadFile(filepath.Join(dir, "config.json"))
		if err != nil {
			return err
		}
		var spec map[string]any
		if err := json.Unmarshal(b, &spec); err != nil {
			return err
		}
		proc := spec["process"].(map[string]any)
		proc["args"] = []string{"/bin/true"}
		proc["terminal"] = false
		// runc's spec raises ambient capabilities that are not in the
		// inheritable set: runc only warns, rawns-oci refuses the config
		// (PR_CAP_AMBIENT_RAISE needs both). /bin/true needs none.
		if caps, ok := proc["capabilities"].(map[string]any); ok {
			delete(caps, "ambient")
		}
		spec["root"] = map[string]any{"path": filepath.Join(sb.repo, "bin", "rootfs"), "readonly": true}
		b, _ = json.MarshalIndent(spec, "", "\t")
		return os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
	})
	return dir, err
}

// lastLine is the last non-empty line of s, for a table cell.
func lastLine(s string) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(ls[len(ls)-1])
}
