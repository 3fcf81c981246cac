package bpf

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/testutil"
)

// BenchmarkLoadExecTracer measures what `rawns run --trace` pays: loading
// and attaching in a fresh process (a re-exec of the test binary, so no
// cache in memory is warm), reported as load-ms (timed inside the child),
// with and without the minimal BTF cache; and warm, in-process loads.
func BenchmarkLoadExecTracer(b *testing.B) {
	testutil.RequireRoot(b)
	dir := b.TempDir()
	fresh := func(b *testing.B, cacheDir string) {
		var total time.Duration
		var hook string
		for b.Loop() {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), "RAWNS_TRACE_HELPER=load", "RAWNS_TRACE_HELPER_DIR="+cacheDir)
			out, err := cmd.Output()
			if err != nil {
				b.Fatalf("%v: %s", err, out)
			}
			f := strings.Fields(string(out))
			ns, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				b.Fatalf("helper said %q", out)
			}
			total += time.Duration(ns)
			hook = strings.Join(f[2:], " ")
		}
		b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "load-ms")
		b.Logf("hook: %s", hook)
	}
	b.Run("fresh-process/kernel-btf", func(b *testing.B) { fresh(b, "") })
	b.Run("fresh-process/cached-minimal-btf", func(b *testing.B) {
		// Prime the cache once.
		tr, err := loadExecTracer(os.Getpid(), loadOpts{first: hookBTF, btfCacheDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		tr.Close()
		fresh(b, dir)
	})
	b.Run("in-process", func(b *testing.B) {
		for b.Loop() {
			tr, err := loadExecTracer(os.Getpid(), loadOpts{first: hookBTF, btfCacheDir: dir})
			if err != nil {
				b.Fatal(err)
			}
			tr.Close()
		}
	})
}

// BenchmarkExecUnrelated measures what the attached program costs a process
// outside the target tree: fork+exec+wait of /bin/true without and with the
// tracer attached (the delta per op is the cost; it drowns in the noise of
// a 1 ms exec here), and the program's own run time per exec from the
// kernel's BPF statistics (bpf-ns/exec), which does not.
func BenchmarkExecUnrelated(b *testing.B) {
	testutil.RequireRoot(b)
	// The target is a sleeping process that is nobody's ancestor, so every
	// exec below walks the whole bounded real_parent chain and is dropped.
	target := exec.Command("sleep", "3600")
	if err := target.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { target.Process.Kill(); target.Wait() }()
	run := func(b *testing.B) {
		for b.Loop() {
			if err := exec.Command("/bin/true").Run(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("detached", run)
	b.Run("attached", func(b *testing.B) {
		stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
		if err != nil {
			b.Fatal(err)
		}
		defer stats.Close()
		tr, err := LoadExecTracer(target.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		defer tr.Close()
		run(b)
		var prog *ebpf.Program
		for _, p := range tr.coll.Programs {
			prog = p
		}
		st, err := prog.Stats()
		if err != nil {
			b.Fatal(err)
		}
		if st.RunCount > 0 {
			b.ReportMetric(float64(st.Runtime.Nanoseconds())/float64(st.RunCount), "bpf-ns/exec")
		}
	})
}
