//go:build e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dockerBin is Debian's docker.io client, named by its path: another
// docker may come first in PATH.
const dockerBin = "/usr/bin/docker"

// dockerEngine is Debian's dockerd 20.10 with its own data-root, exec-root,
// socket and configuration file, and rawns added as a runtime by
// --add-runtime; it starts and manages a containerd of its own, which
// starts the runc shim v2 with the runtime as its BinaryName.
type dockerEngine struct {
	env []string
}

var dockerShared dockerEngine

func getDocker(t testing.TB, rts []ociRuntime) *dockerEngine {
	t.Helper()
	err := sb.do("dockerd", func() error {
		dir := sb.path("docker")
		sock := filepath.Join(dir, "docker.sock")
		conf := filepath.Join(dir, "daemon.json")
		if err := writeFile(conf, "{}\n"); err != nil {
			return err
		}
		args := []string{
			"--data-root", filepath.Join(dir, "root"), "--exec-root", filepath.Join(dir, "exec"),
			"--pidfile", filepath.Join(dir, "docker.pid"), "--host", "unix://" + sock,
			"--config-file", conf, "--cgroup-parent", sb.cgroup + "/docker",
			"--storage-driver", "overlay2", "--userland-proxy=false", "--log-level", "warn",
		}
		for _, rt := range rts {
			if rt.Name != "runc" { // dockerd's own runc is /usr/sbin/runc from PATH
				args = append(args, "--add-runtime", rt.Name+"="+rt.Path)
			}
		}
		if _, err := sb.startDaemon("dockerd", dialUnix(sock), "dockerd", args...); err != nil {
			return err
		}
		dockerShared.env = []string{"DOCKER_HOST=unix://" + sock, "DOCKER_CONFIG=" + filepath.Join(dir, "client")}
		sb.hook(true, func() []string {
			return listLeft("docker container", dockerShared.env, dockerBin, "ps", "-a", "--format", "{{.Names}}")
		})
		pod := getPodman(t, rts)
		if r := run(t, 2*time.Minute, dockerShared.env, dockerBin, "load", "-q", "-i", pod.archive); r.code != 0 {
			return fmt.Errorf("docker load of podman save's archive:\n%s", r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return &dockerShared
}

type dockerClient struct {
	eng *dockerEngine
	rt  ociRuntime
}

func (d dockerClient) docker(t testing.TB, args ...string) result {
	t.Helper()
	return run(t, 90*time.Second, d.eng.env, dockerBin, args...)
}

func (d dockerClient) runArgs(args ...string) []string {
	return append([]string{"run", "--runtime", d.rt.Name}, args...)
}

func (d dockerClient) name(what string) string { return "e2e-" + d.rt.Name + "-" + what }

func (d dockerClient) inspect(t testing.TB, ctr, format string) string {
	t.Helper()
	return strings.TrimSpace(must(t, d.docker(t, "inspect", "--format", format, ctr)).stdout)
}

func TestDocker(t *testing.T) {
	t.Parallel()
	timeStage(t)
	rts := runtimesUnderTest(t, "docker")
	eng := getDocker(t, rts)
	r := run(t, time.Minute, eng.env, dockerBin, "info", "--format", "{{json .Runtimes}}")
	for _, rt := range rts {
		if !strings.Contains(r.stdout, fmt.Sprintf("%q", rt.Name)) {
			t.Errorf("docker info does not list runtime %s:\n%s", rt.Name, r)
		}
	}
	for _, rt := range rts {
		rt := rt
		t.Run(rt.Name, func(t *testing.T) {
			t.Parallel()
			timeStage(t)
			record(t, "docker", rt.Name)
			d := dockerClient{eng, rt}
			t.Run("output", parallel(d.testOutput))
			t.Run("exit-codes", parallel(d.testExitCodes))
			t.Run("tty", parallel(d.testTTY))
			t.Run("detached", parallel(d.testDetached))
			t.Run("stop", parallel(d.testStop))
			t.Run("network", parallel(d.testNetwork))
			t.Run("rm-leaves-nothing", parallel(d.testRmLeavesNothing))
		})
	}
}

func (d dockerClient) testOutput(t *testing.T) {
	r := d.docker(t, d.runArgs("--rm", "--network", "none", podmanImage, "sh", "-c", "echo hello from "+d.rt.Name+"; echo err >&2")...)
	wantCode(t, r, 0)
	wantOut(t, r, "hello from "+d.rt.Name)
	if strings.TrimSpace(r.stderr) != "err" {
		t.Errorf("want stderr \"err\":\n%s", r)
	}
}

// testExitCodes: docker passes the status through, maps a command that
// cannot be run to 126 and one not found to 127 (from the runtime's error
// words), and SIGKILL to 137.
func (d dockerClient) testExitCodes(t *testing.T) {
	for _, c := range []struct {
		cmd  []string
		code int
	}{
		{[]string{"true"}, 0},
		{[]string{"sh", "-c", "exit 7"}, 7},
		{[]string{"/etc/passwd"}, 126},
		{[]string{"/no/such/command"}, 127},
	} {
		r := d.docker(t, append(d.runArgs("--rm", "--network", "none", podmanImage), c.cmd...)...)
		if r.code != c.code {
			t.Errorf("%v: want exit %d:\n%s", c.cmd, c.code, r)
		}
	}
	name := d.name("kill")
	must(t, d.docker(t, d.runArgs("-d", "--name", name, "--network", "none", podmanImage, "sleep", "1000")...))
	defer d.docker(t, "rm", "-f", name)
	must(t, d.docker(t, "kill", name))
	wantOut(t, d.docker(t, "wait", name), "137")
}

// ttySize prints the terminal's size once it is set: the docker 20.10
// client sets it with a resize call after the container started, not in
// the create request, and podman 4.3's exec -t has conmon resize the
// terminal while the process starts, not in process.consoleSize (podman
// issues 10560 and 10710; PR 28957 passes consoleSize), so at first it
// may be 0x0 (which busybox's stty size refuses: "stty: standard input").
const ttySize = `i=0; while [ $i -lt 100 ]; do s=$(stty size 2>/dev/null); [ -n "$s" ] && [ "$s" != "0 0" ] && break; i=$((i+1)); sleep 0.1; done; echo "$s"; tty`

// testTTY: docker run -it on a real terminal of 33x111.
func (d dockerClient) testTTY(t *testing.T) {
	out, code := onPTY(t, 33, 111, d.eng.env, dockerBin, d.runArgs("--rm", "-it", "--network", "none", podmanImage, "sh", "-c", ttySize+"; exit 3")...)
	if code != 3 || !strings.Contains(out, "33 111") || !strings.Contains(out, "/dev/pts/") {
		t.Errorf("docker run -it: want exit 3, \"33 111\" and a /dev/pts tty; got exit %d, %q", code, out)
	}
}

// testDetached: -d, then exec (with and without -t), logs, top, rm -f.
func (d dockerClient) testDetached(t *testing.T) {
	name := d.name("detached")
	must(t, d.docker(t, d.runArgs("-d", "--name", name, "--network", "none", podmanImage, "sh", "-c", "echo started; exec sleep 1000")...))
	defer d.docker(t, "rm", "-f", name)
	if err := waitFor(20*time.Second, func() error {
		if r := d.docker(t, "logs", name); !strings.Contains(r.stdout, "started") {
			return fmt.Errorf("docker logs:\n%s", r)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	wantOut(t, d.docker(t, "exec", name, "echo", "inside"), "inside")
	wantCode(t, d.docker(t, "exec", name, "sh", "-c", "exit 5"), 5)
	out, code := onPTY(t, 33, 111, d.eng.env, dockerBin, "exec", "-it", name, "sh", "-c", ttySize)
	if code != 0 || !strings.Contains(out, "33 111") || !strings.Contains(out, "/dev/pts/") {
		t.Errorf("docker exec -it: want \"33 111\" and a /dev/pts tty; got exit %d, %q", code, out)
	}
	if r := d.docker(t, "top", name); r.code != 0 || !strings.Contains(r.stdout, "sleep 1000") {
		t.Errorf("docker top: want the sleep:\n%s", r)
	}
	must(t, d.docker(t, "pause", name))
	if s := d.inspect(t, name, "{{.State.Status}}"); s != "paused" {
		t.Errorf("after pause: %q", s)
	}
	must(t, d.docker(t, "unpause", name))
	wantOut(t, d.docker(t, "exec", name, "echo", "thawed"), "thawed")
	must(t, d.docker(t, "rm", "-f", name))
	if r := d.docker(t, "ps", "-a", "--filter", "name="+name, "--format", "{{.Names}}"); strings.TrimSpace(r.stdout) != "" {
		t.Errorf("rm -f: still listed:\n%s", r)
	}
}

// testStop: SIGTERM, then SIGKILL after the timeout (see podman's).
func (d dockerClient) testStop(t *testing.T) {
	deaf, polite := d.name("stop-deaf"), d.name("stop-polite")
	must(t, d.docker(t, d.runArgs("-d", "--name", deaf, "--network", "none", podmanImage, "sleep", "1000")...))
	defer d.docker(t, "rm", "-f", deaf)
	must(t, d.docker(t, d.runArgs("-d", "--name", polite, "--network", "none", podmanImage,
		"sh", "-c", "trap 'exit 42' TERM; echo ready; while :; do sleep 0.1; done")...))
	defer d.docker(t, "rm", "-f", polite)
	waitFor(20*time.Second, func() error {
		if r := d.docker(t, "logs", polite); !strings.Contains(r.stdout, "ready") {
			return fmt.Errorf("not ready")
		}
		return nil
	})
	r := must(t, d.docker(t, "stop", "-t", "2", deaf))
	if r.dur < 2*time.Second {
		t.Errorf("stop -t 2 of a process that ignores SIGTERM returned after %v", r.dur)
	}
	if c := d.inspect(t, deaf, "{{.State.ExitCode}}"); c != "137" {
		t.Errorf("stopped by SIGKILL: exit code %s, want 137", c)
	}
	r = must(t, d.docker(t, "stop", "-t", "30", polite))
	if r.dur > 15*time.Second {
		t.Errorf("stop of a process that traps SIGTERM took %v", r.dur)
	}
	if c := d.inspect(t, polite, "{{.State.ExitCode}}"); c != "42" {
		t.Errorf("stopped by SIGTERM: exit code %s, want 42", c)
	}
}

// testNetwork: docker's default bridge (docker0, in the sandbox's network
// namespace) gives eth0 an address on 172.17.0.0/16 and a route to a
// server on the bridge's address.
func (d dockerClient) testNetwork(t *testing.T) {
	url := serveHello(t, "172.17.0.1")
	r := d.docker(t, d.runArgs("--rm", podmanImage, "sh", "-c", "ip -4 -o addr show eth0; wget -q -O - "+url)...)
	if r.code != 0 || !strings.Contains(r.stdout, "inet 172.17.") || !strings.Contains(r.stdout, "hello from the sandbox") {
		t.Errorf("default bridge: want an address on 172.17.0.0/16 and the server's answer:\n%s", r)
	}
	wantOut(t, d.docker(t, d.runArgs("--rm", "--network", "none", podmanImage, "ls", "/sys/class/net")...), "lo")
}

// testRmLeavesNothing: after a run --rm container ends (killed, so that
// the test does not race its end), no process, cgroup, mount or runtime
// state of it is left.
func (d dockerClient) testRmLeavesNothing(t *testing.T) {
	name := d.name("rm")
	id := strings.TrimSpace(must(t, d.docker(t, d.runArgs("-d", "--rm", "--name", name, "--network", "none", podmanImage, "sleep", "1000")...)).stdout)
	var pid, merged string
	if f := strings.Fields(d.inspect(t, name, "{{.State.Pid}} {{.GraphDriver.Data.MergedDir}}")); len(f) == 2 {
		pid, merged = f[0], f[1]
	} else {
		t.Fatalf("inspect: %q", f)
	}
	cgs := ownCgroups(t, pid)
	state := runtimeStateDirs(id, "/run", sb.path("docker", "exec"))
	if len(state) == 0 {
		t.Errorf("no runtime state directory named %s under /run while the container runs", id)
	}
	must(t, d.docker(t, "kill", name))
	if err := waitFor(60*time.Second, func() error {
		if r := d.docker(t, "inspect", name); r.code == 0 {
			return fmt.Errorf("%s still exists", name)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	checkGone(t, id, pid, cgs, merged, state)
}
