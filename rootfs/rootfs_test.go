package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
)

func TestTarget(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"/tmp", "/tmp", ""},
		{"/a/./b//c/", "/a/b/c", ""},
		{"/a/../b", "/b", ""},
		{"/a/b/../../c", "/c", ""},
		{"/..", "", "climbs out of the root"},
		{"/a/../../b", "", "climbs out of the root"},
		{"tmp", "", "not an absolute path"},
		{"", "", "not an absolute path"},
		{"/", "", "the root itself"},
		{"/a/..", "", "the root itself"},
		{"/a\x00b", "", "NUL"},
	} {
		cfg := &Config{Mounts: make([]clone.Mount, 2)}
		got, err := cfg.target(c.in)
		if c.err == "" && (err != nil || got != c.want) {
			t.Errorf("target(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
		var re *Error
		if c.err != "" && (!errors.As(err, &re) || re.Field != FieldTarget || re.Mount != 2 ||
			!strings.Contains(err.Error(), c.err) || !strings.HasPrefix(err.Error(), "Mounts[2].Target: ")) {
			t.Errorf("target(%q): %v; want an error naming Mounts[2].Target with %q", c.in, err, c.err)
		}
	}
	if _, err := (&Config{}).target("/"); !errors.Is(err, ErrTargetIsRoot) {
		t.Errorf("target(/): %v; want ErrTargetIsRoot", err)
	}
}

func TestBindAndTmpfsOptions(t *testing.T) {
	dir := t.TempDir()
	c := &Config{}
	for i, ro := range []bool{false, true} {
		if err := c.Bind(dir, "/b", ro); err != nil {
			t.Fatalf("Bind %d: %v", i, err)
		}
		if m := c.Mounts[i]; m.Kind != clone.MountBind || m.Source != dir || m.Flags&unix.MS_REC == 0 || (m.Flags&unix.MS_RDONLY != 0) != ro {
			t.Errorf("mount %d: %+v", i, m)
		}
	}
	var re *Error
	if err := c.Bind(dir+"/missing", "/x", false); !errors.As(err, &re) || re.Field != FieldSource || re.Mount != 2 || len(c.Mounts) != 2 {
		t.Errorf("a missing source: %v (%+v), %d mounts", err, re, len(c.Mounts))
	}
	c.Tmpfs("/t1", 1048576, 0o1777)
	c.Tmpfs("/t2", 0, 0o755)
	c.Tmpfs("/t3", 0, 0o7)
	for i, want := range []string{"mode=1777,size=1048576", "mode=0755", "mode=0007"} {
		if d := c.Mounts[2+i].Data; d != want {
			t.Errorf("tmpfs %d: data %q, want %q", i, d, want)
		}
	}
	if err := c.Tmpfs("/t4", 0, 0o10000); err == nil {
		t.Errorf("a mode beyond 07777 was taken")
	}
}

func TestDevList(t *testing.T) {
	c := &Config{}
	if err := c.Dev("/dev"); err != nil {
		t.Fatal(err)
	}
	if len(c.Mounts) != DevMounts {
		t.Errorf("Dev added %d mounts; DevMounts says %d", len(c.Mounts), DevMounts)
	}
	var got []string
	for _, m := range c.Mounts {
		got = append(got, m.Kind.String()+":"+m.Target)
	}
	want := "fs:/dev bind:/dev/null bind:/dev/zero bind:/dev/full bind:/dev/random bind:/dev/urandom bind:/dev/tty fs:/dev/pts fs:/dev/shm symlink:/dev/ptmx symlink:/dev/fd symlink:/dev/stdin symlink:/dev/stdout symlink:/dev/stderr"
	if strings.Join(got, " ") != want {
		t.Errorf("Dev made\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
}

func TestFinish(t *testing.T) {
	root := t.TempDir()
	var s clone.Spec
	c := &Config{}
	if err := c.SetRoot(root); err != nil {
		t.Fatal(err)
	}
	if err := c.Tmpfs("/tmp", 0, 0o1777); err != nil {
		t.Fatal(err)
	}
	if err := c.Finish(&s); err != nil {
		t.Fatal(err)
	}
	if s.Namespaces&clone.NewMount == 0 || s.Root != root || len(s.Mounts) != 1 {
		t.Errorf("Finish wrote %+v", s)
	}
	var re *Error
	if err := (&Config{Overlay: true}).Finish(&clone.Spec{}); !errors.Is(err, ErrOverlayNeedsRoot) || !errors.As(err, &re) || re.Field != FieldOverlay {
		t.Errorf("an overlay without a root: %v", err)
	}
	if err := (&Config{Root: "/srv/a,b", Overlay: true}).Finish(&clone.Spec{}); !errors.As(err, &re) || re.Field != FieldOverlay || !strings.Contains(err.Error(), "',' or ':'") {
		t.Errorf("an overlay over a root with a comma: %v", err)
	}
	if err := (&Config{}).SetOverlay(root + "/x:y"); !errors.As(err, &re) || re.Field != FieldOverlayDir {
		t.Errorf("an overlay directory with a colon: %v", err)
	}
	file := filepath.Join(root, "f")
	os.WriteFile(file, nil, 0o644)
	for _, r := range []string{file, filepath.Join(root, "missing"), "", "/"} {
		if err := (&Config{}).SetRoot(r); !errors.As(err, &re) || re.Field != FieldRoot || !strings.HasPrefix(err.Error(), "Root: ") {
			t.Errorf("SetRoot(%q): %v; want an error naming Root", r, err)
		}
	}
	if err := (&Config{}).SetRoot("/"); !errors.Is(err, ErrRootIsHost) {
		t.Errorf("SetRoot(/): %v; want ErrRootIsHost", err)
	}
	// Without a root, destinations must exist on the host, or lie under an
	// earlier mount of the list.
	c = &Config{}
	c.Tmpfs("/tmp", 0, 0o755)
	c.Tmpfs("/nonexistent-rawns-test", 0, 0o755)
	if err := c.Finish(&clone.Spec{}); !errors.Is(err, ErrNotOnHost) || !errors.As(err, &re) || re.Field != FieldTarget || re.Mount != 1 ||
		err.Error() != "Mounts[1].Target: /nonexistent-rawns-test does not exist on the host" {
		t.Errorf("a missing host destination: %v", err)
	}
	c = &Config{}
	c.Tmpfs(root, 0, 0o755)
	c.Tmpfs(root+"/made/by/the/child", 0, 0o755)
	if err := c.Finish(&clone.Spec{}); err != nil {
		t.Errorf("a destination under an earlier tmpfs: %v", err)
	}
}

// TestLookPath: the command is found inside the root, through PATH as
// clone.EnvPath gives it; an empty PATH means the working directory only,
// as execvp(3) and GNU env have it; a name with a newline is quoted.
func TestLookPath(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin/tool"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := &Config{}
	if err := c.SetRoot(root); err != nil {
		t.Fatal(err)
	}
	if p, err := c.LookPath("tool", "/usr/bin:/bin"); err != nil || p != "/bin/tool" {
		t.Errorf("LookPath(tool) = %q, %v; want /bin/tool", p, err)
	}
	if _, err := c.LookPath("tool", ""); err == nil || !strings.Contains(err.Error(), `in PATH ""`) {
		t.Errorf("LookPath(tool) with an empty PATH: %v; want not found", err)
	}
	if _, err := c.LookPath("a\nb", "/bin"); err == nil || !strings.HasPrefix(err.Error(), `"a\nb": `) {
		t.Errorf("a name with a newline: %v; want it quoted", err)
	}
}
