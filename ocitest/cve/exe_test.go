package cve

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// CVE-2019-5736: a container whose program is "#!/proc/self/exe" makes
// the kernel run, as that script's interpreter, whatever binary the
// process starting it was running: the runtime's own, if the runtime
// execs the container's program from itself. A process in the container's
// PID namespace then opens /proc/PID/exe of that process (O_PATH), waits
// for it to exit, and reopens it for writing: runc's host binary was
// overwritten that way. The same holds for the runtime's process that
// joins the container for exec, if the container can open its exe.
//
// Here a watcher (the probe) runs as container A's process and does
// exactly that to every process it sees, appending a line to any exe it
// can open for writing. Container B joins A's PID namespace with
// "#!/proc/self/exe" as its program (the create path), and exec runs
// "#!/proc/self/exe" and /bin/true in A ten times each (the join path).
// The runtime's binary (the test's own copy) must keep its hash, and no
// exe handle may have been writable.
func TestCVE_2019_5736_RuntimeBinaryFromContainer(t *testing.T) {
	forEachRuntime(t, "CVE-2019-5736", func(t *testing.T, r *runner) error {
		before := sha(t, r.rt.path)
		evil := func(rootfs string) {
			if err := os.WriteFile(filepath.Join(rootfs, "evil"), []byte("#!/proc/self/exe\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		var rootA string
		a := r.bundle(func(s *specs.Spec, rootfs string) {
			rootA = rootfs
			evil(rootfs)
			s.Process.Args = []string{"/bin/sh", "-c", "exec >/tmp/result 2>&1; exec /ocitest-probe watch /stop"}
		})
		idA, pidA, err := r.create(a)
		if err != nil {
			t.Fatal(err)
		}
		if res := r.do("start", idA); res.err != nil {
			t.Fatalf("start: %v", res)
		}
		b := r.bundle(func(s *specs.Spec, rootfs string) {
			evil(rootfs)
			s.Process.Args = []string{"/evil"}
			for i, ns := range s.Linux.Namespaces {
				if ns.Type == "pid" {
					s.Linux.Namespaces[i].Path = "/proc/" + strconv.Itoa(pidA) + "/ns/pid"
				}
			}
		})
		starts := 0
		if idB, _, err := r.create(b); err != nil {
			t.Logf("create of the #!/proc/self/exe container refused: %v", err)
		} else if res := r.do("start", idB); res.err != nil {
			t.Logf("start of the #!/proc/self/exe container: %v", res)
		} else {
			starts++
			r.waitStopped(idB)
		}
		for range 10 {
			if res := r.do("exec", idA, "/evil"); res.err == nil {
				starts++
			}
			if res := r.do("exec", idA, "/bin/true"); res.err == nil {
				starts++
			}
		}
		// A process that lives long enough for the watcher to open its
		// exe (busybox, the container's own): proof that it can. Where
		// the hole is open, the watcher may hold the runtime's binary
		// open for writing right then, and its execve(2) fails with
		// ETXTBSY: that is the hole, seen from the host (a reopened
		// build hit it in CI on 2026-12-07, the test failing instead of
		// finding it).
		var holes []string
		if res := r.do("exec", idA, "/bin/sleep", "0.5"); errors.Is(res.err, syscall.ETXTBSY) {
			holes = append(holes, fmt.Sprintf("the runtime's binary %s was open for writing (exec: %v)", r.rt.path, res.err))
		} else if res.err != nil {
			t.Fatalf("exec sleep: %v", res)
		}
		if err := os.WriteFile(filepath.Join(rootA, "stop"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := r.waitStopped(idA); err != nil {
			t.Fatal(err)
		}
		report, _ := os.ReadFile(filepath.Join(rootA, "tmp/result"))
		rep := string(report)
		t.Logf("%d of 21 processes reported started; the watcher: %s", starts, strings.TrimSpace(rep))
		var seen, handles, own int
		if _, err := fmt.Sscanf(rep, "processes seen %d, exe handles %d, of the container's own files %d", &seen, &handles, &own); err != nil {
			t.Fatalf("no report from the watcher: %q", rep)
		}
		if (seen < 10 || own < 1) && len(holes) == 0 {
			t.Fatalf("the watcher saw %d processes and opened the exe of %d of the container's own: it proves nothing", seen, own)
		}
		if after := sha(t, r.rt.path); after != before {
			holes = append(holes, fmt.Sprintf("the runtime's binary %s changed (sha256 %s -> %s)", r.rt.path, before[:12], after[:12]))
		}
		for _, line := range strings.Split(rep, "\n") {
			if strings.Contains(line, "opened for writing") {
				holes = append(holes, "from the container: "+line)
			}
		}
		if len(holes) > 0 {
			return fmt.Errorf("%s", strings.Join(holes, "; "))
		}
		return nil
	})
}
