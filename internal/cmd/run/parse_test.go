package run

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/kernel"
	"github.com/rawns/rawns/rootfs"
)

func TestMapsImplyUserNamespace(t *testing.T) {
	for _, args := range [][]string{
		{"--map-root-user", "--", "id"},
		{"--map-user", "0", "--", "id"},
		{"--map-group", "0", "--", "id"},
	} {
		cfg, err := parse(args)
		if err != nil {
			t.Fatalf("parse(%q): %v", args, err)
		}
		if cfg.spec.Namespaces != clone.NewPID|clone.NewUTS|clone.NewUser {
			t.Errorf("parse(%q): namespaces %v, want pid,uts,user", args, cfg.spec.Namespaces)
		}
	}
}

func TestTimeOffsetBelowZero(t *testing.T) {
	_, err := parse([]string{"--ns", "time", "--boottime", "-99999999", "--", "true"})
	if err == nil || !strings.Contains(err.Error(), "--boottime -99999999: CLOCK_BOOTTIME reads ") ||
		!strings.Contains(err.Error(), "the kernel refuses to set it below zero; give an offset of at least -") {
		t.Errorf("error %v", err)
	}
	if _, err := parse([]string{"--ns", "time", "--boottime", "-1", "--monotonic", "86400", "--", "true"}); err != nil {
		t.Errorf("a small offset: %v", err)
	}
}

func TestCompatHints(t *testing.T) {
	for flag, want := range map[string]string{
		"--pid": "use --ns pid", "--unshare-net": "use --network none", "--expose": "use -p/--publish",
		"--fork": "rawns always forks", "--kill-child=SIGTERM": "rawns always does this",
		"--setenv": "use --env KEY=VALUE", "-U": "use --ns user",
	} {
		args := []string{flag, "--", "true"}
		if flag == "--setenv" {
			args = []string{flag, "A", "B", "--", "true"}
		}
		_, err := parse(args)
		if err == nil || !strings.Contains(err.Error(), "unknown flag "+flag+": ") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want a hint containing %q", flag, err, want)
		}
	}
}

func TestMapNames(t *testing.T) {
	cfg, err := parse([]string{"--map-user", "root", "--map-group", "root", "--", "id"})
	if err != nil || cfg.spec.UIDMap[0].Inside != 0 || cfg.spec.GIDMap[0].Inside != 0 {
		t.Fatalf("--map-user root --map-group root: %+v, %v", cfg, err)
	}
	if _, err := parse([]string{"--map-user", "no-such-user-rawns", "--", "id"}); err == nil ||
		!strings.Contains(err.Error(), `--map-user no-such-user-rawns: "no-such-user-rawns" not found in /etc/passwd; give a number, or a name that /etc/passwd lists`) {
		t.Errorf("unknown name: %v", err)
	}
}

// TestFilesystemFlags: --size and --perms apply to the next --tmpfs only;
// --volume's :ro and :rw; each mount of the list is labelled with the flag
// that asked for it, all of --dev's with --dev.
func TestFilesystemFlags(t *testing.T) {
	root, src := t.TempDir(), t.TempDir()
	cfg, err := parse([]string{"--rootfs", root, "--mount-proc", "--size", "1048576", "--perms", "1777", "--tmpfs", "/t1", "--tmpfs", "/t2",
		"--volume", src + ":/a", "--volume", src + ":/b:ro", "--volume", src + ":/c:rw", "--dev", "/dev", "--", "true"})
	if !kernel.AtLeast(5, 12) {
		// :ro is a read-only bind, which needs mount_setattr(2).
		if err == nil || !strings.Contains(err.Error(), "mount_setattr(2), Linux 5.12 or later") {
			t.Fatalf("before Linux 5.12: %v, want a refusal naming mount_setattr", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.fs.Mounts
	if len(m) != 6+rootfs.DevMounts || len(cfg.fs.labels) != len(m) {
		t.Fatalf("%d mounts, %d labels", len(m), len(cfg.fs.labels))
	}
	if m[1].Data != "mode=1777,size=1048576" || m[2].Data != "mode=0755" {
		t.Errorf("tmpfs data %q and %q; want the options on the first only", m[1].Data, m[2].Data)
	}
	// --size in --memory's units (issue 25: --size 1m wanted bytes).
	for v, want := range map[string]string{"1m": "1048576", "64K": "65536", "1.5g": "1610612736", "4096": "4096"} {
		c, err := parse([]string{"--size", v, "--tmpfs", "/tmp", "--", "true"})
		if err != nil || c.fs.Mounts[0].Data != "mode=0755,size="+want {
			t.Errorf("--size %s: %v; want size=%s", v, err, want)
		}
	}
	for i, ro := range []bool{false, true, false} {
		if b := m[3+i]; b.Kind != clone.MountBind || b.Source != src || (b.Flags&unix.MS_RDONLY != 0) != ro {
			t.Errorf("--volume %d: %+v", i, b)
		}
	}
	want := []string{"--mount-proc", "--tmpfs /t1", "--tmpfs /t2", "--volume " + src + ":/a", "--volume " + src + ":/b:ro", "--volume " + src + ":/c:rw"}
	for i := range m {
		w := "--dev /dev"
		if i < len(want) {
			w = want[i]
		}
		if cfg.fs.mountLabel(i) != w {
			t.Errorf("mount %d (%s) labelled %q, want %q", i, m[i].Target, cfg.fs.mountLabel(i), w)
		}
	}
	if l := cfg.fs.mountLabel(-1); l != "--rootfs "+root {
		t.Errorf("the root's steps labelled %q", l)
	}
}

// TestDockerHints: docker's and podman's spellings get the rawns way, or
// why rawns has none, never unshare's meaning of the same letter alone:
// -i and --ipc host were told "--ns ipc" (the opposite of --ipc host), -u
// 65534 "--ns uts", -m 64m "--ns mnt", and -v SRC:DEST ran SRC:DEST as the
// command (issue 25).
func TestDockerHints(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-it", "--", "sh"}, "unknown flag -it: docker's -it is -t in rawns"},
		{[]string{"-i", "--", "sh"}, "unknown flag -i: the command always gets rawns's stdin"},
		{[]string{"--interactive", "--", "sh"}, "the command always gets rawns's stdin"},
		{[]string{"-e", "A=1", "--", "sh"}, "unknown flag -e: use --env KEY=VALUE"},
		{[]string{"-w", "/tmp", "--", "sh"}, "unknown flag -w: use --chdir DIR"},
		{[]string{"--workdir", "/tmp", "--", "sh"}, "unknown flag --workdir: use --chdir DIR"},
		{[]string{"--workdir=/tmp", "--", "sh"}, "unknown flag --workdir=/tmp: use --chdir DIR"},
		{[]string{"--rm", "--", "sh"}, "unknown flag --rm: rawns leaves nothing to remove"},
		{[]string{"--name", "web", "--", "sh"}, "unknown flag --name: a rawns run has no name"},
		{[]string{"-d", "--", "sh"}, "unknown flag -d: rawns run stays in the foreground"},
		{[]string{"--detach", "--", "sh"}, "unknown flag --detach: rawns run stays in the foreground"},
		{[]string{"--privileged", "--", "sh"}, "unknown flag --privileged: rawns keeps the caller's capabilities"},
		{[]string{"--mount", "type=bind,source=/a,target=/b", "--", "sh"}, "use --bind SRC DEST"},
		{[]string{"--ipc", "host", "--", "sh"}, "docker's --ipc host is what rawns does by default"},
		{[]string{"--pid", "host", "--", "sh"}, "docker's --pid host is --ns without pid"},
		{[]string{"-u", "65534", "--", "sh"}, "for docker's -u/--user use --user UID[:GID]"},
		{[]string{"-m", "64m", "--", "sh"}, "for docker's -m/--memory use --memory SIZE"},
		{[]string{"--entrypoint", "sh", "--", "sh"}, "the words after -- are the whole command"},
		{[]string{"--pids-limit", "5", "--", "sh"}, "use --pids N"},
		{[]string{"--ulimit", "nofile=5", "--", "sh"}, "use --rlimit NAME=SOFT[:HARD]"},
		{[]string{"--security-opt", "seccomp=x.json", "--", "sh"}, "seccomp=FILE is --seccomp FILE"},
		{[]string{"--env-file", "f", "--", "sh"}, "give each variable as --env KEY=VALUE"},
		{[]string{"-v", "/srv:/data", "sh"}, "-v is --verbose in rawns, so /srv:/data would be the command; for docker's -v SRC:DEST write --volume SRC:DEST"},
		{[]string{"--verbose", "-v", "/srv:/data", "sh"}, "flag --verbose given twice"},
	} {
		_, err := parse(c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("parse(%q) = %v; want one line with %q", c.args, err, c.want)
		}
	}
	// -- before a command whose name has a colon: meant, not a volume.
	if _, err := parse([]string{"-v", "--", "a:b"}); err != nil {
		t.Errorf("-v -- a:b: %v", err)
	}
}

// TestPropagationWithFilesystemFlags: every filesystem flag adds mnt, so
// --propagation goes with them as it goes with --mount-proc; it was told
// "needs a new mount namespace; add mnt to --ns" (issue 25, bug 2).
func TestPropagationWithFilesystemFlags(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--propagation", "private", "--bind", dir, "/mnt"},
		{"--propagation", "slave", "--tmpfs", "/tmp"},
		{"--propagation", "private", "--rootfs", dir},
		{"--tmpfs", "/tmp", "--propagation", "private"},
		{"--mount-proc", "--propagation", "slave"},
	} {
		cfg, err := parse(append(args, "--", "true"))
		if err != nil {
			t.Errorf("parse(%q): %v", args, err)
			continue
		}
		want := clone.PropagationPrivate
		if slices.Contains(args, "slave") {
			want = clone.PropagationSlave
		}
		if cfg.spec.Namespaces&clone.NewMount == 0 || cfg.spec.Propagation != want {
			t.Errorf("parse(%q): namespaces %v, propagation %v", args, cfg.spec.Namespaces, cfg.spec.Propagation)
		}
	}
	if _, err := parse([]string{"--propagation", "slave", "--", "true"}); err == nil || !strings.Contains(err.Error(), "--propagation needs a new mount namespace; add mnt to --ns") {
		t.Errorf("--propagation alone: %v", err)
	}
}
