package oci

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/rawns/rawns/internal/kernel"
)

// TestTmpCopyUp: podman's --read-only layout. A read-only root whose /run
// holds files (.containerenv, a directory, a symlink out of the root), a
// tmpfs on /run with tmpcopyup, and a later bind onto /run/.containerenv:
// the container sees the root's files in its tmpfs, the bind on its copy,
// the symlink as a link (its host target unreachable), and can write in
// /run; the root on disk stays as it was, and the container holds no fd
// of the copy.
func TestTmpCopyUp(t *testing.T) {
	if !kernel.AtLeast(5, 12) {
		t.Skip("podman's options (rprivate) need mount_setattr(2), Linux 5.12+; refused by name before (TestPropagation)")
	}
	var run string
	e := newEnv(t, func(s *specs.Spec) {
		s.Mounts = append([]specs.Mount{{Destination: "/run", Type: "tmpfs", Source: "tmpfs",
			Options: []string{"rw", "rprivate", "nosuid", "nodev", "tmpcopyup"}}}, s.Mounts...)
		s.Process.Args = []string{"sh", "-c", strings.Join([]string{
			"cat /run/.containerenv /run/sub/f",
			"stat -c '%a %u:%g' /run/sub",
			"readlink /run/out; test -e /run/out || echo dangling",
			"touch /run/new && echo run-writable",
			"touch /etc/x 2>/dev/null || echo root-read-only",
			"grep -c ' /run .*nodev.* - tmpfs ' /proc/self/mountinfo",
			"ls /proc/self/fd | tr '\\n' ' '",
		}, "; ")}
	})
	run = filepath.Join(e.bundle, "rootfs", "run")
	host := filepath.Join(t.TempDir(), "containerenv")
	for _, err := range []error{
		os.MkdirAll(filepath.Join(run, "sub"), 0o751),
		os.Chown(filepath.Join(run, "sub"), 7, 8),
		os.WriteFile(filepath.Join(run, ".containerenv"), []byte("the image's\n"), 0o644),
		os.WriteFile(filepath.Join(run, "sub", "f"), []byte("copied\n"), 0o644),
		os.Symlink(filepath.Join(e.bundle, "config.json"), filepath.Join(run, "out")),
		os.WriteFile(host, []byte("engine=podman\n"), 0o644),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	e.edit(t, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/run/.containerenv", Type: "bind", Source: host, Options: []string{"bind", "ro"}})
	})
	r := e.run(t, "run", "--bundle", e.bundle, newID("copyup"))
	want := "engine=podman\ncopied\n751 7:8\n" + filepath.Join(e.bundle, "config.json") + "\ndangling\nrun-writable\nroot-read-only\n1\n0 1 2 3 "
	if r.code != 0 || r.stdout != want {
		t.Errorf("%+v\nwant stdout %q", r, want)
	}
	if _, err := os.Lstat(filepath.Join(run, "new")); err == nil {
		t.Error("the container's write to /run reached the root on disk")
	}
	if b, _ := os.ReadFile(filepath.Join(run, ".containerenv")); string(b) != "the image's\n" {
		t.Errorf("the root's .containerenv changed: %q", b)
	}
}

// TestTmpCopyUpTooBig: a copy that does not fit the tmpfs's size= fails
// create with one line naming the option and the file, and leaves nothing.
func TestTmpCopyUpTooBig(t *testing.T) {
	e := newEnv(t, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/etc", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=16k", "tmpcopyup"}})
	})
	if err := os.WriteFile(filepath.Join(e.bundle, "rootfs", "etc", "big"), make([]byte, 64<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	n := -1
	e.edit(t, func(s *specs.Spec) { n = len(s.Mounts) - 1 })
	r := e.run(t, "run", "--bundle", e.bundle, newID("copyupbig"))
	want := "mounts[" + strconv.Itoa(n) + "].options[1]: tmpcopyup: /etc/big does not fit in the tmpfs (its size= or nr_inodes=)"
	if r.code != 1 || !strings.Contains(r.stderr, want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("%+v\nwant exit 1 and one line with %q", r, want)
	}
}
