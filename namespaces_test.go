package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/kernel"
	"github.com/rawns/rawns/internal/testutil"
)

// nsScript prints "kind inode" for every namespace kind of the process it
// runs in.
const nsScript = `for k in pid uts mnt ipc net user cgroup time; do echo "$k $(readlink /proc/self/ns/$k)"; done`

func TestEachNamespaceKindIsNew(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	parent := testutil.SnapshotHost(t).Namespaces
	sets := []string{"all"}
	for _, k := range clone.Kinds {
		sets = append(sets, k.Name)
	}
	for _, set := range sets {
		want, err := clone.ParseNamespaces(set)
		if err != nil {
			t.Fatal(err)
		}
		for _, style := range []string{"vfork", "fork"} {
			r := rawnsRun(t, "run", "--ns", set, "--clone", style, "--", "sh", "-c", nsScript)
			if style == "vfork" && want&clone.NewTime != 0 && !kernel.AtLeast(6, 2) {
				// Before 6.2 execve does not move a vfork-style child into
				// its time namespace: refused (clone.Spec.Validate).
				if r.code != 125 || !strings.Contains(r.stderr, "before Linux 6.2") {
					t.Errorf("--ns %s --clone vfork before Linux 6.2: exit %d, %q; want the refusal", set, r.code, r.stderr)
				}
				continue
			}
			if r.code != 0 {
				t.Fatalf("--ns %s --clone %s: exit %d: %s", set, style, r.code, r.stderr)
			}
			for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
				kind, link, _ := strings.Cut(line, " ")
				var flag clone.Namespaces
				for _, k := range clone.Kinds {
					if k.Name == kind {
						flag = k.Flag
					}
				}
				isNew := link != parent[kind]
				if isNew != (want&flag != 0) {
					t.Errorf("--ns %s --clone %s: %s namespace is %s in the child and %s in the parent; new=%v, want new=%v",
						set, style, kind, link, parent[kind], isNew, want&flag != 0)
				}
			}
		}
	}
}

func TestMountProcShowsOnlyTheContainer(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	r := rawnsRun(t, "run", "--ns", "pid,mnt", "--mount-proc", "--", "ps", "-e", "-o", "pid=,comm=")
	if strings.TrimSpace(r.stdout) != "1 ps" || r.code != 0 {
		t.Fatalf("ps -e with --mount-proc: %+v; want exactly one process, ps as pid 1", r)
	}
	// --mount-proc adds mnt by itself.
	r = rawnsRun(t, "run", "--mount-proc", "--", "sh", "-c", "echo /proc/[0-9]*")
	if strings.TrimSpace(r.stdout) != "/proc/1" {
		t.Fatalf("--mount-proc with the default --ns: %+v; want /proc/1 alone", r)
	}
}

func TestMountPropagation(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	dir := t.TempDir()
	// A mount made inside stays inside (CheckHostUnchanged compares the
	// host's mount table too).
	r := rawnsRun(t, "run", "--ns", "mnt", "--", "sh", "-c", "mount -t tmpfs none "+dir+" && touch "+dir+"/inside && ls "+dir)
	if r.code != 0 || strings.TrimSpace(r.stdout) != "inside" {
		t.Fatalf("mount inside: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "inside")); err == nil {
		t.Fatal("a file written to a tmpfs mounted inside appeared on the host")
	}

	// A shared mount on the host, to see what each mode makes of it inside
	// (its optional fields in proc_pid_mountinfo(5)). Unmounted before the
	// host check above runs.
	shared := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "--make-shared", "rawns-test", shared).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", shared).Run() })
	for mode, want := range map[string]func(string) bool{
		"private":   func(tags string) bool { return tags == "-" },
		"slave":     func(tags string) bool { return strings.HasPrefix(tags, "master:") },
		"unchanged": func(tags string) bool { return strings.HasPrefix(tags, "shared:") },
		"shared":    func(tags string) bool { return strings.HasPrefix(tags, "shared:") },
	} {
		r := rawnsRun(t, "run", "--ns", "mnt", "--propagation", mode, "--", "awk", `$5 == "`+shared+`" { print $7 }`, "/proc/self/mountinfo")
		if r.code != 0 || !want(strings.TrimSpace(r.stdout)) {
			t.Errorf("--propagation %s: the shared host mount has tags %q inside (%s)", mode, strings.TrimSpace(r.stdout), r.stderr)
		}
	}
}

func TestNetworkNamespaceHasLoopbackUp(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r := rawnsRun(t, "run", "--ns", "net,pid", "--env", "RAWNS_TEST_HELPER=loopback", "--", self)
	if r.code != 0 || strings.TrimSpace(r.stdout) != "loopback ok" {
		t.Fatalf("TCP over 127.0.0.1 inside a new network namespace: %+v", r)
	}
	r = rawnsRun(t, "run", "--ns", "net", "--", "ip", "-o", "link")
	if r.code != 0 || strings.Count(r.stdout, "\n") != 1 || !strings.Contains(r.stdout, "lo:") || !strings.Contains(r.stdout, "UP") {
		t.Fatalf("ip link inside: %+v; want lo alone, up", r)
	}
}

// loopbackHelper runs inside the network namespace: a TCP round trip over
// 127.0.0.1.
func loopbackHelper() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Write([]byte("ok"))
			c.Close()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		fmt.Println(err)
		return 1
	}
	buf := make([]byte, 2)
	if _, err := c.Read(buf); err != nil || string(buf) != "ok" {
		fmt.Println("read:", err)
		return 1
	}
	fmt.Println("loopback ok")
	return 0
}

// TestTimeNamespace: the command itself is in the new time namespace,
// with the offsets asked for, not only the processes it forks: it reads
// /proc/uptime and its own ns link as the exec'd program. Before Linux 6.2
// execve does not move a vfork-style child there (clone.Spec's
// execEntersTimeNamespace), so this fails on such a kernel unless the
// child is fork-style and enters it itself; --clone fork and --init take
// that path on any kernel.
func TestTimeNamespace(t *testing.T) {
	testutil.RequireRoot(t)
	host, _ := os.Readlink("/proc/self/ns/time")
	for _, v := range [][]string{{}, {"--clone", "fork"}, {"--init"}} {
		args := append(append([]string{"run", "--ns", "time,pid"}, v...), "--boottime", "864000", "--monotonic", "-1.5", "--")
		r := rawnsRun(t, append(args, "cat", "/proc/self/timens_offsets", "/proc/uptime")...)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if r.code != 0 || len(lines) != 3 {
			t.Fatalf("%v: time offsets: %+v", v, r)
		}
		if f := strings.Fields(lines[0]); len(f) != 3 || f[1] != "-2" || f[2] != "500000000" {
			t.Errorf("%v: monotonic offset line %q, want -2 500000000", v, lines[0])
		}
		up, _ := strconv.Atoi(strings.SplitN(lines[2], ".", 2)[0])
		if up < 864000 {
			t.Errorf("%v: the command's uptime is %d s, want at least the 864000 s boottime offset", v, up)
		}
		r = rawnsRun(t, append(args, "readlink", "/proc/self/ns/time")...)
		if r.code != 0 || strings.TrimSpace(r.stdout) == host {
			t.Errorf("%v: with offsets, the command is in %q, the host in %q", v, r.stdout, host)
		}
		// Without offsets, still a new time namespace (by clone3).
		r = rawnsRun(t, append(append([]string{"run", "--ns", "time,pid"}, v...), "--", "readlink", "/proc/self/ns/time")...)
		if r.code != 0 || strings.TrimSpace(r.stdout) == host {
			t.Errorf("%v --ns time: the command is in %q, the host in %q", v, r.stdout, host)
		}
	}
}

func TestInitReapsOrphans(t *testing.T) {
	testutil.RequireRoot(t)
	// A subshell starts a background sleep and exits at once: the sleep is
	// orphaned and reparented to PID 1, and becomes a zombie when it ends
	// unless PID 1 reaps it. Without --init, PID 1 is the final `sleep`,
	// which never waits: that control proves the scenario makes a zombie.
	script := `(sleep 0.1 &); echo ready; exec sleep 3`
	for _, v := range runVariants {
		init := len(v) > 0
		args := append([]string{"run"}, v...)
		cmd, _, _ := startRawns(t, nil, append(args, "--", "sh", "-c", script)...)
		// By now the orphan's sleep 0.1 has ended; give a loaded machine
		// up to 2 s more to show the control's zombie.
		time.Sleep(400 * time.Millisecond)
		zombies := countZombies(testutil.Descendants(cmd.Process.Pid))
		for i := 0; i < 80 && !init && zombies == 0; i++ {
			time.Sleep(25 * time.Millisecond)
			zombies = countZombies(testutil.Descendants(cmd.Process.Pid))
		}
		// SIGKILL, not SIGTERM: the control's PID 1 (sleep) has no
		// handler, so a SIGTERM only made rawns print its PID-1 hint to
		// this test binary's stderr (startRawns), a stray line in the log
		// of a failing run among other tests' output, and rawns ran on
		// until the cleanup killed it.
		cmd.Process.Kill()
		cmd.Wait()
		if init && zombies != 0 {
			t.Errorf("%v left %d zombies", v, zombies)
		}
		if !init && zombies != 1 {
			t.Errorf("control without --init: %d zombies, want 1", zombies)
		}
	}
	// PID 1 is rawns's init, the command its child, pid 2.
	for _, v := range runVariants[1:] {
		r := rawnsRun(t, append(append([]string{"run", "--ns", "pid,mnt", "--mount-proc"}, v...), "--", "sh", "-c", "cat /proc/1/comm; echo $PPID $$")...)
		if r.stdout != "rawns-init\n1 2\n" {
			t.Errorf("under %v: %q, want PID 1 named rawns-init and the command pid 2, its child", v, r.stdout)
		}
	}
}

func countZombies(pids []int) int {
	n := 0
	for _, p := range pids {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", p)); err == nil && !testutil.ProcessAlive(p) {
			n++
		}
	}
	return n
}

func TestRootless(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	if b, err := os.ReadFile("/proc/sys/kernel/unprivileged_userns_clone"); err == nil && strings.TrimSpace(string(b)) == "0" {
		t.Fatal("kernel.unprivileged_userns_clone=0: rootless mode cannot be tested on this machine")
	}
	asNobody := func(args ...string) result {
		cmd := exec.Command("setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", rawnsBin}, args...)...)
		cmd.Dir = "/"
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return result{stdout.String(), stderr.String(), code}
	}
	r := asNobody("run", "--ns", "user,pid,uts,mnt", "--map-root-user", "--mount-proc", "--", "id", "-u")
	if r.stdout != "0\n" || r.code != 0 {
		t.Fatalf("rootless --map-root-user id -u: %+v", r)
	}
	r = asNobody("run", "--ns", "user,pid,uts,mnt", "--map-root-user", "--mount-proc", "--hostname", "rootless", "--", "sh", "-c", "hostname; ps -e -o pid= | wc -l; cat /proc/self/uid_map")
	if lines := strings.Fields(r.stdout); r.code != 0 || len(lines) != 5 || lines[0] != "rootless" || lines[1] != "3" || lines[2] != "0" || lines[3] != "65534" {
		t.Errorf("rootless hostname, ps and uid_map: %+v", r)
	}
	r = asNobody("run", "--ns", "user", "--map-user", "1000", "--map-group", "1000", "--", "id")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "uid=1000") || !strings.Contains(r.stdout, "gid=1000") {
		t.Errorf("--map-user 1000 --map-group 1000: %+v", r)
	}
	// Mapping an id one does not own is refused before anything starts.
	r = asNobody("run", "--ns", "user", "--map-user", "0:0", "--", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "--map-user \"0:0\": without privilege you may map only your own uid 65534") {
		t.Errorf("mapping uid 0 as nobody: %+v", r)
	}
	// Without a user namespace nobody may create the others.
	r = asNobody("run", "--ns", "pid,uts", "--", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "needs root or CAP_SYS_ADMIN") {
		t.Errorf("pid,uts as nobody: %+v", r)
	}
}
