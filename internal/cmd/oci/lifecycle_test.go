package oci

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/rawns/rawns/container"
)

// TestRunSpecBundle: a bundle from `rawns-oci spec` with a busybox root
// runs with `run`: the command's output, the hostname, the default
// devices, its own PID namespace; the exit code is the command's; nothing
// is left.
func TestRunSpecBundle(t *testing.T) {
	e := newEnv(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sh", "-c", "echo out; echo err >&2; hostname; echo $$; ls /dev; echo x >/dev/null && echo null-ok; exit 7"}
	})
	r := e.run(t, "run", "--bundle", e.bundle, newID("spec"))
	if r.code != 7 {
		t.Fatalf("run: exit %d; want 7 (the command's): %+v", r.code, r)
	}
	out := r.stdout
	for _, w := range []string{"out\n", "rawns\n", "\n1\n", "null\n", "zero\n", "urandom\n", "pts\n", "null-ok\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if r.stderr != "err\n" {
		t.Errorf("stderr %q; want the command's own", r.stderr)
	}
}

// TestRunExitCodes: killed by a signal is 128+N, as runc's run reports.
func TestRunExitCodes(t *testing.T) {
	e := newEnv(t, func(s *specs.Spec) {
		// PID 1 ignores SIGKILL from inside; a child of it does not.
		s.Process.Args = []string{"sh", "-c", "sh -c 'kill -9 $$'; exit $?"}
	})
	if r := e.run(t, "run", "--bundle", e.bundle, newID("sig")); r.code != 137 {
		t.Errorf("exit %d; want 137: %+v", r.code, r)
	}
}

// TestLifecycleOfRunningContainer drives a running container from other
// processes: state, list, ps, pause and resume, update, kill; then delete
// of a missing one.
func TestLifecycleOfRunningContainer(t *testing.T) {
	e := newEnv(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sh", "-c", "sleep 100 & wait"}
		s.Annotations = map[string]string{"org.example": "yes"}
	})
	id := newID("life")
	pidFile := filepath.Join(t.TempDir(), "pid")
	run := exec.Command(ociBin, "--root", e.root, "run", "--bundle", e.bundle, "--pid-file", pidFile, id)
	var stderr bytes.Buffer
	run.Stderr = &stderr
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() {
		run.Wait()
		done <- run.ProcessState.ExitCode()
	}()
	defer func() {
		run.Process.Kill()
		<-done
	}()
	s := e.waitStatus(t, id, container.Running)
	if s.ID != id || s.Bundle != e.bundle || s.Rootfs != filepath.Join(e.bundle, "rootfs") || s.Annotations["org.example"] != "yes" || s.OCIVersion == "" {
		t.Errorf("state %+v", s)
	}
	pf, err := os.ReadFile(pidFile)
	if err != nil || string(pf) != strconv.Itoa(s.Pid) {
		t.Errorf("pid file %q (%v); want %d without a newline", pf, err, s.Pid)
	}
	if r := e.run(t, "list", "--format", "json"); r.code != 0 || !strings.Contains(r.stdout, `"id":"`+id+`"`) {
		t.Errorf("list: %+v", r)
	}
	if r := e.run(t, "list", "-q"); r.stdout != id+"\n" {
		t.Errorf("list -q: %+v", r)
	}
	// ps: the sh and its sleep, host pids.
	var pids []int
	deadline := time.Now().Add(5 * time.Second)
	for len(pids) < 2 && time.Now().Before(deadline) {
		r := e.run(t, "ps", "--format", "json", id)
		if err := json.Unmarshal([]byte(r.stdout), &pids); err != nil {
			t.Fatalf("ps: %v: %+v", err, r)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(pids) != 2 || (pids[0] != s.Pid && pids[1] != s.Pid) {
		t.Errorf("ps pids %v; want the init %d and its sleep", pids, s.Pid)
	}
	if r := e.run(t, "ps", id); r.code != 0 || !strings.Contains(r.stdout, "PID") || !strings.Contains(r.stdout, "sleep 100") {
		t.Errorf("ps table: %+v", r)
	}
	// pause and resume.
	if r := e.run(t, "pause", id); r.code != 0 {
		t.Fatalf("pause: %+v", r)
	}
	if st := e.state(t, id); st.Status != container.Paused {
		t.Errorf("after pause: %s", st.Status)
	}
	if r := e.run(t, "pause", id); r.code != 1 || !strings.Contains(r.stderr, "paused, not running") {
		t.Errorf("pause twice: %+v", r)
	}
	if r := e.run(t, "resume", id); r.code != 0 {
		t.Fatalf("resume: %+v", r)
	}
	if st := e.state(t, id); st.Status != container.Running {
		t.Errorf("after resume: %s", st.Status)
	}
	// update through --resources -, as containerd's shim does.
	up := exec.Command(ociBin, "--root", e.root, "update", "--resources", "-", id)
	up.Stdin = strings.NewReader(`{"pids": {"limit": 50}, "memory": {"limit": 67108864}}`)
	if out, err := up.CombinedOutput(); err != nil {
		t.Fatalf("update: %v: %s", err, out)
	}
	// delete of a running container is refused without --force.
	if r := e.run(t, "delete", id); r.code != 1 || !strings.Contains(r.stderr, "not stopped: running") {
		t.Errorf("delete while running: %+v", r)
	}
	// kill: SIGTERM is ignored by PID 1 without a handler; KILL is not.
	if r := e.run(t, "kill", id, "KILL"); r.code != 0 {
		t.Fatalf("kill: %+v", r)
	}
	select {
	case code := <-done:
		done <- code
		if code != 137 {
			t.Errorf("run exited %d after kill KILL; want 137 (stderr %q)", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not end after kill KILL")
	}
	if r := e.run(t, "state", id); r.code != 1 || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("state after run deleted it: %+v", r)
	}
	if r := e.run(t, "kill", id, "9"); r.code != 1 || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("kill of a deleted container: %+v", r)
	}
	if r := e.run(t, "delete", "--force", id); r.code != 0 {
		t.Errorf("delete --force of a missing container: %+v", r)
	}
	if r := e.run(t, "delete", id); r.code != 1 || r.stderr != "container \""+id+"\" does not exist\n" {
		t.Errorf("delete of a missing container: %+v", r)
	}
}

// TestUpdateWritesLimits: update writes into the container's cgroup.
func TestUpdateWritesLimits(t *testing.T) {
	e := newEnv(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sh", "-c", "while :; do cat /proc/self/cgroup >/tmp/cg 2>/dev/null; sleep 0.05; done"}
		s.Root.Readonly = false
	})
	id := newID("update")
	run := exec.Command(ociBin, "--root", e.root, "run", "--bundle", e.bundle, id)
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		e.run(t, "kill", id, "KILL")
		run.Wait()
	}()
	s := e.waitStatus(t, id, container.Running)
	cg, err := os.ReadFile("/proc/" + strconv.Itoa(s.Pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	dir := ""
	for _, l := range strings.Split(string(cg), "\n") {
		if p := strings.SplitN(l, ":", 3); len(p) == 3 && (p[1] == "pids" || p[1] == "" && dir == "") {
			dir = p[2]
			if p[1] == "pids" {
				dir = "/sys/fs/cgroup/pids" + p[2]
			} else {
				dir = "/sys/fs/cgroup" + p[2]
			}
		}
	}
	if !strings.HasSuffix(dir, "/"+id) {
		t.Fatalf("the container's pids cgroup %q is not named by its id", dir)
	}
	if r := e.run(t, "update", "--pids-limit", "33", id); r.code != 0 {
		t.Fatalf("update: %+v", r)
	}
	if v, _ := os.ReadFile(filepath.Join(dir, "pids.max")); strings.TrimSpace(string(v)) != "33" {
		t.Errorf("pids.max %q after update --pids-limit 33", v)
	}
	if r := e.run(t, "update", "--memory-reservation", "1000", id); r.code != 1 || !strings.Contains(r.stderr, "memory.reservation") {
		t.Errorf("update of an unsupported limit: %+v", r)
	}
}
