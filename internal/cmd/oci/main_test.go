package oci

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/container"
	"github.com/rawns/rawns/internal/kernel"
	"github.com/rawns/rawns/internal/testutil"
)

// ociBin is rawns-oci, built once: the tests run the program engines run,
// exit codes and output included.
var ociBin string

func TestMain(m *testing.M) {
	// $RAWNS_BIN: rawns and its siblings built already (the vmtest's
	// /bin: the VM has no go tool).
	if b := os.Getenv("RAWNS_BIN"); b != "" {
		ociBin = filepath.Join(filepath.Dir(b), "rawns-oci")
		if err := writeShimBeside(ociBin); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "rawns-oci-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ociBin = filepath.Join(dir, "rawns-oci")
	build := exec.Command("go", "build", "-o", ociBin, "github.com/rawns/rawns/cmd/rawns-oci")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building rawns-oci: %v\n%s", err, out)
		os.Exit(1)
	}
	if err := writeShimBeside(ociBin); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// writeShimBeside puts the exec shim's file beside rawns-oci where it is
// missing, as make build does (clone/internal/shimfile): the tests run
// what an installed rawns-oci runs (TestExecShimBesideBinary). The test
// binary is built for the architecture rawns-oci is, so its copy of the
// shim is the right one, in the VMs too.
func writeShimBeside(bin string) error {
	name := filepath.Join(filepath.Dir(bin), clone.ShimFileName)
	if _, err := os.Stat(name); err == nil {
		return nil
	}
	if err := os.WriteFile(name, clone.ExecShim(), 0o755); err != nil {
		return fmt.Errorf("writing the exec shim beside rawns-oci: %v", err)
	}
	return nil
}

type result struct {
	stdout, stderr string
	code           int
}

// oci runs rawns-oci with args and returns what it printed and its exit
// code.
func oci(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(ociBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("rawns-oci %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

// env is one test's state root and bundle.
type env struct {
	root, bundle string
}

// newEnv makes a state root and a bundle from `rawns-oci spec` with a
// busybox root, its config changed by edit.
func newEnv(t *testing.T, edit func(s *specs.Spec)) *env {
	t.Helper()
	testutil.RequireRoot(t)
	e := &env{root: t.TempDir(), bundle: t.TempDir()}
	if r := oci(t, "spec", "--bundle", e.bundle); r.code != 0 {
		t.Fatalf("spec: %+v", r)
	}
	if err := os.Rename(testutil.BusyboxRoot(t), filepath.Join(e.bundle, "rootfs")); err != nil {
		t.Fatal(err)
	}
	e.edit(t, func(s *specs.Spec) {
		s.Process.Terminal = false
		// Before 5.12 a read-only root and read-only paths are refused
		// (TestReadOnlyRootOld, TestReadOnlyPathsOld): they need
		// mount_setattr(2).
		s.Root.Readonly = kernel.AtLeast(5, 12)
		if !kernel.AtLeast(5, 12) {
			s.Linux.ReadonlyPaths = nil
		}
		if edit != nil {
			edit(s)
		}
	})
	t.Cleanup(func() { e.checkClean(t) })
	return e
}

// edit rewrites the bundle's config.json.
func (e *env) edit(t *testing.T, edit func(s *specs.Spec)) {
	t.Helper()
	name := filepath.Join(e.bundle, "config.json")
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	edit(&s)
	if data, err = json.Marshal(&s); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// run runs rawns-oci with the env's --root.
func (e *env) run(t *testing.T, args ...string) result {
	t.Helper()
	return oci(t, append([]string{"--root", e.root}, args...)...)
}

// checkClean fails the test if anything of the env's containers is left:
// a state directory, a mount of the bundle, a cgroup named by a test id.
func (e *env) checkClean(t *testing.T) {
	t.Helper()
	ents, _ := os.ReadDir(e.root)
	for _, d := range ents {
		t.Errorf("state left in %s: %s", e.root, d.Name())
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mi), e.bundle) {
		t.Errorf("a mount of %s is left on the host", e.bundle)
	}
	for _, id := range testIDs {
		if dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + id); len(dirs) > 0 {
			t.Errorf("cgroups left: %v", dirs)
		}
		if dirs, _ := filepath.Glob(ownCgroupGlob() + id); len(dirs) > 0 {
			t.Errorf("cgroups left: %v", dirs)
		}
	}
}

// ownCgroupGlob matches the containers' cgroups below this process's own,
// in every hierarchy.
func ownCgroupGlob() string {
	return "/sys/fs/cgroup/*/*/*/"
}

// testIDs are the container ids the tests use: unique to this process,
// so that no-leak checks see their own.
var testIDs []string

func newID(name string) string {
	id := fmt.Sprintf("t%d-%s", os.Getpid(), name)
	testIDs = append(testIDs, id)
	return id
}

// state returns the container's OCI state, or fails.
func (e *env) state(t *testing.T, id string) container.OCIState {
	t.Helper()
	r := e.run(t, "state", id)
	if r.code != 0 {
		t.Fatalf("state %s: %+v", id, r)
	}
	var s container.OCIState
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("state %s: %v in %q", id, err, r.stdout)
	}
	return s
}

// waitStatus polls state until the container has status want.
func (e *env) waitStatus(t *testing.T, id string, want container.Status) container.OCIState {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := e.run(t, "state", id)
		var s container.OCIState
		if r.code == 0 {
			if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
				t.Fatalf("state %s: %v in %q", id, err, r.stdout)
			}
			if s.Status == want {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s: %+v after 10s; want status %s", id, r, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// create runs `create` with its stdio (which the container inherits) on
// a file, which it returns, so that no pipe stays open after it returns.
func (e *env) create(t *testing.T, id string, args ...string) (result, string) {
	t.Helper()
	return e.detached(t, append(append([]string{"create", "--bundle", e.bundle}, args...), id)...)
}

// detached runs rawns-oci ARGS (create, run -d) with its stdio on a file,
// which it returns: the container inherits it, and a pipe would keep the
// test waiting for the container.
func (e *env) detached(t *testing.T, args ...string) (result, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "stdio")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(ociBin, append([]string{"--root", e.root}, args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Run()
	r := result{}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(out)
	r.stderr = string(data)
	return r, out
}
