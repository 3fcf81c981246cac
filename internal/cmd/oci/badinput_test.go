package oci

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/container"
	"github.com/rawns/rawns/internal/kernel"
)

// TestBadInput: each bad input of issue 21's list is one line on stderr
// naming the JSON path or argument, exit code 1, and nothing left behind
// (newEnv's cleanup checks the state root, mounts and cgroups).
func TestBadInput(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	cases := []struct {
		name string
		edit func(s *specs.Spec)
		raw  string   // config.json as it is, instead of edit
		args []string // after the globals; ID is replaced by the test's id
		want string
	}{
		{name: "invalid JSON", raw: "{\"ociVersion\": \"1.0.2\", \"process\": }", want: "config.json: invalid JSON at line 1, column 36"},
		{name: "unknown namespace type", edit: func(s *specs.Spec) { s.Linux.Namespaces[0].Type = "pidd" }, want: `linux.namespaces[0].type: unknown namespace type "pidd"`},
		{name: "mount without destination", edit: func(s *specs.Spec) { s.Mounts[3].Destination = "" }, want: "mounts[3].destination: empty"},
		{name: "negative memory limit", edit: func(s *specs.Spec) {
			s.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-2)}}
		}, want: "linux.resources.memory.limit: -2 is negative"},
		{name: "unknown capability", edit: func(s *specs.Spec) {
			s.Process.Capabilities.Permitted = append(s.Process.Capabilities.Permitted, "CAP_NOPE")
		}, want: `process.capabilities.permitted[3]: unknown capability "CAP_NOPE"`},
		{name: "missing command", edit: func(s *specs.Spec) { s.Process.Args = []string{"nope"} }, want: `process.args[0]: exec: "nope": executable file not found in $PATH`},
		{name: "id with a slash", args: []string{"run", "--bundle", "BUNDLE", "a/b"}, want: `container id "a/b" holds a slash`},
		{name: "id ..", args: []string{"run", "--bundle", "BUNDLE", ".."}, want: `container id ".." is a path component`},
		{name: "missing bundle", args: []string{"run", "--bundle", "/nonexistent/bundle", "ID"}, want: "--bundle /nonexistent/bundle: no such file or directory"},
		{name: "relative root", args: []string{"--root", "relative/state", "run", "--bundle", "BUNDLE", "ID"}, want: "--root relative/state: give an absolute path"},
		{name: "no-pivot", args: []string{"run", "--no-pivot", "--bundle", "BUNDLE", "ID"}, want: "--no-pivot: rawns always uses pivot_root(2)"},
		{name: "systemd cgroup", args: []string{"--systemd-cgroup", "run", "--bundle", "BUNDLE", "ID"}, want: "--systemd-cgroup: rawns manages cgroups through cgroupfs"},
		{name: "unknown flag", args: []string{"run", "--nope", "--bundle", "BUNDLE", "ID"}, want: "run: unknown flag --nope"},
		{name: "two ids", args: []string{"run", "--bundle", "BUNDLE", "ID", "ID2"}, want: "run: takes ID; got 2 arguments"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.edit)
			if c.raw != "" {
				os.WriteFile(filepath.Join(e.bundle, "config.json"), []byte(c.raw), 0o644)
			}
			id := newID("bad")
			args := c.args
			if args == nil {
				args = []string{"run", "--bundle", "BUNDLE", "ID"}
			}
			full := []string{"--root", e.root}
			for _, a := range args {
				switch a {
				case "BUNDLE":
					a = e.bundle
				case "ID":
					a = id
				}
				full = append(full, a)
			}
			// A relative --root given by the case replaces the env's.
			if full[2] == "--root" {
				full = full[2:]
			}
			r := oci(t, full...)
			if r.code != 1 {
				t.Errorf("exit %d; want 1: %+v", r.code, r)
			}
			if !strings.Contains(r.stderr, c.want) || strings.Count(r.stderr, "\n") != 1 || r.stdout != "" {
				t.Errorf("stderr %q (stdout %q); want one line with %q", r.stderr, r.stdout, c.want)
			}
		})
	}
}

// TestStateDirReadOnly: a state root on a read-only filesystem is one
// line naming --root, exit 1, nothing made.
func TestStateDirReadOnly(t *testing.T) {
	e := newEnv(t, nil)
	ro := t.TempDir()
	if err := unix.Mount("tmpfs", ro, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, "size=64k"); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(ro, unix.MNT_DETACH)
	r := oci(t, "--root", filepath.Join(ro, "state"), "run", "--bundle", e.bundle, newID("ro"))
	if r.code != 1 || !strings.Contains(r.stderr, "--root "+filepath.Join(ro, "state")+": cannot create the state directory") || !strings.Contains(r.stderr, "read-only file system") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("%+v", r)
	}
}

// TestTwoCreatesOneID: two runs of one id at once: one runs, the other
// is refused with one line, and nothing is left after both.
func TestTwoCreatesOneID(t *testing.T) {
	e := newEnv(t, func(s *specs.Spec) { s.Process.Args = []string{"sleep", "0.5"} })
	id := newID("twice")
	var wg sync.WaitGroup
	results := make([]result, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.run(t, "run", "--bundle", e.bundle, id)
		}()
	}
	wg.Wait()
	ok, refused := 0, 0
	for _, r := range results {
		switch {
		case r.code == 0:
			ok++
		case r.code == 1 && strings.Contains(r.stderr, "exists already") && strings.Count(r.stderr, "\n") == 1:
			refused++
		default:
			t.Errorf("unexpected: %+v", r)
		}
	}
	if ok != 1 || refused != 1 {
		t.Errorf("%d ran, %d refused; want one each: %+v", ok, refused, results)
	}
	// The same with create, whose container stays.
	id = newID("twicecreate")
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], _ = e.create(t, id)
		}()
	}
	wg.Wait()
	if results[0].code+results[1].code != 1 || !strings.Contains(results[0].stderr+results[1].stderr, "exists already") {
		t.Errorf("two creates: %+v", results)
	}
	if r := e.run(t, "delete", id); r.code != 0 {
		t.Errorf("delete: %+v", r)
	}
}

// TestLogJSON: with --log and --log-format json an error is one JSON
// object per line in the file ({"level","msg","time"}, time in RFC 3339),
// even for an error in the flags, and the same message is the one plain
// line on stderr (runc's fatalWithCode prints both: containerd's shim
// reads stderr for "container not running").
func TestLogJSON(t *testing.T) {
	e := newEnv(t, nil)
	for _, args := range [][]string{
		{"state", newID("nothere")},
		{"run", "--nope"},
		{"--log-format", "json", "state"}, // the flags after the verb are state's
	} {
		log := filepath.Join(t.TempDir(), "log.json")
		full := append([]string{"--root", e.root, "--log", log, "--log-format", "json"}, args...)
		r := oci(t, full...)
		if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
			t.Errorf("%v: %+v; want exit 1 and one line on stderr", args, r)
		}
		data, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		if len(lines) != 1 {
			t.Errorf("%v: log %q; want one line", args, data)
			continue
		}
		var l struct{ Level, Msg, Time string }
		if err := json.Unmarshal([]byte(lines[0]), &l); err != nil {
			t.Errorf("%v: %v in %q", args, err, lines[0])
		}
		if _, err := time.Parse(time.RFC3339, l.Time); err != nil || l.Level != "error" || l.Msg == "" {
			t.Errorf("%v: log line %+v", args, l)
		}
		if r.stderr != l.Msg+"\n" {
			t.Errorf("%v: stderr %q; want the log's message %q", args, r.stderr, l.Msg)
		}
	}
	// A missing log directory is an error on stderr: there is nowhere else.
	r := oci(t, "--log", "/nonexistent/dir/log.json", "state", "x")
	if r.code != 1 || !strings.Contains(r.stderr, "--log /nonexistent/dir/log.json: no such file or directory") {
		t.Errorf("%+v", r)
	}
}

// TestKillExitedStderr: kill of a container whose process has exited
// fails with runc's "container not running", in the --log file and on
// stderr, where containerd's runc shim (go-runc, which sees only the
// combined output) looks for it to answer NotFound: without it the CRI's
// StopContainer of an exited container fails.
func TestKillExitedStderr(t *testing.T) {
	e := newEnv(t, func(s *specs.Spec) { s.Process.Args = []string{"true"} })
	id := newID("killexited")
	if r, _ := e.create(t, id); r.code != 0 {
		t.Fatalf("create: %+v", r)
	}
	t.Cleanup(func() { e.run(t, "delete", "--force", id) })
	if r := e.run(t, "start", id); r.code != 0 {
		t.Fatalf("start: %+v", r)
	}
	e.waitStatus(t, id, container.Stopped)
	log := filepath.Join(t.TempDir(), "log.json")
	r := e.run(t, "--log", log, "--log-format", "json", "kill", id, "KILL")
	if r.code != 1 || r.stderr != "container not running\n" {
		t.Errorf("kill of an exited container: %+v; want exit 1 and \"container not running\" on stderr", r)
	}
	if b, _ := os.ReadFile(log); !strings.Contains(string(b), `"msg":"container not running"`) {
		t.Errorf("log %q; want the error there too", b)
	}
}

// TestGlobalsRepeat: a global flag given twice is taken, the last value
// counting (dockerd puts runtimeArgs before the shim's own flags), and
// -flag is --flag.
func TestGlobalsRepeat(t *testing.T) {
	e := newEnv(t, func(s *specs.Spec) { s.Process.Args = []string{"true"} })
	r := oci(t, "--root", "/nonexistent-first", "-root", e.root, "--debug", "--debug", "--log-format", "text", "--log-format=text", "run", "-b", e.bundle, newID("repeat"))
	if r.code != 0 {
		t.Errorf("%+v", r)
	}
}

// TestVersionFeatures: --version prints runc's three lines; features is
// the runtime-spec's document.
func TestVersionFeatures(t *testing.T) {
	r := oci(t, "--version")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "rawns-oci version ") || !strings.HasPrefix(lines[1], "commit: ") || !strings.HasPrefix(lines[2], "spec: 1.") {
		t.Errorf("--version: %+v", r)
	}
	r = oci(t, "features")
	var f struct {
		OCIVersionMax string
		Linux         struct{ Namespaces []string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &f); err != nil || !strings.HasPrefix(f.OCIVersionMax, "1.") || len(f.Linux.Namespaces) != 8 {
		t.Errorf("features: %v %+v", err, r)
	}
	dir := t.TempDir()
	cmd := exec.Command(ociBin, "spec")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("spec: %v %s", err, out)
	}
	cmd = exec.Command(ociBin, "spec")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput() // again: config.json exists
	if err == nil || !strings.Contains(string(out), "exists; remove it first") {
		t.Errorf("spec over an existing config.json: %v %s", err, out)
	}
}

// TestReadOnlyRootOld: before Linux 5.12 a read-only root is one line
// naming root.readonly; from 5.12 the root is read-only.
func TestReadOnlyRootOld(t *testing.T) {
	e := newEnv(t, func(s *specs.Spec) {
		s.Root.Readonly = true
		s.Process.Args = []string{"sh", "-c", "touch /x 2>&1"}
	})
	r := e.run(t, "run", "--bundle", e.bundle, newID("roroot"))
	if !kernel.AtLeast(5, 12) {
		if r.code != 1 || !strings.Contains(r.stderr, "root.readonly: a read-only root needs mount_setattr(2), Linux 5.12") {
			t.Errorf("%+v", r)
		}
		return
	}
	if r.code == 0 || !strings.Contains(r.stdout, "Read-only file system") {
		t.Errorf("touch in a read-only root: %+v", r)
	}
}

// TestReadOnlyPathsOld: before Linux 5.12 the default config's
// linux.readonlyPaths are refused in one line naming the kernel's lack
// (mount_setattr(2)), and nothing is left; from 5.12 they are read-only
// (TestMaskedReadonlySysctlOOMDevices).
func TestReadOnlyPathsOld(t *testing.T) {
	if kernel.AtLeast(5, 12) {
		return
	}
	e := newEnv(t, func(s *specs.Spec) {
		s.Linux.ReadonlyPaths = []string{"/proc/bus"}
	})
	r := e.run(t, "run", "--bundle", e.bundle, newID("ropaths"))
	if r.code != 1 || !strings.Contains(r.stderr, "/proc/bus") || !strings.Contains(r.stderr, "mount_setattr(2), Linux 5.12") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("%+v; want exit 1 and one line naming /proc/bus and mount_setattr", r)
	}
}

// TestAmbientNotRaisable: ambient capabilities that are not inheritable
// (runc spec's default config lists them so) cannot be raised: runc warns
// and runs the container, and so does rawns-oci, the warning in the log;
// an ambient capability that is permitted and inheritable is raised.
func TestAmbientNotRaisable(t *testing.T) {
	e := newEnv(t, func(s *specs.Spec) {
		caps := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
		s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps, Inheritable: []string{"CAP_KILL"}, Ambient: caps}
		s.Process.User = specs.User{UID: 1000, GID: 1000}
		s.Process.Args = []string{"grep", "CapAmb", "/proc/self/status"}
	})
	log := filepath.Join(t.TempDir(), "log.json")
	r := e.run(t, "--log", log, "--log-format", "json", "run", "--bundle", e.bundle, newID("ambient"))
	if r.code != 0 || r.stdout != "CapAmb:\t0000000000000020\n" {
		t.Errorf("%+v; want exit 0 and CAP_KILL alone in the ambient set", r)
	}
	b, _ := os.ReadFile(log)
	if !strings.Contains(string(b), `"level":"warning"`) || !strings.Contains(string(b), "process.capabilities.ambient: CAP_NET_BIND_SERVICE,CAP_AUDIT_WRITE left out") {
		t.Errorf("log %q; want a warning naming the two left out", b)
	}
}
