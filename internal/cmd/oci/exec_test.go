package oci

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/container"
)

// startSleeper runs a detached container whose process sleeps, and
// returns its id and host pid; it is deleted at the end of the test.
func startSleeper(t *testing.T, e *env, name string) (string, int) {
	t.Helper()
	id := newID(name)
	if r, _ := e.detached(t, "run", "-d", "--bundle", e.bundle, id); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	t.Cleanup(func() { e.run(t, "delete", "--force", id) })
	return id, e.state(t, id).Pid
}

func nsOf(t *testing.T, pid, kind string) string {
	t.Helper()
	l, err := os.Readlink("/proc/" + pid + "/ns/" + kind)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestExec: exec runs a process in the running container: in its
// namespaces and cgroup, with its narrowing (capabilities from its config,
// --cap on top, inheritable empty), its exit code passed through; a
// missing command is runc's wording; --cwd through /proc/self/fd is
// refused (CVE-2024-21626); --process takes a process.json; -d with
// --pid-file leaves the process running.
func TestExec(t *testing.T) {
	e := newEnv(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "100"}
		s.Process.Env = append(s.Process.Env, "FROM=config")
	})
	id, pid := startSleeper(t, e, "exec")
	r := e.run(t, "exec", id, "sh", "-c", "echo $$ $FROM; cat /proc/self/cgroup; readlink /proc/self/ns/net; grep -E '^Cap(Inh|Bnd)' /proc/self/status")
	if r.code != 0 {
		t.Fatalf("exec: %+v", r)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if f := strings.Fields(lines[0]); len(f) != 2 || f[0] == "1" || f[1] != "config" {
		t.Errorf("first line %q; want a pid other than 1 in the container's PID namespace and its env", lines[0])
	}
	cg, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if !strings.Contains(r.stdout, "/\n") || !strings.Contains(string(cg), "/"+id) {
		t.Errorf("cgroups: exec's\n%s\ncontainer's\n%s", r.stdout, cg)
	}
	if !strings.Contains(r.stdout, nsOf(t, strconv.Itoa(pid), "net")) {
		t.Errorf("exec's network namespace is not the container's: %s", r.stdout)
	}
	if !strings.Contains(r.stdout, "CapInh:\t0000000000000000") || !strings.Contains(r.stdout, "CapBnd:\t0000000020000420") {
		t.Errorf("capabilities: %s; want the config's three, none inheritable", r.stdout)
	}
	// The exec'd process's own cgroup, seen from the host.
	r = e.run(t, "exec", id, "sh", "-c", "sleep 0.2 & cat /proc/$!/cgroup >/dev/null; echo $!")
	if r.code != 0 {
		t.Fatalf("exec: %+v", r)
	}
	if r := e.run(t, "exec", "--cap", "CAP_NET_ADMIN", id, "grep", "^CapBnd", "/proc/self/status"); !strings.Contains(r.stdout, "0000000020001420") {
		t.Errorf("exec --cap CAP_NET_ADMIN: %+v", r)
	}
	if r := e.run(t, "exec", id, "sh", "-c", "exit 5"); r.code != 5 {
		t.Errorf("exit code: %+v", r)
	}
	if r := e.run(t, "exec", id, "nosuch"); r.code != 1 || !strings.Contains(r.stderr, `exec: "nosuch": executable file not found in $PATH`) {
		t.Errorf("missing command: %+v", r)
	}
	if r := e.run(t, "exec", "-e", "FROM=flag", "--user", "1000:1000", id, "sh", "-c", "echo $FROM; id"); r.code != 0 || r.stdout != "flag\nuid=1000 gid=1000\n" {
		t.Errorf("exec -e --user: %+v", r)
	}
	for _, fd := range []string{"0", "3", "7"} {
		if r := e.run(t, "exec", "--cwd", "/proc/self/fd/"+fd, id, "true"); r.code == 0 {
			t.Errorf("exec --cwd /proc/self/fd/%s ran: %+v", fd, r)
		}
	}
	// --process, as conmon and the shim pass it.
	pf := filepath.Join(t.TempDir(), "process.json")
	data, _ := json.Marshal(specs.Process{Args: []string{"sh", "-c", "echo $A; pwd"}, Env: []string{"A=b", "PATH=/bin"}, Cwd: "/tmp"})
	os.WriteFile(pf, data, 0o644)
	if r := e.run(t, "exec", "--process", pf, id); r.code != 0 || r.stdout != "b\n/tmp\n" {
		t.Errorf("exec --process: %+v", r)
	}
	// -d with a pid file: the process runs on in the container.
	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	if r, _ := e.detached(t, "exec", "-d", "--pid-file", pidFile, id, "sleep", "30"); r.code != 0 {
		t.Fatalf("exec -d: %+v", r)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil || strings.HasSuffix(string(b), "\n") {
		t.Fatalf("exec's pid file %q: %v", b, err)
	}
	if nsOf(t, string(b), "pid") != nsOf(t, strconv.Itoa(pid), "pid") {
		t.Error("exec -d's process is not in the container's PID namespace")
	}
	// exec in a stopped container.
	if r := e.run(t, "kill", id, "KILL"); r.code != 0 {
		t.Fatalf("kill: %+v", r)
	}
	e.waitStatus(t, id, container.Stopped)
	if r := e.run(t, "exec", id, "true"); r.code != 1 || !strings.Contains(r.stderr, "stopped") {
		t.Errorf("exec in a stopped container: %+v", r)
	}
}

// TestExecTTY: exec --tty --console-socket sends a pty master of the
// container's devpts, as conmon's exec -t expects.
func TestExecTTY(t *testing.T) {
	e := newEnv(t, func(s *specs.Spec) { s.Process.Args = []string{"sleep", "100"} })
	id, _ := startSleeper(t, e, "exectty")
	sock := filepath.Join(t.TempDir(), "c.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan *os.File, 1)
	go func() { got <- recvMaster(l) }()
	r := e.run(t, "exec", "--tty", "--console-socket", sock, id, "sh", "-c", "tty; exit 4")
	if r.code != 4 {
		t.Errorf("exec --tty: %+v", r)
	}
	m := <-got
	if m == nil {
		t.Fatal("no pty master on the console socket")
	}
	defer m.Close()
	m.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 256)
	n, _ := m.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "/dev/pts/") {
		t.Errorf("on the terminal: %q", buf[:n])
	}
}

func recvMaster(l *net.UnixListener) *os.File {
	c, err := l.AcceptUnix()
	if err != nil {
		return nil
	}
	defer c.Close()
	buf, oob := make([]byte, 64), make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil
	}
	msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
	if len(msgs) != 1 {
		return nil
	}
	fds, _ := unix.ParseUnixRights(&msgs[0])
	if len(fds) != 1 {
		return nil
	}
	return os.NewFile(uintptr(fds[0]), "master")
}

// TestNamespacePath: linux.namespaces[].path joins the namespace (a
// Kubernetes pod's containers share the sandbox's network); a file of
// another kind is one line naming the path.
func TestNamespacePath(t *testing.T) {
	e := newEnv(t, func(s *specs.Spec) { s.Process.Args = []string{"sleep", "100"} })
	_, pidA := startSleeper(t, e, "nsa")
	a := strconv.Itoa(pidA)
	e.edit(t, func(s *specs.Spec) {
		for i := range s.Linux.Namespaces {
			switch s.Linux.Namespaces[i].Type {
			case "network":
				s.Linux.Namespaces[i].Path = "/proc/" + a + "/ns/net"
			case "ipc":
				s.Linux.Namespaces[i].Path = "/proc/" + a + "/ns/uts" // wrong kind
			}
		}
		s.Process.Args = []string{"readlink", "/proc/self/ns/net"}
	})
	r := e.run(t, "run", "--bundle", e.bundle, newID("nsb"))
	if r.code != 1 || !strings.Contains(r.stderr, "linux.namespaces[2].path: /proc/"+a+"/ns/uts is a uts namespace, not a ipc namespace") {
		t.Errorf("a uts file as ipc: %+v", r)
	}
	e.edit(t, func(s *specs.Spec) { s.Linux.Namespaces[2].Path = "" })
	r = e.run(t, "run", "--bundle", e.bundle, newID("nsb2"))
	if r.code != 0 || strings.TrimSpace(r.stdout) != nsOf(t, a, "net") {
		t.Errorf("joined net: %+v; want %s", r, nsOf(t, a, "net"))
	}
}

// TestPreserveFDs: --preserve-fds 2 passes fds 3 and 4 on, and nothing
// else above 2.
func TestPreserveFDs(t *testing.T) {
	e := newEnv(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sh", "-c", "echo three >&3; echo four >&4; ls /proc/self/fd"}
	})
	r3, w3, _ := os.Pipe()
	r4, w4, _ := os.Pipe()
	cmd := exec.Command(ociBin, "--root", e.root, "run", "--preserve-fds", "2", "--bundle", e.bundle, newID("fds"))
	cmd.ExtraFiles = []*os.File{w3, w4}
	out, err := cmd.Output()
	w3.Close()
	w4.Close()
	if err != nil {
		t.Fatalf("run --preserve-fds 2: %v: %s", err, out)
	}
	b3 := make([]byte, 16)
	n3, _ := r3.Read(b3)
	b4 := make([]byte, 16)
	n4, _ := r4.Read(b4)
	if string(b3[:n3]) != "three\n" || string(b4[:n4]) != "four\n" {
		t.Errorf("fds 3 and 4 got %q and %q", b3[:n3], b4[:n4])
	}
	if fds := strings.Fields(string(out)); strings.Join(fds, " ") != "0 1 2 3 4 5" {
		t.Errorf("the program's fds: %q; want 0 1 2 3 4 and ls's own directory, 5", out)
	}
}
