package cve

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// knownHoles are the CVEs a runtime of a given name is known to be open
// to, by the version Debian ships (see the package doc).
var knownHoles = map[string][]string{
	// CVE-2025-52881 too, but through a race with another container's
	// mounts, which TestCVE_2025_52881's static configs cannot stage:
	// runc 1.1.5 refuses a bind inside /proc, and fails on the missing
	// file of a tmpfs over /proc/sys.
	"runc": {"CVE-2025-31133", "CVE-2025-52565"},
}

// A runtime under test: its binary is a copy in a directory of the run's
// own, so that a hole that lets a container write to it (CVE-2019-5736)
// damages nothing else.
type runtime struct {
	name, path string
	holes      []string // CVEs this runtime is expected to be open to
}

// rawnsReady are the tests that run against rawns-oci by default (make
// test): each added as rawns-oci passes it. OCITEST_RUNTIMES runs any test
// against any runtime.
var rawnsReady = []string{
	"TestCVE_2019_5736_RuntimeBinaryFromContainer",
	"TestCVE_2021_30465_SymlinkExchangeRace",
	"TestCVE_2021_30465_SymlinkMountDestination",
	"TestCVE_2022_29162_InheritableCapabilities",
	"TestCVE_2022_29162_InheritableCapabilitiesExec",
	"TestCVE_2023_27561_SymlinkProc",
	"TestCVE_2024_21626_CreatedFDTable",
	"TestCVE_2024_21626_CwdThroughLeakedFD",
	"TestCVE_2024_21626_CwdThroughLeakedFDExec",
	"TestCVE_2025_31133_MaskWithSymlinkedDevNull",
	"TestCVE_2025_52565_ConsoleOverSymlink",
	"TestCVE_2025_52881_SysctlUnderCoveredProcSys",
}

var (
	defaultRun bool // OCITEST_RUNTIMES was not given
	runtimes   []*runtime
	probe      string // the static probe program (probe/)
	setupErr   error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ocitest-cve-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	setupErr = setup(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// setup builds the probe and rawns-oci, and copies each runtime.
func setup(dir string) error {
	probe = filepath.Join(dir, "probe")
	if out, err := goBuild(probe, "./probe"); err != nil {
		return fmt.Errorf("building the probe: %v\n%s", err, out)
	}
	list := os.Getenv("OCITEST_RUNTIMES")
	if list == "" {
		// runc (make test-deps installs it) checks the tests themselves;
		// rawns once its OCI binary exists, for the CVEs in rawnsReady.
		list = "runc"
		if _, err := os.Stat("../../cmd/rawns-oci"); err == nil {
			list = "rawns,runc"
			defaultRun = true
		}
	}
	expect := splitList(os.Getenv("OCITEST_EXPECT_HOLE"))
	for _, item := range splitList(list) {
		name, path, _ := strings.Cut(item, "=")
		if path == "" {
			if name != "rawns" {
				p, err := exec.LookPath(name)
				if err != nil {
					return fmt.Errorf("OCITEST_RUNTIMES: %s: %v", name, err)
				}
				path = p
			} else if cve := os.Getenv("OCITEST_REOPEN"); cve != "" {
				path = filepath.Join(dir, "rawns-oci.reopened")
				if err := buildReopened(cve, path, dir); err != nil {
					return err
				}
				expect = append(expect, cve)
			} else {
				path = filepath.Join(dir, "rawns-oci.built")
				if out, err := goBuild(path, "../../cmd/rawns-oci"); err != nil {
					return fmt.Errorf("building rawns-oci (give OCITEST_RUNTIMES=rawns=PATH to test a build of your own): %v\n%s", err, out)
				}
			}
		}
		cp := filepath.Join(dir, "runtimes", name, filepath.Base(path))
		if err := copyFile(path, cp); err != nil {
			return err
		}
		if name == "rawns" {
			// The exec shim's file beside it, as make build puts it
			// (CVE-2019-5736's tests then see the read-only bind of it
			// that an installed rawns-oci uses, clone/execshim.go).
			if err := os.WriteFile(filepath.Join(filepath.Dir(cp), clone.ShimFileName), clone.ExecShim(), 0o755); err != nil {
				return err
			}
		}
		holes := slices.Concat(knownHoles[name], expect)
		runtimes = append(runtimes, &runtime{name: name, path: cp, holes: holes})
	}
	return nil
}

func goBuild(out, pkg string) ([]byte, error) {
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if tags := os.Getenv("OCITEST_TAGS"); tags != "" && strings.Contains(pkg, "rawns-oci") {
		cmd.Args = append(cmd.Args[:2], append([]string{"-tags", tags}, cmd.Args[2:]...)...)
	}
	return cmd.CombinedOutput()
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}

func sha(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// forEachRuntime runs check against every runtime, as a subtest each.
// check returns the hole it found (nil: none). A runtime expected to be
// open to cve must show the hole; any other must not.
func forEachRuntime(t *testing.T, cve string, check func(t *testing.T, r *runner) error) {
	testutil.RequireRoot(t)
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	for _, rt := range runtimes {
		// A reopened build proves only the tests the normal build passes.
		if rt.name == "rawns" && (defaultRun || os.Getenv("OCITEST_REOPEN") != "") && !slices.Contains(rawnsReady, t.Name()) {
			t.Logf("rawns-oci: %s is not in rawnsReady yet (OCITEST_RUNTIMES=rawns runs it)", t.Name())
			continue
		}
		t.Run(rt.name, func(t *testing.T) {
			r := newRunner(t, rt)
			// A cleanup, not a call after check: a t.Fatal in check ends
			// the goroutine, and its containers must go all the same.
			t.Cleanup(r.cleanup)
			hole := check(t, r)
			switch {
			case slices.Contains(rt.holes, cve) && hole == nil:
				t.Errorf("%s is expected to be open to %s here, and the test found no hole: the test cannot see it", rt.name, cve)
			case slices.Contains(rt.holes, cve):
				t.Logf("%s is open to %s, as expected: %v", rt.name, cve, hole)
			case hole != nil:
				t.Errorf("%s: %s", cve, hole)
			}
		})
	}
}

// runner drives one runtime for one test: its own --root, bundles in the
// test's temporary directory, and every container it made deleted after.
type runner struct {
	t    *testing.T
	rt   *runtime
	root string
	dir  string
	ids  []string
	seq  int
}

func newRunner(t *testing.T, rt *runtime) *runner {
	dir := t.TempDir()
	return &runner{t: t, rt: rt, root: filepath.Join(dir, "state"), dir: dir}
}

func (r *runner) cleanup() {
	for _, id := range r.ids {
		r.cmd(nil, "kill", id, "KILL").Run()
		r.cmd(nil, "delete", "--force", id).Run()
	}
	if out, err := r.cmd(nil, "list", "-q").Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		r.t.Errorf("%s list after the test's deletes: %s", r.rt.name, out)
	}
	// runc leaves the cgroups of a container whose create failed; the
	// test removes them. rawns must leave none.
	if left := cgroupsNamed(func(name string) bool { return slices.Contains(r.ids, name) }); len(left) > 0 {
		if r.rt.name == "rawns" {
			r.t.Errorf("rawns-oci left cgroups behind: %v", left)
		} else {
			r.t.Logf("%s left cgroups behind (removed): %v", r.rt.name, left)
		}
		for _, d := range left {
			if b, err := os.ReadFile(filepath.Join(d, "cgroup.procs")); err == nil {
				for _, f := range strings.Fields(string(b)) {
					if pid, err := strconv.Atoi(f); err == nil {
						r.t.Errorf("process %d still runs in %s: killed", pid, d)
						unix.Kill(pid, unix.SIGKILL)
					}
				}
				time.Sleep(50 * time.Millisecond)
			}
			if err := unix.Rmdir(d); err != nil && err != unix.ENOENT {
				r.t.Errorf("removing %s: %v", d, err)
			}
		}
	}
}

// cgroupsNamed returns the directories under /sys/fs/cgroup, eight levels
// deep at most, whose name match accepts, deepest first.
func cgroupsNamed(match func(name string) bool) []string {
	var found []string
	filepath.WalkDir("/sys/fs/cgroup", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if strings.Count(p, "/") > 11 {
			return filepath.SkipDir
		}
		if match(d.Name()) {
			found = append(found, p)
		}
		return nil
	})
	slices.Reverse(found)
	return found
}

// ids numbers the containers of the whole run: an id is never reused, so
// that what one test left cannot meet the next (runtimes name cgroups
// after ids, whatever their --root).
var ids atomic.Int64

// newID returns a fresh container id, deleted by cleanup.
func (r *runner) newID() string {
	id := fmt.Sprintf("ocitest-cve-%d-%d", os.Getpid(), ids.Add(1))
	r.ids = append(r.ids, id)
	return id
}

func (r *runner) cmd(ctx context.Context, args ...string) *exec.Cmd {
	argv := append([]string{"--root", r.root}, args...)
	if ctx == nil {
		ctx = context.Background()
	}
	cmd := exec.CommandContext(ctx, r.rt.path, argv...)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// result is what one runtime command did.
type result struct {
	out, errOut string
	err         error
}

func (x result) String() string {
	return fmt.Sprintf("err %v, stdout %q, stderr %q", x.err, x.out, x.errOut)
}

// do runs the runtime with args, its stdin /dev/null, for at most 60 s.
func (r *runner) do(args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := r.cmd(ctx, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	return result{out: o.String(), errOut: e.String(), err: err}
}

// run runs the bundle in the foreground (`run --bundle B ID`) and deletes
// it.
func (r *runner) run(bundle string) result {
	id := r.newID()
	res := r.do("run", "--bundle", bundle, id)
	r.do("delete", "--force", id)
	return res
}

// create creates a container from bundle, its stdout and stderr going to
// files in the bundle, and returns its id and host pid.
func (r *runner) create(bundle string, extra ...string) (string, int, error) {
	return r.createFiles(bundle, nil, extra...)
}

// createFiles is create with files handed to the runtime as fds 3, 4, ...
// (exec.Cmd.ExtraFiles: open across its execve, as an engine's leaked or
// --preserve-fds descriptors are).
func (r *runner) createFiles(bundle string, files []*os.File, extra ...string) (string, int, error) {
	id := r.newID()
	pidFile := filepath.Join(r.dir, id+".pid")
	out, err := os.Create(filepath.Join(bundle, id+".out"))
	if err != nil {
		r.t.Fatal(err)
	}
	defer out.Close()
	cmd := r.cmd(nil, slices.Concat([]string{"create", "--bundle", bundle, "--pid-file", pidFile}, extra, []string{id})...)
	// Files, not pipes: the container keeps its stdio after create
	// returns, and a pipe would keep exec.Cmd waiting for it.
	cmd.Stdout, cmd.Stderr = out, out
	cmd.ExtraFiles = files
	if err := cmd.Run(); err != nil {
		return id, 0, fmt.Errorf("create: %v: %s", err, output(bundle, id))
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return id, 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return id, pid, err
}

// sleeper creates and starts a container running /bin/sleep 60, and
// returns its id and bundle.
func (r *runner) sleeper() (id, bundle string) {
	bundle = r.bundle(func(s *specs.Spec, _ string) { s.Process.Args = []string{"/bin/sleep", "60"} })
	id, _, err := r.create(bundle)
	if err != nil {
		r.t.Fatal(err)
	}
	if res := r.do("start", id); res.err != nil {
		r.t.Fatalf("start: %v", res)
	}
	return id, bundle
}

// output returns what the container id wrote to stdout and stderr.
func output(bundle, id string) string {
	b, _ := os.ReadFile(filepath.Join(bundle, id+".out"))
	return string(b)
}

// waitStopped waits until the runtime reports id stopped.
func (r *runner) waitStopped(id string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		res := r.do("state", id)
		var st specs.State
		if res.err == nil && json.Unmarshal([]byte(res.out), &st) == nil && st.Status == "stopped" {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New(id + " did not stop within 30 s")
}

// bundle writes a bundle: a busybox root with the probe as /ocitest-probe
// and the marker /.ocitest-root, and a config that edit may change. The
// default config: /bin/sh, mount, pid, ipc and uts namespaces, /proc,
// runc's default capabilities (no inheritable set), no terminal.
func (r *runner) bundle(edit func(s *specs.Spec, rootfs string)) string {
	t := r.t
	r.seq++
	dir := filepath.Join(r.dir, fmt.Sprintf("bundle%d", r.seq))
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(testutil.BusyboxRoot(t), rootfs); err != nil {
		// BusyboxRoot's temporary directory may be on another file
		// system than r.dir: copy instead.
		t.Fatal(err)
	}
	if err := copyFile(probe, filepath.Join(rootfs, "ocitest-probe")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, ".ocitest-root"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	caps := []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
		"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}
	s := &specs.Spec{
		Version: "1.0.2",
		Process: &specs.Process{
			Args: []string{"/bin/sh", "-c", "true"},
			Env:  []string{"PATH=/bin"},
			Cwd:  "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps, Effective: caps, Permitted: caps,
			},
		},
		Root:     &specs.Root{Path: "rootfs"},
		Hostname: "ocitest",
		Mounts:   []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{{Type: "mount"}, {Type: "pid"}, {Type: "ipc"}, {Type: "uts"}},
		},
	}
	if edit != nil {
		edit(s, rootfs)
	}
	b, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// hostMounted reports whether path is a mount point in the test's (the
// host's) mount namespace.
func hostMounted(t *testing.T, path string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == path {
			return true
		}
	}
	return false
}
