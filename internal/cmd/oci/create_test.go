package oci

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/rawns/rawns/container"
)

// TestCreateStartStateKillDelete is runtime.md's lifecycle in separate
// commands: after create the process exists in its own namespaces, the
// pid file holds its host pid (no newline), no user code has run, and
// nothing ties it to create; start runs it; kill stops it; delete
// removes everything.
func TestCreateStartStateKillDelete(t *testing.T) {
	e := newEnv(t, func(s *specs.Spec) {
		s.Root.Readonly = false
		s.Process.Args = []string{"sh", "-c", "echo ran >/ran; echo hello; sleep 100"}
	})
	id := newID("life2")
	pidFile := filepath.Join(t.TempDir(), "pid")
	r, out := e.create(t, id, "--pid-file", pidFile)
	if r.code != 0 {
		t.Fatalf("create: %+v", r)
	}
	s := e.state(t, id)
	if s.Status != container.Created || s.Pid <= 0 {
		t.Fatalf("after create: %+v", s)
	}
	if pf, err := os.ReadFile(pidFile); err != nil || string(pf) != strconv.Itoa(s.Pid) {
		t.Errorf("pid file %q (%v); want %d with no newline", pf, err, s.Pid)
	}
	// No user code: the program wrote nothing yet.
	time.Sleep(100 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(e.bundle, "rootfs/ran")); err == nil {
		t.Fatal("the program ran before start")
	}
	// In namespaces of its own; its parent is not create (gone), and
	// not tied by a parent-death signal.
	for _, ns := range []string{"pid", "mnt", "uts", "ipc", "net"} {
		mine, _ := os.Readlink("/proc/self/ns/" + ns)
		its, err := os.Readlink("/proc/" + strconv.Itoa(s.Pid) + "/ns/" + ns)
		if err != nil || its == mine {
			t.Errorf("%s namespace of the created process %q (%v); want a new one", ns, its, err)
		}
	}
	if st := procStatus(t, s.Pid, "PPid"); st == "" {
		t.Error("no PPid")
	}
	if r := e.run(t, "start", id); r.code != 0 {
		t.Fatalf("start: %+v", r)
	}
	if st := e.state(t, id); st.Status != container.Running {
		t.Errorf("after start: %s", st.Status)
	}
	if r := e.run(t, "start", id); r.code != 1 || !strings.Contains(r.stderr, "running already") {
		t.Errorf("start twice: %+v", r)
	}
	waitFile(t, filepath.Join(e.bundle, "rootfs/ran"))
	waitText(t, out, "hello\n")
	if r := e.run(t, "kill", id); r.code != 0 { // SIGTERM: PID 1 ignores it
		t.Errorf("kill: %+v", r)
	}
	if r := e.run(t, "kill", id, "SIGKILL"); r.code != 0 {
		t.Fatalf("kill SIGKILL: %+v", r)
	}
	e.waitStatus(t, id, container.Stopped)
	if r := e.run(t, "kill", id, "KILL"); r.code != 1 || !strings.Contains(r.stderr, "container not running") {
		t.Errorf("kill of a stopped container: %+v", r)
	}
	if r := e.run(t, "kill", "--all", id, "KILL"); r.code != 0 {
		t.Errorf("kill --all of a stopped container: %+v", r)
	}
	if r := e.run(t, "delete", id); r.code != 0 {
		t.Fatalf("delete: %+v", r)
	}
}

// TestDeleteCreated: delete of a created container kills it and
// succeeds, as engines expect (runc does the same).
func TestDeleteCreated(t *testing.T) {
	e := newEnv(t, nil)
	id := newID("delcreated")
	if r, _ := e.create(t, id); r.code != 0 {
		t.Fatalf("create: %+v", r)
	}
	pid := e.state(t, id).Pid
	if r := e.run(t, "delete", id); r.code != 0 {
		t.Fatalf("delete: %+v", r)
	}
	waitGone(t, pid)
}

// TestRunDetach: run -d returns once the program runs; the container
// lives on.
func TestRunDetach(t *testing.T) {
	e := newEnv(t, func(s *specs.Spec) { s.Process.Args = []string{"sleep", "100"} })
	id := newID("detach")
	if r, _ := e.detached(t, "run", "-d", "--bundle", e.bundle, id); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	s := e.state(t, id)
	if s.Status != container.Running {
		t.Errorf("after run -d: %+v", s)
	}
	if r := e.run(t, "delete", "--force", id); r.code != 0 {
		t.Fatalf("delete --force: %+v", r)
	}
	waitGone(t, s.Pid)
}

// TestHooks: prestart and createRuntime run at create, poststart after
// start, poststop at delete, each with the state on its stdin (the status
// of that moment) and in order; a failing prestart stops the create and
// leaves nothing; a hook past its timeout is killed; failing poststart and
// poststop hooks are warnings.
func TestHooks(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	hook := func(name string) specs.Hook {
		return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "echo " + name + " $(cat) >>" + log}}
	}
	e := newEnv(t, func(s *specs.Spec) {
		s.Process.Args = []string{"true"}
		s.Annotations = map[string]string{"a": "b"}
		s.Hooks = &specs.Hooks{
			Prestart:      []specs.Hook{hook("prestart")},
			CreateRuntime: []specs.Hook{hook("createRuntime")},
			Poststart:     []specs.Hook{{Path: "/bin/false"}, hook("poststart")},
			Poststop:      []specs.Hook{hook("poststop")},
		}
	})
	id := newID("hooks")
	if r, _ := e.create(t, id); r.code != 0 {
		t.Fatalf("create: %+v", r)
	}
	pid := e.state(t, id).Pid
	if r := e.run(t, "start", id); r.code != 0 || !strings.Contains(r.stderr, "warning: hooks.poststart[0]: /bin/false") {
		t.Fatalf("start: %+v", r)
	}
	e.waitStatus(t, id, container.Stopped)
	if r := e.run(t, "delete", id); r.code != 0 {
		t.Fatalf("delete: %+v", r)
	}
	data, _ := os.ReadFile(log)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	want := []string{"prestart", "createRuntime", "poststart", "poststop"}
	status := []string{"created", "created", "running", "stopped"}
	if len(lines) != len(want) {
		t.Fatalf("hooks ran:\n%s\nwant %v", data, want)
	}
	for i, l := range lines {
		name, state, _ := strings.Cut(l, " ")
		if name != want[i] || !strings.Contains(state, `"status":"`+status[i]+`"`) || !strings.Contains(state, `"id":"`+id+`"`) ||
			!strings.Contains(state, `"bundle":"`+e.bundle+`"`) || !strings.Contains(state, `"annotations":{"a":"b"}`) {
			t.Errorf("hook %d: %s; want %s with status %s", i, l, want[i], status[i])
		}
		if i < 3 && !strings.Contains(state, `"pid":`+strconv.Itoa(pid)) {
			t.Errorf("hook %s: no pid %d in %s", name, pid, state)
		}
	}

	// A prestart hook that fails, one that times out: create fails
	// naming it, and leaves nothing (newEnv's cleanup checks).
	one := 1
	for i, c := range []struct {
		h    specs.Hook
		want string
	}{
		{specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "echo broken; exit 3"}}, `hooks.prestart[0]: /bin/sh: exit status 3: "broken"`},
		{specs.Hook{Path: "/bin/sleep", Args: []string{"sleep", "10"}, Timeout: &one}, "hooks.prestart[0]: /bin/sleep: timed out after 1s"},
	} {
		e.edit(t, func(s *specs.Spec) { s.Hooks = &specs.Hooks{Prestart: []specs.Hook{c.h}} })
		start := time.Now()
		r, _ := e.create(t, newID("hookfail"+strconv.Itoa(i)))
		if r.code != 1 || !strings.Contains(r.stderr, c.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("create with a failing hook: %+v; want %q", r, c.want)
		}
		if time.Since(start) > 5*time.Second {
			t.Errorf("create took %v", time.Since(start))
		}
	}
}

func procStatus(t *testing.T, pid int, key string) string {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func waitFile(t *testing.T, name string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(name); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear in 10s", name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitText(t *testing.T, name, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, _ := os.ReadFile(name)
		if strings.Contains(string(data), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %q after 10s; want %q", name, data, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitGone waits until pid has exited (a zombie counts: its reaper is
// not this test).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := procStatus(t, pid, "State")
		if st == "" || strings.HasPrefix(st, "Z") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still %s after 10s", pid, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
