package run

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/rawns/rawns/cgroup"
	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/kernel"
)

// The CLI's wording, pinned word for word: rawns run's messages name its
// flags, while the libraries under it (rootfs, cgroup, security, clone)
// report fields of their own, which the CLI maps back to its flags
// (issue 20). A refactor of either side must leave these lines as users
// see them. @D stands for the test's directory. The bad command lines are
// in testdata/messages.txt.

// messagesTxt is built into the test binary, which the vmtest runs without
// the source tree.
//
//go:embed testdata/messages.txt
var messagesTxt string

func TestMessagesPinned(t *testing.T) {
	d := pinDir(t)
	var args []string
	var err error
	cases := 0
	for n, line := range strings.Split(messagesTxt, "\n") {
		switch {
		case line == "" || line[0] == '#':
		case line[0] == '\t':
			if args == nil {
				t.Fatalf("testdata/messages.txt:%d: a message without arguments", n+1)
			}
			want := strings.ReplaceAll(line[1:], "@D", d)
			if _, err := parse(append(args, "--", "true")); err == nil || err.Error() != want {
				t.Errorf("testdata/messages.txt:%d: parse(%q):\n got %v\nwant %s", n+1, args, err, want)
			}
			args, cases = nil, cases+1
		default:
			if args, err = unquoteFields(line, d); err != nil {
				t.Fatalf("testdata/messages.txt:%d: %v", n+1, err)
			}
		}
	}
	if cases < 70 {
		t.Fatalf("only %d cases read", cases)
	}
}

// pinDir makes the directory the pinned cases name as @D: root/, a,b/ and
// x:y/, and a file.
func pinDir(t *testing.T) string {
	d := t.TempDir()
	for _, p := range []string{"root", "a,b", "x:y"} {
		if err := os.Mkdir(filepath.Join(d, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(d, "file"), []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

// unquoteFields reads a line of Go string literals separated by spaces,
// with @D replaced by d.
func unquoteFields(line, d string) ([]string, error) {
	var out []string
	for line != "" {
		q, err := strconv.QuotedPrefix(line)
		if err != nil {
			return nil, fmt.Errorf("%q: %v", line, err)
		}
		v, _ := strconv.Unquote(q)
		out = append(out, strings.ReplaceAll(v, "@D", d))
		line = strings.TrimPrefix(line[len(q):], " ")
	}
	return out, nil
}

// expand replaces @D in each argument by d.
func expand(args []string, d string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, "@D", d)
	}
	return out
}

// TestLimitMessagesPinned: a cgroup failure is worded as the flag that
// asked for the field at fault, with its value as given.
func TestLimitMessagesPinned(t *testing.T) {
	e := errors.New("E")
	for _, c := range []struct {
		args []string
		err  error
		want string
	}{
		{[]string{"--memory", "64m"}, &cgroup.Error{Field: cgroup.FieldMemoryLimit, Err: e}, "--memory 64m: E"},
		{[]string{"--memory", "64m", "--memory-swap", "-1"}, &cgroup.Error{Field: cgroup.FieldMemorySwap, Err: e}, "--memory-swap -1: E"},
		{[]string{"--pids", "8"}, &cgroup.Error{Field: cgroup.FieldPidsLimit, Err: e}, "--pids 8: E"},
		{[]string{"--cpus", "0.5"}, &cgroup.Error{Field: cgroup.FieldCPUQuota, Err: e}, "--cpus 0.5: E"},
		{[]string{"--cpu-weight", "50"}, &cgroup.Error{Field: cgroup.FieldCPUWeight, Err: e}, "--cpu-weight 50: E"},
		{[]string{"--cpuset-cpus", "0"}, &cgroup.Error{Field: cgroup.FieldCPUCpus, Err: e}, "--cpuset-cpus 0: E"},
		{[]string{"--pids", "8", "--cgroup-parent", "x/y"}, &cgroup.Error{Field: cgroup.FieldParent, Err: e}, "--cgroup-parent x/y: E"},
		// The field's flag was not given (a controller the statistics
		// wanted): the flag alone.
		{[]string{"--pids", "8"}, &cgroup.Error{Field: cgroup.FieldMemoryLimit, Err: e}, "--memory: E"},
		// The fields the CLI has no flag of its own for: the flag that
		// stands for them.
		{[]string{"--cpus", "0.5"}, &cgroup.Error{Field: cgroup.FieldCPUPeriod, Err: e}, "--cpus 0.5: E"},
		{[]string{"--cpu-weight", "50"}, &cgroup.Error{Field: cgroup.FieldCPUShares, Err: e}, "--cpu-weight 50: E"},
		{[]string{"--cpuset-cpus", "0"}, &cgroup.Error{Field: cgroup.FieldCPUMems, Err: e}, "--cpuset-cpus 0: E"},
		// Not one field's fault: the first limit flag given.
		{[]string{"--cpus", "1", "--pids", "8"}, e, "--pids 8: E"},
		{[]string{"--cgroup-parent", "p"}, e, "--cgroup-parent p: E"},
	} {
		cfg, err := parse(append(c.args, "--", "true"))
		if err != nil {
			t.Fatalf("parse(%q): %v", c.args, err)
		}
		if got := cfg.limits.wording(c.err); got.Error() != c.want {
			t.Errorf("%q, %v:\n got %v\nwant %s", c.args, c.err, got, c.want)
		}
	}
}

// TestEveryCgroupFieldHasAFlag: a field package cgroup may blame is worded
// as a flag of rawns run; but Name and Devices, which rawns run never sets
// (its cgroups are rawns-PID-START-N, and it has no device rules).
func TestEveryCgroupFieldHasAFlag(t *testing.T) {
	n := 0
	for f := cgroup.FieldNone + 1; f.String() != cgroup.FieldNone.String(); f++ {
		if limitFlag(f) == "" && f != cgroup.FieldName && f != cgroup.FieldDevices {
			t.Errorf("cgroup.%s has no flag", f)
		}
		n++
	}
	if n < 10 {
		t.Errorf("only %d fields", n)
	}
}

// TestCgroupFixPinned: what package cgroup cannot say in rawns run's
// terms, the CLI adds: the flag that gives a delegated parent cgroup.
func TestCgroupFixPinned(t *testing.T) {
	cfg, err := parse([]string{"--memory", "64m", "--", "true"})
	if err != nil {
		t.Fatal(err)
	}
	// A cgroup rawns may not make, as an unprivileged user meets it
	// (cgroup's TestPermHint holds its half of the line).
	denied := &cgroup.Error{Field: cgroup.FieldMemoryLimit, Err: fmt.Errorf("mkdir /sys/fs/cgroup/memory/rawns-1: permission denied: %w (its directory and cgroup.procs, cgroup.subtree_control owned by you, as systemd's Delegate=yes does)", cgroup.ErrNotDelegated)}
	want := "--memory 64m: mkdir /sys/fs/cgroup/memory/rawns-1: permission denied: making cgroups needs root, or a cgroup delegated to your user (its directory and cgroup.procs, cgroup.subtree_control owned by you, as systemd's Delegate=yes does) given as --cgroup-parent"
	if got := cfg.limits.wording(denied).Error(); got != want {
		t.Errorf("a cgroup that cannot be made:\n got %s\nwant %s", got, want)
	}
	var b strings.Builder
	reportStartError(&b, &config{command: []string{"true"}}, fmt.Errorf("cgroup.procs: %w", denied.Err))
	if want := "rawns run: cgroup.procs: mkdir /sys/fs/cgroup/memory/rawns-1: permission denied: making cgroups needs root, or a cgroup delegated to your user (its directory and cgroup.procs, cgroup.subtree_control owned by you, as systemd's Delegate=yes does) given as --cgroup-parent\n"; b.String() != want {
		t.Errorf("a placement that was not allowed:\n got %s\nwant %s", b.String(), want)
	}
	se := &cgroup.Error{Field: cgroup.FieldMemoryLimit, Err: &cgroup.SubtreeError{Controller: "memory", Dir: "/sys/fs/cgroup/a"}}
	want = "--memory 64m: cannot enable the memory controller below /sys/fs/cgroup/a: that cgroup holds processes, and cgroup v2 lets only a cgroup without processes (or the root) hand the memory controller to its children; run rawns from a leaf cgroup whose parent delegates memory, or give --cgroup-parent a cgroup that has memory in its cgroup.subtree_control"
	if got := cfg.limits.wording(se).Error(); got != want {
		t.Errorf("v2's no internal processes:\n got %s\nwant %s", got, want)
	}
}

// TestMountMessagesPinned: a failure of the child's mount phase names the
// flag that asked for the mount, or the root's flag for the root's steps.
func TestMountMessagesPinned(t *testing.T) {
	d := pinDir(t)
	for _, c := range []struct {
		args  []string
		stage clone.Stage
		errno syscall.Errno
		sys   string
		mount int
		want  string
	}{
		{[]string{"--rootfs", "@D/root", "--tmpfs", "/x"}, clone.StageMount, syscall.EPERM, "fsopen tmpfs", 0,
			"rawns run: --tmpfs /x: the kernel refused S (fsopen tmpfs: operation not permitted); not allowed here (in a user namespace, some mounts need the matching namespace too: pid for proc, ipc for mqueue)\n"},
		{[]string{"--rootfs", "@D/root", "--mount-proc", "--bind", "@D/file", "/f"}, clone.StageMount, syscall.ENOENT, "open_tree", 1,
			"rawns run: --bind @D/file /f: the kernel refused S (open_tree: no such file or directory)\n"},
		{[]string{"--rootfs", "@D/root", "--mount-proc", "--bind", "@D/file", "/f"}, clone.StageMount, syscall.ENODEV, "fsopen proc", 0,
			"rawns run: --mount-proc: the kernel refused S (fsopen proc: no such device); this kernel lacks that filesystem\n"},
		{[]string{"--rootfs", "@D/root", "--tmpfs", "/t", "--dev", "/dev"}, clone.StageMount, syscall.EACCES, "mkdirat", 5,
			"rawns run: --dev /dev: the kernel refused S (mkdirat: permission denied); the mount point is missing and cannot be created there (not writable: create it in the root first, or add --overlay)\n"},
		{[]string{"--rootfs", "@D/root"}, clone.StagePivot, syscall.EBUSY, "pivot_root", -1,
			"rawns run: --rootfs @D/root: the kernel refused S (pivot_root: device or resource busy)\n"},
		{[]string{"--rootfs", "@D/root", "--overlay"}, clone.StageMount, syscall.ENODEV, "fsopen overlay", -1,
			"rawns run: --overlay: the kernel refused S (fsopen overlay: no such device); this kernel has no overlayfs: modprobe overlay\n"},
		{[]string{"--rootfs", "@D/root", "--overlay-dir", "@D/ov"}, clone.StageMount, syscall.ENOSYS, "fsconfig", -1,
			"rawns run: --overlay-dir @D/ov: the kernel refused S (fsconfig: function not implemented); this kernel lacks the new mount API (Linux 5.2+, mount_setattr 5.12+, openat2 5.6+)\n"},
		{[]string{"--read-only"}, clone.StageReadOnlyRoot, syscall.EPERM, "mount_setattr", -1,
			"rawns run: --read-only: the kernel refused S (mount_setattr: operation not permitted); not allowed here (in a user namespace, some mounts need the matching namespace too: pid for proc, ipc for mqueue)\n"},
		// A mount onto the other kind (issue 25: "move_mount: invalid
		// argument"): the kinds as they are on the host, or in the root.
		{[]string{"--bind", "@D/root", "@D/file"}, clone.StageMount, syscall.EINVAL, "move_mount", 0,
			"rawns run: --bind @D/root @D/file: @D/root is a directory but @D/file is a file, and a mount goes only onto its own kind; give a directory as the destination (move_mount: invalid argument)\n"},
		{[]string{"--ro-bind", "@D/file", "@D/root"}, clone.StageMount, syscall.EINVAL, "move_mount", 0,
			"rawns run: --ro-bind @D/file @D/root: @D/file is a file but @D/root is a directory, and a mount goes only onto its own kind; give a file as the destination (move_mount: invalid argument)\n"},
		{[]string{"--rootfs", "@D", "--tmpfs", "/file"}, clone.StageMount, syscall.EINVAL, "move_mount", 0,
			"rawns run: --tmpfs /file: a tmpfs is a directory but /file in the root is a file, and a mount goes only onto its own kind; give a directory as the destination (move_mount: invalid argument)\n"},
		// The kinds match: the kernel's words alone.
		{[]string{"--bind", "@D/root", "@D/a,b"}, clone.StageMount, syscall.EINVAL, "move_mount", 0,
			"rawns run: --bind @D/root @D/a,b: the kernel refused S (move_mount: invalid argument)\n"},
		{[]string{"--rootfs", "@D/root", "--chdir", "/w"}, clone.StageChdir, syscall.ENOENT, "openat2", -1,
			"rawns run: --chdir /w: the kernel refused S (openat2: no such file or directory); give a directory inside the root (no /proc/self/fd links)\n"},
	} {
		args := expand(c.args, d)
		cfg, err := parse(append(args, "--", "true"))
		if err != nil && (strings.Contains(err.Error(), "an overlay on a tmpfs needs Linux 6.5") && !kernel.AtLeast(6, 5) ||
			strings.Contains(err.Error(), "mount_setattr(2), Linux 5.12 or later") && !kernel.AtLeast(5, 12)) {
			// The kernel lacks what the case needs (the VMs: /tmp is a
			// tmpfs, 5.10 has no mount_setattr): parse refuses first, rightly.
			continue
		}
		if err != nil {
			t.Fatalf("parse(%q): %v", args, err)
		}
		var b strings.Builder
		ce := &clone.ChildError{Stage: c.stage, Errno: c.errno, Subject: "S", Syscall: c.sys, Index: -1}
		if c.mount >= 0 {
			ce.List, ce.Index = "Mounts", c.mount
		}
		code, ok := reportMountError(&b, cfg, ce)
		if want := strings.ReplaceAll(c.want, "@D", d); !ok || code != 125 || b.String() != want {
			t.Errorf("%q, mount %d:\n got %d %v %q\nwant 125 %q", args, c.mount, code, ok, b.String(), want)
		}
	}
}
