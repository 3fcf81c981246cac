//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// BenchmarkNetwork is what a network costs a container's start, for podman
// and for rawns run, on the same job (make e2e-net-bench; issue 23;
// docs/benchmarks.md): /bin/true in the busybox root of `make rootfs`,
// timed from the client's start to its exit, with no network of its own,
// with a network namespace holding only lo, and on a bridge. podman's
// bridge is its default network through Debian's CNI plugins (bridge,
// host-local, portmap, firewall, tuning, exec'd); rawns's is --network
// bridge (the rawns-net helper, in process netlink and nftables). Both run
// in the sandbox's own network namespace, so the bridges, veths and rules
// they make never reach the host's.
//
// Every row runs once per round, in an order that rotates each round, b.N
// rounds; the figures that matter are the paired per-round differences
// (bridge minus none for podman, bridge minus plain for rawns), which a
// load that comes and goes hits alike.
func BenchmarkNetwork(b *testing.B) {
	rts := runtimesUnderTest(b, "podman")
	rt := rts[len(rts)-1] // podman's runtime: the last asked (make e2e-net-bench: runc)
	pod := podmanClient{getPodman(b, rts), rt}
	rawns := filepath.Join(sb.repo, "bin", "rawns")
	root := filepath.Join(sb.repo, "bin", "rootfs")
	rawnsRun := func(args ...string) func() result {
		argv := append(append([]string{"run"}, args...), "--rootfs", root, "--", "/bin/true")
		return func() result { return run(b, time.Minute, nil, rawns, argv...) }
	}
	podmanRun := func(network string) func() result {
		return func() result {
			return pod.run(b, pod.runArgs("--rm", "--network", network, podmanImage, "/bin/true")...)
		}
	}
	rows := []struct {
		key, what string
		once      func() result
	}{
		{"podman-none", "`podman run --rm --network none IMAGE /bin/true`", podmanRun("none")},
		{"podman-bridge", "`podman run --rm --network bridge IMAGE /bin/true`", podmanRun("bridge")},
		{"rawns", "`rawns run --rootfs R -- /bin/true`", rawnsRun()},
		{"rawns-none", "`rawns run --network none --rootfs R -- /bin/true`", rawnsRun("--network", "none")},
		{"rawns-bridge", "`rawns run --network bridge --rootfs R -- /bin/true`", rawnsRun("--network", "bridge")},
	}
	// One round first, untimed: podman's default network and rawns0 are
	// created, the caches warm.
	for _, r := range rows {
		if res := r.once(); res.code != 0 {
			b.Fatalf("%s:\n%s", r.key, res)
		}
	}
	times := make(map[string][]time.Duration)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range rows {
			r := rows[(i+j)%len(rows)]
			res := r.once()
			if res.code != 0 {
				b.Fatalf("%s:\n%s", r.key, res)
			}
			times[r.key] = append(times[r.key], res.dur)
		}
	}
	b.StopTimer()
	median := func(d []float64) float64 {
		d = append([]float64(nil), d...)
		sort.Float64s(d)
		if len(d) == 0 {
			return 0
		}
		return d[len(d)/2]
	}
	ms := func(k string) []float64 {
		var d []float64
		for _, t := range times[k] {
			d = append(d, float64(t)/1e6)
		}
		return d
	}
	diff := func(a, b string) float64 {
		x, y := ms(a), ms(b)
		var d []float64
		for i := range x {
			if i < len(y) {
				d = append(d, x[i]-y[i])
			}
		}
		return median(d)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	var tb strings.Builder
	fmt.Fprintf(&tb, "median of %d interleaved rounds, podman with %s, the same busybox root for all (%s, load average %s)\n\n",
		b.N, rt.Name, time.Now().UTC().Format("2006-01-02"), strings.Join(strings.Fields(string(load))[:3], " "))
	tb.WriteString("| job | median |\n|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&tb, "| %s | %.1f ms |\n", r.what, median(ms(r.key)))
	}
	fmt.Fprintf(&tb, "| podman: `--network bridge` minus `--network none`, paired per round (median) | %+.1f ms |\n", diff("podman-bridge", "podman-none"))
	fmt.Fprintf(&tb, "| rawns: `--network bridge` minus no `--network`, paired per round (median) | %+.1f ms |\n", diff("rawns-bridge", "rawns"))
	fmt.Fprintf(&tb, "| rawns: `--network none` minus no `--network`, paired per round (median) | %+.1f ms |\n", diff("rawns-none", "rawns"))
	fmt.Print(tb.String())
	os.MkdirAll(filepath.Join(sb.repo, "bin", "e2e"), 0o755)
	os.WriteFile(filepath.Join(sb.repo, "bin", "e2e", "net-bench-table.md"), []byte(tb.String()), 0o644)
	for k := range times {
		b.ReportMetric(median(ms(k)), "ms/"+k)
	}
}
