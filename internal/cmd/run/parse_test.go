package run

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
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
		"--pid": "use --ns pid", "-p": "use --ns pid", "--unshare-net": "use --ns net",
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
