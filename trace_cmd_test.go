package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rawns/rawns/internal/testutil"
	"github.com/rawns/rawns/security"
	"github.com/rawns/rawns/trace"
)

func TestRunTrace(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	for _, set := range []string{"pid,uts", "all", "net", "user", "time"} {
		for _, init := range []bool{false, true} {
			args := []string{"run", "--trace", "--ns", set}
			if init {
				if !strings.Contains(set, "pid") && set != "all" {
					continue // --init needs a PID namespace
				}
				args = append(args, "--init")
			}
			r := rawnsRun(t, append(args, "--", "/bin/true")...)
			if r.code != 0 || !strings.Contains(r.stderr, "trace: OK") || strings.Contains(r.stderr, "MISMATCH") {
				t.Errorf("rawns %q: exit %d\n%s", args, r.code, r.stderr)
			}
		}
	}
	r := rawnsRun(t, "run", "--trace=json", "--hostname", "traced", "--", "/bin/true")
	var got map[string]any
	if err := json.Unmarshal([]byte(r.stderr), &got); err != nil || r.code != 0 {
		t.Fatalf("--trace=json: exit %d, %v:\n%s", r.code, err, r.stderr)
	}
	if got["nodename"] != "traced" || got["ok"] != true || got["ns-pid"] != float64(1) {
		t.Errorf("--trace=json: nodename %v ok %v ns-pid %v", got["nodename"], got["ok"], got["ns-pid"])
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"run", "--trace=xml", "--", "true"}, "unknown format"},
		{[]string{"run", "--trace", "--clone", "vfork", "--", "true"}, "drop --clone vfork"},
		{[]string{"run", "--trace", "--ns", "time", "--boottime", "1", "--", "true"}, "drop --monotonic/--boottime or --trace"},
	} {
		r := rawnsRun(t, c.args...)
		if r.code != 125 || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("rawns %q: %+v; want 125 and %q", c.args, r, c.msg)
		}
	}
	// Without BPF privilege: a clear message, and nothing started.
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", rawnsBin,
		"run", "--ns", "user", "--map-root-user", "--trace", "--", "true")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 125 || !strings.Contains(string(out), "CAP_BPF") {
		t.Errorf("--trace as nobody: %v %s; want exit 125 and a message naming CAP_BPF", err, out)
	}
}

// TestTraceCommandExecsHelper: `rawns trace` replaces itself with
// `rawns-trace watch`, found next to rawns.
func TestTraceCommandExecsHelper(t *testing.T) {
	r := rawnsRun(t, "trace", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "usage: rawns trace") || r.stderr != "" {
		t.Fatalf("rawns trace --help: %+v", r)
	}
	r = rawnsRun(t, "trace", "--bogus")
	if r.code != 125 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "rawns trace --help") {
		t.Fatalf("rawns trace --bogus: %+v; want 125 and one line", r)
	}
}

// TestTraceHelperMissing: a rawns without rawns-trace beside it (nor on
// PATH) says so in one line, names the fix, and starts nothing.
func TestTraceHelperMissing(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(rawnsBin)
	if err != nil {
		t.Fatal(err)
	}
	alone := filepath.Join(dir, "rawns")
	if err := os.WriteFile(alone, b, 0o755); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, "ran")
	for _, args := range [][]string{
		{"run", "--trace", "--", "/bin/sh", "-c", "touch " + marker},
		{"trace", "--help"},
	} {
		cmd := exec.Command(alone, args...)
		cmd.Env = append(os.Environ(), "PATH=/nonexistent")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 125 {
			t.Errorf("%q: %v, want exit 125", args, err)
		}
		msg := stderr.String()
		if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, filepath.Join(dir, "rawns-trace")) || !strings.Contains(msg, "make build") {
			t.Errorf("%q: want one line naming %s and make build, got %q", args, filepath.Join(dir, "rawns-trace"), msg)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the command ran although --trace could not be set up")
	}
}

// TestRunTraceNoLeak: after run --trace the exec helper is reaped and no
// pipe leaks into the command.
func TestRunTraceNoLeak(t *testing.T) {
	testutil.RequireRoot(t)
	r := rawnsRun(t, "run", "--trace", "--ns", "pid", "--", "/bin/sh", "-c", "ls /proc/self/fd")
	if r.code != 0 || !strings.Contains(r.stderr, "trace: OK") {
		t.Fatalf("%+v", r)
	}
	// 0, 1, 2 and ls's own directory fd.
	if fds := strings.Fields(r.stdout); len(fds) > 4 {
		t.Errorf("the command inherited fds %q", fds)
	}
	// While a command that outlives the check runs, rawns's only child is
	// the command: the helper has been reaped.
	cmd := exec.Command(rawnsBin, "run", "--trace", "--ns", "pid", "--", "sleep", "2")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	var children []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		children = nil
		tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/task/*/children")
		for _, f := range tasks {
			b, _ := os.ReadFile(f)
			for _, c := range strings.Fields(string(b)) {
				comm, _ := os.ReadFile("/proc/" + c + "/comm")
				children = append(children, strings.TrimSpace(string(comm)))
			}
		}
		if len(children) == 1 && children[0] == "sleep" {
			return
		}
	}
	t.Errorf("rawns's children while the command runs: %q, want only sleep", children)
}

// proofRun is issue 24's command line, on a busybox root, running cat
// on a pipe so that the command can be read in /proc while it is held.
func proofRunArgs(root string) []string {
	return []string{"run", "--trace=json", "--rootfs", root, "--user", "1000:1000", "--groups", "27,5",
		"--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE", "--seccomp", "default", "--no-new-privs",
		"--rlimit", "nofile=123:456", "--memory", "64M", "--pids", "50", "--", "/bin/cat"}
}

// TestRunTraceProof: every property of the run is judged OK with the
// kernel's values, and those values are what /proc shows for the command
// while it runs (testutil.CheckProof, the independent oracle).
func TestRunTraceProof(t *testing.T) {
	testutil.RequireRoot(t)
	root := testutil.BusyboxRoot(t)
	cmd := exec.Command(rawnsBin, proofRunArgs(root)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	line, err := bufio.NewReader(stderr).ReadString('\n')
	if err != nil {
		t.Fatalf("no report: %v", err)
	}
	var rep struct {
		ChildPID   int             `json:"child-pid"`
		OK         bool            `json:"ok"`
		Proof      json.RawMessage `json:"proof"`
		Properties []struct {
			Name, Want, Kernel, Status, Why string
		} `json:"properties"`
	}
	if err := json.Unmarshal([]byte(line), &rep); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	status := map[string]string{}
	for _, p := range rep.Properties {
		status[p.Name] = p.Status
	}
	for _, name := range []string{"root", "cgroup2", "cgroup memory", "cgroup pids", "uid", "gid", "groups",
		"cap inheritable", "cap permitted", "cap effective", "cap bounding", "cap ambient",
		"seccomp", "no_new_privs", "rlimit nofile"} {
		if status[name] != "OK" {
			t.Errorf("%s: %q, want OK", name, status[name])
		}
	}
	if !rep.OK {
		t.Errorf("not ok: %s", line)
	}
	p := proofFromJSON(t, rep.Proof)
	want := trace.HaveRoot | trace.HaveCgroup | trace.HaveCred | trace.HaveGroups | trace.HaveCaps | trace.HaveSeccomp | trace.HaveNNP | trace.HaveRlimits | trace.HaveFile
	testutil.CheckProof(t, rep.ChildPID, p, want)
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("rawns: %v", err)
	}
}

// TestRunTraceProofLies: a lie per property on the expectation side
// (RAWNS_TRACE_FAULT, test only) makes that property a MISMATCH and rawns
// exit 124, the code of a --trace mismatch: the check can fail.
func TestRunTraceProofLies(t *testing.T) {
	testutil.RequireRoot(t)
	root := testutil.BusyboxRoot(t)
	args := proofRunArgs(root)
	args[1] = "--trace"
	args[len(args)-1] = "/bin/true"
	for _, c := range []struct{ fault, line string }{
		{"root", "root "}, {"cgroup", "cgroup"}, {"uid", "uid "}, {"gid", "gid "}, {"groups", "groups "},
		{"caps", "cap bounding "}, {"seccomp", "seccomp "}, {"nnp", "no_new_privs "}, {"rlimit", "rlimit nofile "},
	} {
		cmd := exec.Command(rawnsBin, args...)
		cmd.Env = append(os.Environ(), "RAWNS_TRACE_FAULT="+c.fault)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		ee, _ := err.(*exec.ExitError)
		found := false
		for _, l := range strings.Split(stderr.String(), "\n") {
			if strings.HasPrefix(l, c.line) && strings.Contains(l, ": MISMATCH") {
				found = true
			} else if strings.Contains(l, ": MISMATCH (") {
				t.Errorf("lie on %s: another property failed: %s", c.fault, l)
			}
		}
		if ee == nil || ee.ExitCode() != 124 || !found {
			t.Errorf("lie on %s: %v, want exit 124 and a MISMATCH line for %q:\n%s", c.fault, err, c.line, stderr.String())
		}
	}
}

// proofFromJSON reads the "proof" object of --trace=json back into a
// trace.Proof (the groups present are the ones the kernel let it read).
func proofFromJSON(t *testing.T, raw json.RawMessage) trace.Proof {
	t.Helper()
	var j struct {
		Root *struct {
			MountID   int32                      `json:"mount-id"`
			Dev       string                     `json:"dev"`
			Inode     uint64                     `json:"inode"`
			MountRoot bool                       `json:"mount-root"`
			MntNS     struct{ Inode, ID uint64 } `json:"mnt-ns"`
			FS        string                     `json:"fs"`
		} `json:"root"`
		Cgroup2    *uint64           `json:"cgroup2"`
		Cgroup1    map[string]uint64 `json:"cgroup1"`
		UID, GID   []uint32
		Securebits uint32            `json:"securebits"`
		NGroups    *int32            `json:"ngroups"`
		Groups     []uint32          `json:"groups"`
		Caps       map[string]string `json:"caps"`
		Seccomp    *int32            `json:"seccomp"`
		Filters    *int32            `json:"seccomp-filters"`
		NNP        *bool             `json:"no-new-privs"`
		Rlimits    map[string][2]int64
		File       *struct {
			Mode     string `json:"mode"`
			UID, GID uint32
			NoSuid   bool `json:"nosuid"`
		} `json:"file"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		t.Fatal(err)
	}
	var p trace.Proof
	if r := j.Root; r != nil {
		var major, minor uint32
		fmt.Sscanf(r.Dev, "%d:%d", &major, &minor)
		p.Have |= trace.HaveRoot
		p.Root = trace.RootView{MountID: r.MountID, Dev: major<<20 | minor, Ino: r.Inode, MntNS: trace.NSID{Inode: r.MntNS.Inode, ID: r.MntNS.ID}, FSType: r.FS}
		if r.MountRoot {
			p.Root.Flags = trace.RootMountRoot
		}
	}
	if j.Cgroup2 != nil {
		p.Have |= trace.HaveCgroup
		p.CgroupV2 = *j.Cgroup2
	}
	for c, n := range trace.V1Names {
		if v, ok := j.Cgroup1[n]; ok {
			p.Have |= trace.HaveCgroupV1 << c
			p.CgroupV1[c] = v
		}
	}
	if len(j.UID) == 4 && len(j.GID) == 4 {
		p.Have |= trace.HaveCred
		copy(p.UID[:], j.UID)
		copy(p.GID[:], j.GID)
		p.Securebits = j.Securebits
	}
	if j.NGroups != nil {
		p.Have |= trace.HaveGroups
		p.NGroups = *j.NGroups
		copy(p.Groups[:], j.Groups)
	}
	if len(j.Caps) == 5 {
		p.Have |= trace.HaveCaps
		for _, s := range []struct {
			name string
			v    *uint64
		}{{"inheritable", &p.Caps.Inheritable}, {"permitted", &p.Caps.Permitted}, {"effective", &p.Caps.Effective}, {"bounding", &p.Caps.Bounding}, {"ambient", &p.Caps.Ambient}} {
			*s.v, _ = strconv.ParseUint(j.Caps[s.name], 16, 64)
		}
	}
	if j.Seccomp != nil {
		p.Have |= trace.HaveSeccomp
		p.SeccompMode = *j.Seccomp
	}
	if j.Filters != nil {
		p.Have |= trace.HaveSeccompN
		p.SeccompFilters = *j.Filters
	}
	if j.NNP != nil {
		p.Have |= trace.HaveNNP
		p.NoNewPrivs = *j.NNP
	}
	if len(j.Rlimits) == trace.NumRlimits {
		p.Have |= trace.HaveRlimits
		lim := func(v int64) uint64 {
			if v < 0 {
				return trace.Unlimited
			}
			return uint64(v)
		}
		for i := range p.Rlimits {
			l := j.Rlimits[security.RlimitName(i)]
			p.Rlimits[i] = trace.RlimitValue{Cur: lim(l[0]), Max: lim(l[1])}
		}
	}
	if f := j.File; f != nil {
		p.Have |= trace.HaveFile
		mode, _ := strconv.ParseUint(f.Mode, 8, 32)
		p.File = trace.ExecFile{Mode: uint32(mode), UID: f.UID, GID: f.GID}
		if f.NoSuid {
			p.File.MntFlags = trace.MntNoSuid
		}
	}
	return p
}
