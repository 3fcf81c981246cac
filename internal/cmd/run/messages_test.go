package run

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rawns/rawns/cgroup"
	"github.com/rawns/rawns/clone"
)

// The CLI's wording, pinned word for word: rawns run's messages name its
// flags, while the libraries under it (rootfs, cgroup, security, clone)
// report fields of their own, which the CLI maps back to its flags
// (issue 20). A refactor of either side must leave these lines as users
// see them. @D stands for the test's directory.

func TestMessagesPinned(t *testing.T) {
	d := t.TempDir()
	for _, p := range []string{"root", "a,b", "x:y"} {
		if err := os.Mkdir(filepath.Join(d, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(d, "file"), []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--rootfs", ""}, "--rootfs: empty path; give the directory that becomes /"},
		{[]string{"--rootfs", "@D/missing"}, "--rootfs @D/missing: @D/missing: no such file or directory; give an existing directory"},
		{[]string{"--rootfs", "@D/file"}, "--rootfs @D/file: not a directory; give the directory that becomes /"},
		{[]string{"--rootfs", "/"}, "--rootfs /: the host's / is already the root; drop --rootfs to mount over the host's tree"},
		{[]string{"--bind", "@D/missing", "/x"}, "--bind @D/missing /x: source @D/missing: no such file or directory; give an existing file or directory"},
		{[]string{"--bind", "", "/x"}, "--bind  /x: source \"\": give a host path"},
		{[]string{"--bind", "@D/file", "rel"}, "--bind @D/file rel: destination \"rel\" is not an absolute path inside the root"},
		{[]string{"--bind", "@D/file", "/"}, "--bind @D/file /: destination / is the root itself; use --rootfs DIR for that"},
		{[]string{"--bind", "@D/file", "/a/../../b"}, "--bind @D/file /a/../../b: destination /a/../../b climbs out of the root with .."},
		{[]string{"--ro-bind", "@D/file", "x"}, "--ro-bind @D/file x: destination \"x\" is not an absolute path inside the root"},
		{[]string{"--rootfs", "@D/root", "--bind", "@D/file", "/a\x00b"}, "--bind @D/file /a\x00b: destination \"/a\\x00b\" contains a NUL byte"},
		{[]string{"--volume", "a"}, "--volume a: give SRC:DEST, SRC:DEST:ro or SRC:DEST:rw"},
		{[]string{"--volume", "@D/file:/x:rx"}, "--volume @D/file:/x:rx: give SRC:DEST, SRC:DEST:ro or SRC:DEST:rw"},
		{[]string{"--volume", "@D/missing:/x"}, "--volume @D/missing:/x: source @D/missing: no such file or directory; give an existing file or directory"},
		{[]string{"--volume", "@D/file:x:ro"}, "--volume @D/file:x:ro: destination \"x\" is not an absolute path inside the root"},
		{[]string{"--tmpfs", "rel"}, "--tmpfs rel: destination \"rel\" is not an absolute path inside the root"},
		{[]string{"--tmpfs", "/"}, "--tmpfs /: destination / is the root itself; use --rootfs DIR for that"},
		{[]string{"--size", "0", "--tmpfs", "/x"}, "--size 0: give a size in bytes, e.g. 67108864"},
		{[]string{"--size", "abc", "--tmpfs", "/x"}, "--size abc: give a size in bytes, e.g. 67108864"},
		{[]string{"--size", "10", "--size", "20", "--tmpfs", "/x"}, "--size 20: a --size is already waiting for a --tmpfs; give --size right before its --tmpfs"},
		{[]string{"--perms", "999", "--tmpfs", "/x"}, "--perms 999: give an octal mode such as 0755 or 1777"},
		{[]string{"--perms", "0755", "--perms", "0700", "--tmpfs", "/x"}, "--perms 0700: a --perms is already waiting for a --tmpfs; give --perms right before its --tmpfs"},
		{[]string{"--rootfs", "@D/root", "--size", "10"}, "--size or --perms given without a --tmpfs after it; put them right before the --tmpfs they are for"},
		{[]string{"--rootfs", "@D/root", "--perms", "0700"}, "--size or --perms given without a --tmpfs after it; put them right before the --tmpfs they are for"},
		{[]string{"--ns", "uts,mnt", "--proc", "/proc"}, "--proc /proc without a PID namespace would show the host's processes; add pid to --ns"},
		{[]string{"--proc", "rel"}, "--proc rel: destination \"rel\" is not an absolute path inside the root"},
		{[]string{"--dev", "rel"}, "--dev rel: destination \"rel\" is not an absolute path inside the root"},
		{[]string{"--mqueue", "rel"}, "--mqueue rel: destination \"rel\" is not an absolute path inside the root"},
		{[]string{"--overlay"}, "--overlay goes over the directory of --rootfs; add --rootfs DIR"},
		{[]string{"--overlay-dir", "@D/ov"}, "--overlay goes over the directory of --rootfs; add --rootfs DIR"},
		{[]string{"--rootfs", "@D/a,b", "--overlay"}, "--overlay: overlayfs cannot take a lower directory whose path holds ',' or ':' (@D/a,b)"},
		{[]string{"--rootfs", "@D/x:y", "--overlay"}, "--overlay: overlayfs cannot take a lower directory whose path holds ',' or ':' (@D/x:y)"},
		{[]string{"--rootfs", "@D/root", "--overlay-dir", "@D/o,v"}, "--overlay-dir @D/o,v: overlayfs cannot take a directory whose path holds ',' or ':'"},
		{[]string{"--rootfs", "@D/root", "--overlay-dir", "@D/file/sub"}, "--overlay-dir @D/file/sub: @D/file/sub: not a directory"},
		{[]string{"--tmpfs", "/nonexistent-rawns-pin"}, "--tmpfs /nonexistent-rawns-pin: /nonexistent-rawns-pin does not exist on the host; without --rootfs, rawns mounts only on existing paths of the host's tree (give --rootfs, or a destination that exists)"},
		{[]string{"--bind", "@D/file", "@D/missing2"}, "--bind @D/file @D/missing2: @D/missing2 does not exist on the host; without --rootfs, rawns mounts only on existing paths of the host's tree (give --rootfs, or a destination that exists)"},
		{[]string{"--memory", "0"}, "--memory 0: size \"0\" must be above zero"},
		{[]string{"--memory", "12q"}, "--memory 12q: \"12q\" is not a size; give a number with an optional unit b, k, m, g or t (512m, 1g)"},
		{[]string{"--memory-swap", "1g"}, "--memory-swap 1g needs --memory: it is the total of memory and swap; add --memory SIZE"},
		{[]string{"--memory", "1g", "--memory-swap", "10m"}, "--memory-swap 10m is below --memory 1g: it counts memory and swap together; give at least the memory limit"},
		{[]string{"--memory", "1g", "--memory-swap", "x"}, "--memory-swap x: \"x\" is not a size; give a number with an optional unit b, k, m, g or t (512m, 1g); or -1 for unlimited swap"},
		{[]string{"--pids", "0"}, "--pids 0: give a number of processes above zero, e.g. 64"},
		{[]string{"--pids", "-3"}, "--pids -3: give a number of processes above zero, e.g. 64"},
		{[]string{"--cpus", "0"}, "--cpus: \"0\" CPUs: give a number above zero"},
		{[]string{"--cpus", "-0.5"}, "--cpus: \"-0.5\" CPUs: give a number above zero"},
		{[]string{"--cpu-weight", "0"}, "--cpu-weight 0: give a weight from 1 to 10000 (100 is the default)"},
		{[]string{"--cpu-weight", "10001"}, "--cpu-weight 10001: give a weight from 1 to 10000 (100 is the default)"},
		{[]string{"--cpuset-cpus", "0-100000"}, "--cpuset-cpus: \"0-100000\" is not a list such as 0-1,3"},
		{[]string{"--cpuset-cpus", "x"}, "--cpuset-cpus: \"x\" is not a list such as 0-1,3"},
		{[]string{"--cgroup-parent", ""}, "--cgroup-parent \"\": give a cgroup path, e.g. rawns or /rawns"},
		{[]string{"--ns", ""}, "--ns: empty namespace list; name at least one of pid,uts,mnt,ipc,net,user,cgroup,time, or all"},
		{[]string{"--ns", "pid,bogus"}, "--ns: unknown namespace \"bogus\"; known kinds are pid,uts,mnt,ipc,net,user,cgroup,time, and all"},
		{[]string{"--ns", "pid,,uts"}, "--ns: empty item in namespace list \"pid,,uts\"; separate names with single commas"},
		{[]string{"--ns", "pid,uts,pid"}, "--ns: namespace \"pid\" given twice in \"pid,uts,pid\"; name each kind once"},
		{[]string{"--ns", "pid", "--hostname", "web"}, "--hostname \"web\" needs a new UTS namespace, or the host's hostname would change; add uts to --ns"},
		{[]string{"--ns", "uts", "--mount-proc"}, "--mount-proc without a PID namespace would show the host's processes; add pid to --ns"},
		{[]string{"--propagation", "private"}, "--propagation needs a new mount namespace; add mnt to --ns"},
		{[]string{"--ns", "mnt", "--propagation", "weird"}, "--propagation: unknown propagation \"weird\"; use private, slave, shared or unchanged"},
		{[]string{"--rlimit", "bad"}, "--rlimit bad: \"bad\" is not NAME=SOFT[:HARD]; e.g. nofile=1024:4096"},
		{[]string{"--rlimit", "bogus=1"}, "--rlimit bogus=1: unknown resource \"bogus\"; use one of cpu, fsize, data, stack, core, rss, nproc, nofile, memlock, as, locks, sigpending, msgqueue, nice, rtprio, rttime"},
		{[]string{"--rlimit", "nofile=x"}, "--rlimit nofile=x: nofile: soft limit \"x\": give a number or unlimited"},
		{[]string{"--rlimit", "nofile=10:5"}, "--rlimit nofile=10:5: nofile: soft limit 10 is above the hard limit 5; the soft limit can be at most the hard one"},
		{[]string{"--rlimit", "nofile=1:2", "--rlimit", "nofile=3"}, "--rlimit nofile=3: nofile is limited twice; give each resource once"},
		{[]string{"--umask", "999"}, "--umask 999: give an octal mode from 0 to 0777, e.g. 027"},
		{[]string{"--caps", "x"}, "--caps x: unknown set; use docker, all or none"},
		{[]string{"--cap-drop", "bogus"}, "--cap-drop bogus: unknown capability \"bogus\"; give a name such as net_raw or CAP_NET_RAW (capabilities(7)), or ALL"},
		{[]string{"--cap-add", "net_raw,"}, "--cap-add net_raw,: empty capability name in \"net_raw,\"; give names such as net_raw or CAP_NET_RAW, or ALL"},
		{[]string{"--user", ""}, "--user: \"\": give UID[:GID], numbers or names, e.g. 1000:1000 or nobody"},
		{[]string{"--user", "no-such-user-rawns-pin"}, "--user: user \"no-such-user-rawns-pin\" not found in /etc/passwd; give a number or a name it lists"},
		{[]string{"--user", "0", "--groups", "no-such-group-rawns-pin"}, "--user/--groups: group \"no-such-group-rawns-pin\" not found in /etc/group; give a number or a name it lists"},
		{[]string{"--groups", "0"}, "--groups sets the supplementary groups of a --user; give --user too"},
		{[]string{"--seccomp", ""}, "--seccomp: give default, unconfined or a profile file"},
		{[]string{"--seccomp", "@D/missing"}, "--seccomp @D/missing: no such file or directory; give default, unconfined or a profile file"},
		{[]string{"--seccomp", "@D/file"}, "--seccomp @D/file: not valid JSON: line 1 (byte 0): unexpected 'h'"},
	} {
		args := make([]string, len(c.args))
		for i, a := range c.args {
			args[i] = strings.ReplaceAll(a, "@D", d)
		}
		want := strings.ReplaceAll(c.want, "@D", d)
		_, err := parse(append(args, "--", "true"))
		if err == nil || err.Error() != want {
			t.Errorf("parse(%q):\n got %v\nwant %s", args, err, want)
		}
	}
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
		if _, err := parse(append(c.args, "--", "true")); err != nil {
			t.Fatalf("parse(%q): %v", c.args, err)
		}
		if got := limitError(c.err); got.Error() != c.want {
			t.Errorf("%q, %v:\n got %v\nwant %s", c.args, c.err, got, c.want)
		}
	}
}

// TestCgroupFixPinned: what package cgroup cannot say in rawns run's
// terms, the CLI adds: the flag that gives a delegated parent cgroup.
func TestCgroupFixPinned(t *testing.T) {
	if _, err := parse([]string{"--memory", "64m", "--", "true"}); err != nil {
		t.Fatal(err)
	}
	// A cgroup rawns may not make, as an unprivileged user meets it
	// (cgroup's TestPermHint holds its half of the line).
	denied := &cgroup.Error{Field: cgroup.FieldMemoryLimit, Err: fmt.Errorf("mkdir /sys/fs/cgroup/memory/rawns-1: permission denied: %w (its directory and cgroup.procs, cgroup.subtree_control owned by you, as systemd's Delegate=yes does)", cgroup.ErrNotDelegated)}
	want := "--memory 64m: mkdir /sys/fs/cgroup/memory/rawns-1: permission denied: making cgroups needs root, or a cgroup delegated to your user (its directory and cgroup.procs, cgroup.subtree_control owned by you, as systemd's Delegate=yes does) given as --cgroup-parent"
	if got := limitError(denied).Error(); got != want {
		t.Errorf("a cgroup that cannot be made:\n got %s\nwant %s", got, want)
	}
	var b strings.Builder
	reportStartError(&b, &config{command: []string{"true"}}, fmt.Errorf("cgroup.procs: %w", denied.Err))
	if want := "rawns run: cgroup.procs: mkdir /sys/fs/cgroup/memory/rawns-1: permission denied: making cgroups needs root, or a cgroup delegated to your user (its directory and cgroup.procs, cgroup.subtree_control owned by you, as systemd's Delegate=yes does) given as --cgroup-parent\n"; b.String() != want {
		t.Errorf("a placement that was not allowed:\n got %s\nwant %s", b.String(), want)
	}
	se := &cgroup.Error{Field: cgroup.FieldMemoryLimit, Err: &cgroup.SubtreeError{Controller: "memory", Dir: "/sys/fs/cgroup/a"}}
	want = "--memory 64m: cannot enable the memory controller below /sys/fs/cgroup/a: that cgroup holds processes, and cgroup v2 lets only a cgroup without processes (or the root) hand the memory controller to its children; run rawns from a leaf cgroup whose parent delegates memory, or give --cgroup-parent a cgroup that has memory in its cgroup.subtree_control"
	if got := limitError(se).Error(); got != want {
		t.Errorf("v2's no internal processes:\n got %s\nwant %s", got, want)
	}
}

// TestMountMessagesPinned: a failure of the child's mount phase names the
// flag that asked for the mount, or the root's flag for the root's steps.
func TestMountMessagesPinned(t *testing.T) {
	d := t.TempDir()
	os.Mkdir(filepath.Join(d, "root"), 0o755)
	os.WriteFile(filepath.Join(d, "file"), nil, 0o644)
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
		{[]string{"--rootfs", "@D/root", "--chdir", "/w"}, clone.StageChdir, syscall.ENOENT, "openat2", -1,
			"rawns run: --chdir /w: the kernel refused S (openat2: no such file or directory); give a directory inside the root (no /proc/self/fd links)\n"},
	} {
		args := make([]string, len(c.args))
		for i, a := range c.args {
			args[i] = strings.ReplaceAll(a, "@D", d)
		}
		cfg, err := parse(append(args, "--", "true"))
		if err != nil {
			t.Fatalf("parse(%q): %v", args, err)
		}
		var b strings.Builder
		ce := &clone.ChildError{Stage: c.stage, Errno: c.errno, Subject: "S", Syscall: c.sys, Mount: c.mount}
		code, ok := reportMountError(&b, cfg, ce)
		if want := strings.ReplaceAll(c.want, "@D", d); !ok || code != 125 || b.String() != want {
			t.Errorf("%q, mount %d:\n got %d %v %q\nwant 125 %q", args, c.mount, code, ok, b.String(), want)
		}
	}
}
