package rootfs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
)

func TestDest(t *testing.T) {
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
		got, err := dest("--tmpfs "+c.in, c.in)
		if c.err == "" && (err != nil || got != c.want) {
			t.Errorf("dest(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
		if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || !strings.HasPrefix(err.Error(), "--tmpfs ")) {
			t.Errorf("dest(%q): %v; want an error naming the flag with %q", c.in, err, c.err)
		}
	}
}

func TestVolumeAndTmpfsOptions(t *testing.T) {
	dir := t.TempDir()
	c := &Config{}
	for _, v := range []string{dir + ":/a", dir + ":/b:ro", dir + ":/c:rw"} {
		if err := c.Volume(v); err != nil {
			t.Fatalf("Volume(%q): %v", v, err)
		}
	}
	for _, v := range []string{dir, dir + ":/x:rx", dir + ":/x:ro:extra"} {
		if err := c.Volume(v); err == nil || !strings.HasPrefix(err.Error(), "--volume "+v+": ") {
			t.Errorf("Volume(%q): %v; want an error naming it", v, err)
		}
	}
	ro := []bool{false, true, false}
	for i, m := range c.Mounts {
		if m.Kind != clone.MountBind || m.Source != dir || m.Flags&unix.MS_REC == 0 || (m.Flags&unix.MS_RDONLY != 0) != ro[i] {
			t.Errorf("mount %d: %+v", i, m)
		}
	}
	if err := c.SetSize("1048576"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetSize("2"); err == nil {
		t.Errorf("a second --size before a --tmpfs was taken")
	}
	if err := c.SetPerms("1777"); err != nil {
		t.Fatal(err)
	}
	c.Tmpfs("/t1")
	c.Tmpfs("/t2")
	n := len(c.Mounts)
	if d := c.Mounts[n-2].Data; d != "mode=1777,size=1048576" {
		t.Errorf("first tmpfs data %q", d)
	}
	if d := c.Mounts[n-1].Data; d != "mode=0755" {
		t.Errorf("--size and --perms applied to the second tmpfs too: %q", d)
	}
	for _, v := range []string{"0", "-1", "1k", ""} {
		if err := (&Config{}).SetSize(v); err == nil {
			t.Errorf("SetSize(%q) accepted", v)
		}
	}
	for _, v := range []string{"8", "77777", "rw"} {
		if err := (&Config{}).SetPerms(v); err == nil {
			t.Errorf("SetPerms(%q) accepted", v)
		}
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
	for i, m := range c.Mounts {
		got = append(got, m.Kind.String()+":"+m.Target)
		if c.Labels[i] != "--dev /dev" {
			t.Errorf("mount %d labelled %q", i, c.Labels[i])
		}
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
	if err := c.Tmpfs("/tmp"); err != nil {
		t.Fatal(err)
	}
	if err := c.Finish(&s); err != nil {
		t.Fatal(err)
	}
	if s.Namespaces&clone.NewMount == 0 || s.Root != root || len(s.Mounts) != 1 {
		t.Errorf("Finish wrote %+v", s)
	}
	if err := (&Config{Overlay: true}).Finish(&clone.Spec{}); err == nil {
		t.Errorf("an overlay without a root was taken")
	}
	file := filepath.Join(root, "f")
	os.WriteFile(file, nil, 0o644)
	for _, r := range []string{file, filepath.Join(root, "missing"), "", "/"} {
		if err := (&Config{}).SetRoot(r); err == nil {
			t.Errorf("SetRoot(%q) accepted", r)
		}
	}
	// Without a root, destinations must exist on the host, or lie under an
	// earlier mount of the list.
	c = &Config{}
	c.Tmpfs("/nonexistent-rawns-test")
	if err := c.Finish(&clone.Spec{}); err == nil || !strings.Contains(err.Error(), "does not exist on the host") {
		t.Errorf("a missing host destination: %v", err)
	}
	c = &Config{}
	c.Tmpfs(root)
	c.Tmpfs(root + "/made/by/the/child")
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
