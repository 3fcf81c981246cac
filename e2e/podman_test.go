//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// podmanImage is the busybox root of `make rootfs`, imported with podman
// import; podman save writes it out for ctr and docker.
const podmanImage = "localhost/rawns-e2e/busybox:latest"

// podmanEngine is podman 4.3 with a containers.conf and storage.conf of the
// run's own (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF): cgroupfs (no
// systemd here), CNI networking with Debian's plugins, every directory in
// the temporary one.
type podmanEngine struct {
	env     []string
	archive string // podman save of podmanImage, docker-archive format
}

var podmanShared podmanEngine

func getPodman(t testing.TB, rts []ociRuntime) *podmanEngine {
	t.Helper()
	err := sb.do("podman", func() error {
		dir := sb.path("podman")
		var supports, table []string
		for _, rt := range rts {
			supports = append(supports, strconv.Quote(filepath.Base(rt.Path)))
			table = append(table, fmt.Sprintf("%s = [%q]", rt.Name, rt.Path))
		}
		// runtime_supports_json: conmon passes --log-format=json to the
		// runtimes named here (by the basename of their path), and podman
		// then reads their errors from the log as JSON.
		conf := fmt.Sprintf(`[containers]
default_ulimits = []

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = %q
tmp_dir = %q
image_copy_tmp_dir = %q
runtime_supports_json = ["crun", "runc", "kata", "runsc", "krun", %s]

[engine.runtimes]
%s

[network]
network_backend = "cni"
network_config_dir = %q
cni_plugin_dirs = ["/usr/lib/cni"]
`, filepath.Join(dir, "events.log"), filepath.Join(dir, "tmp"), filepath.Join(dir, "tmp"), strings.Join(supports, ", "),
			strings.Join(table, "\n"), filepath.Join(dir, "cni"))
		storage := fmt.Sprintf("[storage]\ndriver = \"overlay\"\ngraphroot = %q\nrunroot = %q\n",
			filepath.Join(dir, "root"), filepath.Join(dir, "runroot"))
		// The static and volume directories stay podman's defaults below
		// graphroot: conmon's exit command (podman container cleanup)
		// passes --root, from which podman derives them, and refuses a
		// database made with others.
		for _, d := range []string{"tmp", "cni"} {
			os.MkdirAll(filepath.Join(dir, d), 0o755)
		}
		if err := writeFile(filepath.Join(dir, "containers.conf"), conf); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(dir, "storage.conf"), storage); err != nil {
			return err
		}
		podmanShared.env = []string{
			"CONTAINERS_CONF=" + filepath.Join(dir, "containers.conf"),
			"CONTAINERS_STORAGE_CONF=" + filepath.Join(dir, "storage.conf"),
			"CONTAINERS_REGISTRIES_CONF=" + filepath.Join(dir, "registries.conf"),
		}
		if err := writeFile(filepath.Join(dir, "registries.conf"), "unqualified-search-registries = []\n"); err != nil {
			return err
		}
		// podman keeps /run/netns a bind mount of itself for the
		// network namespaces it names, and c/storage its graph root's
		// overlay directory a private bind mount, for as long as the
		// machine runs: engine state, undone here after the last test.
		sb.hook(true, func() []string {
			return listLeft("podman container", podmanShared.env, "podman", "ps", "-a", "--format", "{{.Names}}")
		})
		sb.hook(false, func() []string {
			return append(unmountLeft("/run/netns"), unmountLeft(filepath.Join(dir, "root", "overlay"))...)
		})
		tarball, err := rootfsTar()
		if err != nil {
			return err
		}
		if r := run(t, 2*time.Minute, podmanShared.env, "podman", "import", "--quiet", tarball, podmanImage); r.code != 0 {
			return fmt.Errorf("podman import:\n%s", r)
		}
		podmanShared.archive = sb.path("images", "busybox-docker-archive.tar")
		if r := run(t, 2*time.Minute, podmanShared.env, "podman", "save", "--quiet", "--format", "docker-archive", "-o", podmanShared.archive, podmanImage); r.code != 0 {
			return fmt.Errorf("podman save:\n%s", r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return &podmanShared
}

// rootfsTar packs bin/rootfs (make rootfs: Debian's busybox-static) into
// a tarball, once per run.
func rootfsTar() (string, error) {
	out := sb.path("images", "busybox-rootfs.tar")
	err := sb.do("rootfs tarball", func() error {
		os.MkdirAll(filepath.Dir(out), 0o755)
		return tarDir(filepath.Join(sb.repo, "bin/rootfs"), out)
	})
	return out, err
}

// podmanClient runs podman with one runtime: `podman --runtime PATH`.
type podmanClient struct {
	eng *podmanEngine
	rt  ociRuntime
}

func (p podmanClient) run(t testing.TB, args ...string) result {
	t.Helper()
	return run(t, 90*time.Second, p.eng.env, "podman", append([]string{"--runtime", p.rt.Path}, args...)...)
}

// runArgs are the flags of every `podman run`: the machine's hard nofile
// limit (20000) is below podman's default (1048576), and a runtime must
// refuse what it cannot set, so the test asks for what this machine allows;
// the cgroup parent is the run's own.
func (p podmanClient) runArgs(args ...string) []string {
	return append([]string{"run", "--pull", "never", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
		"--cgroup-parent", sb.cgroup + "/podman"}, args...)
}

func (p podmanClient) name(what string) string { return "e2e-" + p.rt.Name + "-" + what }

func (p podmanClient) inspect(t testing.TB, ctr, format string) string {
	t.Helper()
	return strings.TrimSpace(must(t, p.run(t, "inspect", "--format", format, ctr)).stdout)
}

func TestPodman(t *testing.T) {
	t.Parallel()
	timeStage(t)
	rts := runtimesUnderTest(t, "podman")
	eng := getPodman(t, rts)
	for _, rt := range rts {
		rt := rt
		t.Run(rt.Name, func(t *testing.T) {
			t.Parallel()
			timeStage(t)
			record(t, "podman", rt.Name)
			p := podmanClient{eng, rt}
			t.Run("output", parallel(p.testOutput))
			t.Run("exit-codes", parallel(p.testExitCodes))
			t.Run("tty", parallel(p.testTTY))
			t.Run("detached", parallel(p.testDetached))
			t.Run("stop", parallel(p.testStop))
			t.Run("kill", parallel(p.testKill))
			t.Run("limits", parallel(p.testLimits))
			runCase(t, "podman", rt.Name, "read-only", p.testReadOnly)
			runCase(t, "podman", rt.Name, "user", p.testUser)
			t.Run("volumes", parallel(p.testVolumes))
			t.Run("network", parallel(p.testNetwork))
			t.Run("rm-leaves-nothing", parallel(p.testRmLeavesNothing))
		})
	}
}

// testOutput: run --rm, the container's stdout and stderr apart, and
// --network none (only lo).
func (p podmanClient) testOutput(t *testing.T) {
	r := p.run(t, p.runArgs("--rm", "--network", "none", podmanImage, "sh", "-c", "echo hello from "+p.rt.Name+"; ls /sys/class/net; echo err >&2")...)
	wantCode(t, r, 0)
	wantOut(t, r, "hello from "+p.rt.Name+"\nlo")
	if strings.TrimSpace(r.stderr) != "err" {
		t.Errorf("want stderr \"err\":\n%s", r)
	}
}

// testExitCodes: the command's status, and podman's 126 (found, cannot be
// run) and 127 (not found), which podman derives from the runtime's error
// message in its JSON log. (0 is every other test's.)
func (p podmanClient) testExitCodes(t *testing.T) {
	for _, c := range []struct {
		name string
		cmd  []string
		code int
	}{
		{"7", []string{"sh", "-c", "exit 7"}, 7},
		{"126-not-executable", []string{"/etc/passwd"}, 126},
		{"127-not-found", []string{"/no/such/command"}, 127},
		{"127-not-in-path", []string{"no-such-command"}, 127},
	} {
		r := p.run(t, append(p.runArgs("--rm", "--network", "none", podmanImage), c.cmd...)...)
		if r.code != c.code {
			t.Errorf("%s: want exit %d:\n%s", c.name, c.code, r)
		}
	}
}

// testTTY: -t hands conmon a console socket; the runtime sends the pty
// master back through it. On a real terminal of 33x111, the container's
// terminal has that size and is a tty.
func (p podmanClient) testTTY(t *testing.T) {
	out, code := onPTY(t, 33, 111, p.eng.env, "podman", append([]string{"--runtime", p.rt.Path},
		p.runArgs("--rm", "-t", "--network", "none", podmanImage, "sh", "-c", "stty size; tty; exit 3")...)...)
	if code != 3 || !strings.Contains(out, "33 111") || !strings.Contains(out, "/dev/pts/") {
		t.Errorf("podman run -t: want exit 3, \"33 111\" and a /dev/pts tty; got exit %d, %q", code, out)
	}
}

// testDetached: -d, then logs, exec (with and without -t), top, ps,
// pause/unpause, and rm -f of the running container.
func (p podmanClient) testDetached(t *testing.T) {
	name := p.name("detached")
	must(t, p.run(t, p.runArgs("-d", "--name", name, "--network", "none", podmanImage,
		"sh", "-c", "echo started; exec sleep 1000")...))
	defer p.run(t, "rm", "-f", "-t", "0", name)

	if err := waitFor(20*time.Second, func() error {
		if r := p.run(t, "logs", name); !strings.Contains(r.stdout, "started") {
			return fmt.Errorf("podman logs:\n%s", r)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	wantOut(t, p.run(t, "exec", name, "echo", "inside"), "inside")
	wantCode(t, p.run(t, "exec", name, "sh", "-c", "exit 5"), 5)
	wantCode(t, p.run(t, "exec", name, "/no/such/command"), 127)
	wantOut(t, p.run(t, "exec", "--user", "1000:1000", name, "id", "-u"), "1000")
	out, code := onPTY(t, 33, 111, p.eng.env, "podman", "--runtime", p.rt.Path, "exec", "-t", name, "sh", "-c", ttySize)
	if code != 0 || !strings.Contains(out, "33 111") || !strings.Contains(out, "/dev/pts/") {
		t.Errorf("podman exec -t: want \"33 111\" and a /dev/pts tty; got exit %d, %q", code, out)
	}
	if r := p.run(t, "top", name); r.code != 0 || !strings.Contains(r.stdout, "sleep 1000") {
		t.Errorf("podman top: want the sleep:\n%s", r)
	}
	if r := p.run(t, "ps", "--filter", "name="+name, "--format", "{{.Names}} {{.Status}}"); !strings.HasPrefix(r.stdout, name+" Up") {
		t.Errorf("podman ps: want %s Up:\n%s", name, r)
	}

	// pause freezes the container's cgroup (freezer v1, or v2's
	// cgroup.freeze: freezeState); unpause thaws.
	pid := p.inspect(t, name, "{{.State.Pid}}")
	must(t, p.run(t, "pause", name))
	if s := p.inspect(t, name, "{{.State.Status}}"); s != "paused" {
		t.Errorf("after pause: status %q, want paused", s)
	}
	if st := freezeState(t, pid); st != "FROZEN" {
		t.Errorf("after pause: its cgroup is %q, want FROZEN", st)
	}
	must(t, p.run(t, "unpause", name))
	if s := p.inspect(t, name, "{{.State.Status}}"); s != "running" {
		t.Errorf("after unpause: status %q, want running", s)
	}
	if st := freezeState(t, pid); st != "THAWED" {
		t.Errorf("after unpause: its cgroup is %q, want THAWED", st)
	}
	wantOut(t, p.run(t, "exec", name, "echo", "thawed"), "thawed")

	must(t, p.run(t, "rm", "-f", name))
	if r := p.run(t, "ps", "-a", "--filter", "name="+name, "--format", "{{.Names}}"); strings.TrimSpace(r.stdout) != "" {
		t.Errorf("rm -f: the container is still listed:\n%s", r)
	}
	if _, err := os.Stat("/proc/" + pid); err == nil {
		t.Errorf("rm -f: its process %s lives", pid)
	}
}

// testStop: stop sends SIGTERM, then SIGKILL after the timeout. A PID 1
// with no SIGTERM handler ignores SIGTERM (pid_namespaces(7)), so sleep
// dies only by the SIGKILL, after the timeout, with 137; a shell that
// traps SIGTERM exits at once with its own status.
func (p podmanClient) testStop(t *testing.T) {
	deaf, polite := p.name("stop-deaf"), p.name("stop-polite")
	must(t, p.run(t, p.runArgs("-d", "--name", deaf, "--network", "none", podmanImage, "sleep", "1000")...))
	defer p.run(t, "rm", "-f", "-t", "0", deaf)
	must(t, p.run(t, p.runArgs("-d", "--name", polite, "--network", "none", podmanImage,
		"sh", "-c", "trap 'exit 42' TERM; echo ready; while :; do sleep 0.1; done")...))
	defer p.run(t, "rm", "-f", "-t", "0", polite)
	waitFor(20*time.Second, func() error {
		if r := p.run(t, "logs", polite); !strings.Contains(r.stdout, "ready") {
			return fmt.Errorf("not ready")
		}
		return nil
	})

	r := must(t, p.run(t, "stop", "-t", "2", deaf))
	if r.dur < 2*time.Second {
		t.Errorf("stop -t 2 of a process that ignores SIGTERM returned after %v: SIGKILL came early", r.dur)
	}
	if c := p.inspect(t, deaf, "{{.State.ExitCode}}"); c != "137" {
		t.Errorf("stopped by SIGKILL: exit code %s, want 137", c)
	}
	r = must(t, p.run(t, "stop", "-t", "30", polite))
	if r.dur > 15*time.Second {
		t.Errorf("stop of a process that traps SIGTERM took %v: SIGTERM did not reach it", r.dur)
	}
	if c := p.inspect(t, polite, "{{.State.ExitCode}}"); c != "42" {
		t.Errorf("stopped by SIGTERM: exit code %s, want 42 (its trap's)", c)
	}
}

// testKill: kill gives 137 to the `podman run` in the foreground.
func (p podmanClient) testKill(t *testing.T) {
	fg := p.name("kill-fg")
	done := make(chan result, 1)
	go func() {
		done <- p.run(t, p.runArgs("--rm", "--name", fg, "--network", "none", podmanImage, "sleep", "1000")...)
	}()
	if err := waitFor(60*time.Second, func() error {
		if s := p.run(t, "inspect", "--format", "{{.State.Status}}", fg); strings.TrimSpace(s.stdout) != "running" {
			return fmt.Errorf("%s not running", fg)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	must(t, p.run(t, "kill", "--signal", "KILL", fg))
	wantCode(t, <-done, 137)
}

// testLimits: --memory and --pids-limit land in the container's cgroup and
// hold: a process that eats memory is OOM-killed (137), a fork loop is
// refused.
func (p podmanClient) testLimits(t *testing.T) {
	name := p.name("limits")
	must(t, p.run(t, p.runArgs("-d", "--name", name, "--network", "none", "--memory", "64m", "--pids-limit", "20",
		podmanImage, "sleep", "1000")...))
	defer p.run(t, "rm", "-f", "-t", "0", name)
	pid := p.inspect(t, name, "{{.State.Pid}}")
	if v := cgroupFile(t, pid, "memory", "memory.limit_in_bytes"); v != "67108864" {
		t.Errorf("--memory 64m: memory.limit_in_bytes %q, want 67108864", v)
	}
	if v := cgroupFile(t, pid, "pids", "pids.max"); v != "20" {
		t.Errorf("--pids-limit 20: pids.max %q, want 20", v)
	}
	// 20 children do not all start under --pids-limit 10 (ash gives up at
	// the first fork that fails); tail, which keeps a line in memory until
	// its newline (and /dev/zero has none), is OOM-killed under --memory.
	r := p.run(t, p.runArgs("--rm", "--network", "none", "--pids-limit", "10", podmanImage,
		"sh", "-c", "i=0; while [ $i -lt 20 ]; do sleep 30 & i=$((i+1)); done; echo all-forked")...)
	if r.code == 0 || !strings.Contains(r.stderr, "can't fork") {
		t.Errorf("--pids-limit 10: 20 children should not all start:\n%s", r)
	}
	wantCode(t, p.run(t, p.runArgs("--rm", "--network", "none", "--memory", "32m", podmanImage, "tail", "/dev/zero")...), 137)
}

// testReadOnly: --cap-drop CHOWN --read-only: chown refused, / read-only,
// /tmp a writable tmpfs (podman's, with tmpcopyup).
func (p podmanClient) testReadOnly(t *testing.T) {
	r := p.run(t, p.runArgs("--rm", "--network", "none", "--cap-drop", "CHOWN", "--read-only", podmanImage, "sh", "-c",
		"chown 1 /tmp 2>&1; echo chown=$?; touch /tmp/ok && echo tmp=ok; touch /not-ok 2>&1; echo root=$?")...)
	for _, want := range []string{"Operation not permitted", "chown=1", "tmp=ok", "Read-only file system", "root=1"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("--cap-drop CHOWN --read-only: want %q (chown refused, /tmp writable, / read-only):\n%s", want, r)
		}
	}
}

// testUser: --user UID:GID runs the command as them, without root's
// capabilities.
func (p podmanClient) testUser(t *testing.T) {
	wantOut(t, p.run(t, p.runArgs("--rm", "--network", "none", "--user", "1000:1001", podmanImage, "sh", "-c", "id -u; id -g; chown 1 /tmp 2>/dev/null || echo refused")...), "1000\n1001\nrefused")
}

// testVolumes: a bind-mounted host directory and a named volume.
func (p podmanClient) testVolumes(t *testing.T) {
	dir := sb.path("podman-vol-" + p.rt.Name)
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "in"), []byte("from the host\n"), 0o644)
	vol := p.name("vol")
	wantOut(t, p.run(t, p.runArgs("--rm", "--network", "none", "-v", dir+":/data", "-v", vol+":/v", podmanImage,
		"sh", "-c", "cat /data/in; echo from the container > /data/out; echo kept > /v/f")...), "from the host")
	if b, _ := os.ReadFile(filepath.Join(dir, "out")); string(b) != "from the container\n" {
		t.Errorf("-v: the container's write did not reach the host: %q", b)
	}
	wantOut(t, p.run(t, p.runArgs("--rm", "--network", "none", "-v", vol+":/v:ro", podmanImage, "sh", "-c", "cat /v/f; touch /v/g 2>&1")...),
		"kept\ntouch: /v/g: Read-only file system")
	must(t, p.run(t, "volume", "rm", vol))
}

// testNetwork: podman's default network (a CNI bridge, in the sandbox's
// network namespace) gives eth0 an address on 10.88.0.0/16 and a route to
// a server on the bridge's address. (--network none: testOutput.)
func (p podmanClient) testNetwork(t *testing.T) {
	url := serveHello(t, "10.88.0.1")
	r := p.run(t, p.runArgs("--rm", podmanImage, "sh", "-c", "ip -4 -o addr show eth0; wget -q -O - "+url)...)
	if r.code != 0 || !strings.Contains(r.stdout, "inet 10.88.") || !strings.Contains(r.stdout, "hello from the sandbox") {
		t.Errorf("default network: want an address on 10.88.0.0/16 and the server's answer:\n%s", r)
	}
}

// testRmLeavesNothing: after a `run --rm` container ends (killed here, so
// the test does not race its end), its cgroup, its root filesystem mount,
// the runtime's state directory, podman's record and its process are gone.
func (p podmanClient) testRmLeavesNothing(t *testing.T) {
	name := p.name("rm")
	id := strings.TrimSpace(must(t, p.run(t, p.runArgs("-d", "--rm", "--name", name, "--network", "none", podmanImage, "sleep", "1000")...)).stdout)
	var pid, merged string
	if f := strings.Fields(p.inspect(t, name, "{{.State.Pid}} {{.GraphDriver.Data.MergedDir}}")); len(f) == 2 {
		pid, merged = f[0], f[1]
	} else {
		t.Fatalf("inspect: %q", f)
	}
	cgs := ownCgroups(t, pid)
	state := runtimeStateDirs(id, "/run")
	if len(state) == 0 {
		t.Errorf("no state directory named %s under /run while the container runs", id)
	}
	must(t, p.run(t, "kill", name))
	if err := waitFor(60*time.Second, func() error {
		if r := p.run(t, "container", "exists", name); r.code == 0 {
			return fmt.Errorf("%s still exists", name)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	checkGone(t, id, pid, cgs, merged, state)
}

// checkGone fails t if any trace of a removed container is left: its
// process, one of its cgroups (directories), a mount on its root or naming
// its id, its runtime's state directory.
func checkGone(t *testing.T, id, pid string, cgroups []string, rootfs string, state []string) {
	t.Helper()
	for _, l := range leftovers(id, pid, cgroups, rootfs, state) {
		t.Error(l)
	}
}

// leftovers lists what checkGone fails on, one line each.
func leftovers(id, pid string, cgroups []string, rootfs string, state []string) []string {
	var out []string
	if _, err := os.Stat("/proc/" + pid); err == nil {
		out = append(out, fmt.Sprintf("process %s of %s still exists: %s", pid, id, describeProcess(atoi(pid))))
	}
	for _, cg := range cgroups {
		if _, err := os.Stat(cg); err == nil {
			out = append(out, fmt.Sprintf("cgroup %s of %s is left", cg, id))
		}
	}
	ms, _ := readMounts()
	for _, m := range ms {
		if (rootfs != "" && m.target == rootfs) || strings.Contains(m.target, id) {
			out = append(out, fmt.Sprintf("mount left: %s", m))
		}
	}
	for _, d := range state {
		if _, err := os.Stat(d); err == nil {
			out = append(out, fmt.Sprintf("runtime state directory %s is left", d))
		}
	}
	return out
}

// runtimeStateDirs finds the directories named id in a runtime's state
// root below one of roots: /run/runc/ID for runc, /run/rawns/ID for rawns
// (podman passes no --root), and deeper for the runc shim's --root
// (containerd: /run/containerd/runc/NAMESPACE, dockerd:
// EXEC-ROOT/runtime-NAME/moby). Bundles and engines' own directories of
// the same name are not the runtime's.
func runtimeStateDirs(id string, roots ...string) []string {
	var out []string
	var pats []string
	for _, r := range roots {
		pats = append(pats, r+"/*/"+id, r+"/*/*/"+id, r+"/*/*/*/"+id)
	}
	for _, pat := range pats {
		m, _ := filepath.Glob(pat)
		for _, d := range m {
			if fi, err := os.Stat(d); err == nil && fi.IsDir() && !strings.Contains(d, "/containerd/io.containerd") &&
				!strings.Contains(d, "/libpod/") && !strings.Contains(d, "/podman/") {
				out = append(out, d)
			}
		}
	}
	return out
}

// cgroupPath is pid's cgroup in a v1 hierarchy, from /proc/PID/cgroup.
func cgroupPath(t testing.TB, pid, controller string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/cgroup")
	if err != nil {
		t.Fatalf("cgroup of %s: %v", pid, err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) == 3 {
			for _, c := range strings.Split(f[1], ",") {
				if c == controller {
					return f[2]
				}
			}
		}
	}
	t.Fatalf("pid %s has no %s cgroup:\n%s", pid, controller, b)
	return ""
}

// cgroupFile reads a file of pid's cgroup in a v1 hierarchy.
func cgroupFile(t testing.TB, pid, controller, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", controller, cgroupPath(t, pid, controller), file))
	if err != nil {
		t.Errorf("%s of pid %s: %v", file, pid, err)
	}
	return strings.TrimSpace(string(b))
}

// serveHello serves "hello from the sandbox" on a port of every address of
// the sandbox's network namespace, for the containers to reach through an
// engine's bridge at addr; it returns the URL on addr.
func serveHello(t *testing.T, addr string) string {
	t.Helper()
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello from the sandbox")
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return fmt.Sprintf("http://%s:%d/", addr, l.Addr().(*net.TCPAddr).Port)
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
