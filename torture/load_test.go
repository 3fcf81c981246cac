//go:build linux && (amd64 || arm64)

package torture_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// openFDs counts this process's open fds.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// rssKiB reads this process's resident set size.
func rssKiB(t *testing.T) int {
	t.Helper()
	for _, line := range strings.Split(readString("/proc/self/status"), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

func settle() {
	runtime.GC()
	debug.FreeOSMemory()
}

// TestSpawnsInARow: many spawns from one process, every clone style in
// turn: afterwards the same open fds, no child left (zombie or not), and
// RSS grown by less than 2 MiB. The spawning process is spawnloop, built
// without -race (the race detector's own memory grows with every spawn).
// 3,000 by default, 10,000 under RAWNS_TORTURE=long.
func TestSpawnsInARow(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	n := count(3000, 10000)
	cmd := exec.Command(spawnloopBin, "-n", strconv.Itoa(n))
	stop := watchdog(t, cmd, 10*time.Minute)
	out, err := cmd.Output()
	stop()
	if err != nil {
		t.Fatalf("spawnloop: %v", err)
	}
	var r struct {
		N      int
		Before struct {
			FDs       int    `json:"fds"`
			FDList    string `json:"fd_list"`
			RSSKiB    int    `json:"rss_kib"`
			HeapInuse uint64 `json:"heap_inuse"`
		}
		After struct {
			FDs       int    `json:"fds"`
			FDList    string `json:"fd_list"`
			RSSKiB    int    `json:"rss_kib"`
			HeapInuse uint64 `json:"heap_inuse"`
		}
		Children string
		Error    string
		Elapsed  int64 `json:"elapsed_ns"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("spawnloop said %q: %v", out, err)
	}
	elapsed := time.Duration(r.Elapsed)
	t.Logf("%d spawns in %v (%v each); open fds %d -> %d; RSS %d -> %d KiB (%+d KiB); Go heap in use %d -> %d KiB",
		r.N, elapsed.Round(time.Millisecond), (elapsed / time.Duration(max(r.N, 1))).Round(time.Microsecond),
		r.Before.FDs, r.After.FDs, r.Before.RSSKiB, r.After.RSSKiB, r.After.RSSKiB-r.Before.RSSKiB, r.Before.HeapInuse>>10, r.After.HeapInuse>>10)
	if r.Error != "" || r.N != n {
		t.Fatalf("spawnloop: %s (n %d, want %d)", r.Error, r.N, n)
	}
	if r.After.FDs != r.Before.FDs {
		t.Errorf("open fds went from %d to %d over %d spawns: before %s; after %s", r.Before.FDs, r.After.FDs, n, r.Before.FDList, r.After.FDList)
	}
	if d := r.After.RSSKiB - r.Before.RSSKiB; d >= 2048 {
		t.Errorf("RSS grew by %d KiB over %d spawns, want less than 2 MiB", d, n)
	}
	if r.Children != "" {
		t.Errorf("after %d spawns: %s", n, r.Children)
	}
}

// TestSpawnsInARowInProcess: the same in this (possibly race-enabled) test
// process: fds, children and the Go heap must not grow. 500 by default,
// 2,000 under RAWNS_TORTURE=long.
func TestSpawnsInARowInProcess(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	n := count(500, 2000)
	spawn := func(i int) {
		s := testutil.CloneStyles[i%len(testutil.CloneStyles)]
		p, err := clone.Start(&clone.Spec{Path: "/bin/true", Namespaces: clone.NewPID | clone.NewUTS, Hostname: "load", Mode: s.Mode, Syscall: s.Syscall})
		if err != nil {
			t.Fatalf("spawn %d (%s): %v", i, s.Name, err)
		}
		st, err := p.Wait()
		if err != nil || st.ExitCode() != 0 {
			t.Fatalf("spawn %d (%s): %v, %v", i, s.Name, st, err)
		}
	}
	heap := func() uint64 {
		settle()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	for i := 0; i < 100; i++ {
		spawn(i)
	}
	fds0, heap0 := openFDs(t), heap()
	for i := 0; i < n; i++ {
		spawn(i)
	}
	fds1, heap1 := openFDs(t), heap()
	t.Logf("%d spawns: open fds %d -> %d; Go heap in use %d -> %d KiB", n, fds0, fds1, heap0>>10, heap1>>10)
	if fds1 != fds0 {
		t.Errorf("open fds went from %d to %d over %d spawns", fds0, fds1, n)
	}
	if heap1 > heap0+2<<20 {
		t.Errorf("Go heap in use grew from %d to %d KiB over %d spawns", heap0>>10, heap1>>10, n)
	}
	testutil.AssertNoChildren(t)
}

// TestConcurrentSpawns: 8 goroutines spawning at once, each command with an
// exit code of its own; every status must come back to the right caller.
// 8 x 100 by default, 8 x 500 under RAWNS_TORTURE=long.
func TestConcurrentSpawns(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	const goroutines = 8
	each := count(100, 500)
	fds0 := openFDs(t)
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	start := time.Now()
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				code := (g*each + i) % 124
				s := testutil.CloneStyles[(g+i)%len(testutil.CloneStyles)]
				spec := &clone.Spec{Path: "/bin/sh", Args: []string{"sh", "-c", "exit " + strconv.Itoa(code)},
					Namespaces: clone.NewPID | clone.NewUTS, Hostname: "g" + strconv.Itoa(g), Mode: s.Mode, Syscall: s.Syscall}
				if i%10 == 0 {
					// Now and then a user namespace with maps: the fork-style
					// path with a parent step.
					spec.Namespaces |= clone.NewUser
					spec.UIDMap = []clone.IDMap{{Inside: 0, Outside: 0, Count: 1}}
					spec.GIDMap = []clone.IDMap{{Inside: 0, Outside: 0, Count: 1}}
					if spec.Mode == clone.ModeVfork {
						spec.Mode = clone.ModeAuto
					}
				}
				p, err := clone.Start(spec)
				if err != nil {
					errs <- fmt.Errorf("goroutine %d spawn %d: %v", g, i, err)
					continue
				}
				st, err := p.Wait()
				if err != nil || st.Signal != 0 || st.Code != code {
					errs <- fmt.Errorf("goroutine %d spawn %d (%s): %v, %v; want exit code %d", g, i, s.Name, st, err, code)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d x %d concurrent spawns in %v", goroutines, each, time.Since(start).Round(time.Millisecond))
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 10 {
			t.Error(err)
		}
	}
	if n > 10 {
		t.Errorf("... and %d more errors", n-10)
	}
	if fds1 := openFDs(t); fds1 != fds0 {
		t.Errorf("open fds went from %d to %d", fds0, fds1)
	}
	testutil.AssertNoChildren(t)
}

// TestCLIParallelBatches: rawns run started from a shell loop in parallel
// batches, with a mix of flags; every exit status must be the command's.
// 150 by default, 500 under RAWNS_TORTURE=long.
func TestCLIParallelBatches(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	n := count(150, 500)
	const batch = 25
	script := `n=$1 batch=$2 rawns=$3
i=0
while [ $i -lt $n ]; do
	j=0
	while [ $j -lt $batch ] && [ $i -lt $n ]; do
		case $((i % 5)) in
		0) flags="" ;;
		1) flags="--init" ;;
		2) flags="--clone fork --hostname h$i" ;;
		3) flags="--ns pid,uts,ipc,mnt --mount-proc" ;;
		4) flags="--ns user,pid,uts --map-root-user" ;;
		esac
		( "$rawns" run $flags -- sh -c "exit $((i % 124))"; echo "$i $?" ) &
		i=$((i+1)) j=$((j+1))
	done
	wait
done`
	cmd := exec.Command("sh", "-c", script, "sh", strconv.Itoa(n), strconv.Itoa(batch), rawnsBin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stop := watchdog(t, cmd, 5*time.Minute)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	got := make(map[int]int)
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var i, code int
		if _, err := fmt.Sscanf(sc.Text(), "%d %d", &i, &code); err != nil {
			t.Errorf("bad line %q", sc.Text())
			continue
		}
		if _, dup := got[i]; dup {
			t.Errorf("run %d reported twice", i)
		}
		got[i] = code
	}
	err = cmd.Wait()
	stop()
	if err != nil {
		t.Fatalf("shell loop: %v\n%s", err, stderr.String())
	}
	t.Logf("%d rawns runs in batches of %d in %v", n, batch, time.Since(start).Round(time.Millisecond))
	bad := 0
	for i := 0; i < n; i++ {
		code, ok := got[i]
		if !ok || code != i%124 {
			if bad++; bad <= 10 {
				t.Errorf("run %d: exit %d (reported %v), want %d", i, code, ok, i%124)
			}
		}
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr of the runs: %s", stderr.String())
	}
}
