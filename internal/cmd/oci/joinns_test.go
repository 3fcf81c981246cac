package oci

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/rawns/rawns/clone"
)

// holdNamespaces starts a sleeping process in new namespaces of kinds
// (what `unshare --mount --uts --fork sleep` makes in runtime-tools'
// linux_ns_path) and returns its pid; it is killed at the end of the
// test, and its namespaces, and every mount made in them, with it.
func holdNamespaces(t *testing.T, kinds clone.Namespaces) string {
	t.Helper()
	s := &clone.Spec{Path: "/bin/sleep", Args: []string{"sleep", "100"}, Namespaces: kinds}
	if kinds&clone.NewUTS != 0 {
		s.Hostname = "holder"
	}
	p, err := clone.Start(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Signal(syscall.SIGKILL); p.Wait() })
	return strconv.Itoa(p.Pid)
}

// TestJoinMountAndUTSByPath: a mount namespace joined by path
// (linux.namespaces' mount with a path) gets the root and the mounts, as
// runc and crun make them there; masked paths are masked there too; a
// hostname is set in a UTS namespace joined by path. runtime-tools'
// linux_ns_path joins each kind this way.
func TestJoinMountAndUTSByPath(t *testing.T) {
	h := holdNamespaces(t, clone.NewMount|clone.NewUTS)
	e := newEnv(t, func(s *specs.Spec) {
		for i := range s.Linux.Namespaces {
			switch s.Linux.Namespaces[i].Type {
			case specs.MountNamespace:
				s.Linux.Namespaces[i].Path = "/proc/" + h + "/ns/mnt"
			case specs.UTSNamespace:
				s.Linux.Namespaces[i].Path = "/proc/" + h + "/ns/uts"
			}
		}
		s.Hostname = "joined"
		s.Process.Args = []string{"sh", "-c", "readlink /proc/self/ns/mnt; readlink /proc/self/ns/uts; hostname; wc -c </proc/keys; ls /bin/busybox; stat -c '%t:%T %F' /dev/zero"}
	})
	r := e.run(t, "run", "--bundle", e.bundle, newID("joinmnt"))
	want := nsOf(t, h, "mnt") + "\n" + nsOf(t, h, "uts") + "\njoined\n0\n/bin/busybox\n1:5 character special file\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("%+v\nwant stdout %q", r, want)
	}
	// The host's own namespaces are not the container's.
	if strings.Contains(r.stdout, nsOf(t, "self", "mnt")) || strings.Contains(r.stdout, nsOf(t, "self", "uts")) {
		t.Errorf("the container is in the test's own namespaces: %q", r.stdout)
	}
}

// TestJoinedMountMaskDevNull: in a joined mount namespace the /dev/null
// that masks files is that namespace's, which may be another container's:
// a symlink there to a host file (CVE-2025-31133's shape) or a bind mount
// over it fails create, naming the mask's step; nothing is masked with the
// file it leads to.
func TestJoinedMountMaskDevNull(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hostfile") // what a planted /dev/null leads to
	if err := os.WriteFile(file, []byte("host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, plant string }{
		{"symlink", "mount -t tmpfs tmpfs /dev && ln -s " + file + " /dev/null"},
		{"bind", "mount --bind " + file + " /dev/null"},
	} {
		h := holdNamespaces(t, clone.NewMount)
		if out, err := exec.Command("nsenter", "--mount=/proc/"+h+"/ns/mnt", "sh", "-c", c.plant).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", c.plant, err, out)
		}
		e := newEnv(t, func(s *specs.Spec) {
			for i := range s.Linux.Namespaces {
				if s.Linux.Namespaces[i].Type == specs.MountNamespace {
					s.Linux.Namespaces[i].Path = "/proc/" + h + "/ns/mnt"
				}
			}
			s.Linux.MaskedPaths = []string{"/proc/keys"}
			s.Process.Args = []string{"cat", "/proc/keys"}
		})
		r := e.run(t, "run", "--bundle", e.bundle, newID("joinnull"))
		t.Logf("%s: %s", c.name, r.stderr)
		if r.code != 1 || !strings.Contains(r.stderr, "/dev/null") || r.stdout != "" {
			t.Errorf("%s: %+v; want exit 1 naming /dev/null, nothing read", c.name, r)
		}
	}
}

// TestNoMountNamespace: a config whose linux.namespaces has no mount
// namespace runs in the runtime's own (runtime-tools' linux_ns_itype), as
// with runc and crun: the root and mounts are made there, below root.path
// alone, private (nothing propagates to the runtime's other mounts), the
// process chrooted into it; delete unmounts them (runc leaves them), and
// so does a failed create. rawns-oci runs in a private mount namespace
// of the test's (unshare), whose mount table the script reads.
func TestNoMountNamespace(t *testing.T) {
	e := newEnv(t, func(s *specs.Spec) {
		s.Linux.Namespaces = nil
		s.Hostname = ""
		s.Process.Args = []string{"sh", "-c", "readlink /proc/self/ns/mnt; ls /proc/self/fd >/dev/null && echo proc; cat /etc/hostname 2>/dev/null; ls -d /bin/busybox"}
	})
	rootfs := e.bundle + "/rootfs"
	o := ociBin + " --root " + e.root
	script := strings.Join([]string{
		"readlink /proc/self/ns/mnt",
		o + " run --bundle " + e.bundle + " " + newID("nomnt"),
		"echo after run: $(grep -c ' " + rootfs + "' /proc/self/mountinfo)",
		o + " create --bundle " + e.bundle + " " + newID("nomnt2") + " </dev/null",
		"echo created: $(grep -c ' " + rootfs + "' /proc/self/mountinfo) shared: $(grep ' " + rootfs + "' /proc/self/mountinfo | grep -c shared:)",
		// exec (and the joined hooks) chroot into the container's root.
		"echo exec: $(" + o + " exec " + newID("nomnt2") + " sh -c 'pwd; test -d /usr && echo host || echo box') $(" + o + " exec --cwd /bin " + newID("nomnt2") + " pwd)",
		o + " delete " + newID("nomnt2"),
		"echo after delete: $(grep -c ' " + rootfs + "' /proc/self/mountinfo)",
	}, "\n")
	out, err := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script).CombinedOutput()
	lines := strings.Split(string(out), "\n")
	if err != nil || len(lines) < 8 {
		t.Fatalf("%v: %s", err, out)
	}
	ns := lines[0]
	want := ns + "\n" + ns + "\nproc\n/bin/busybox\nafter run: 0\n"
	if !strings.HasPrefix(string(out), want) {
		t.Errorf("got %q; want it to begin %q (the container in the runtime's mount namespace, its root and proc)", out, want)
	}
	if c := lines[5]; !strings.HasPrefix(c, "created: ") || strings.HasPrefix(c, "created: 0") || !strings.HasSuffix(c, " shared: 0") {
		t.Errorf("while created: %q; want its mounts there, none shared", c)
	}
	if lines[6] != "exec: / box /bin" {
		t.Errorf("%q; want exec in the container's root: exec: / box /bin", lines[6])
	}
	if lines[7] != "after delete: 0" {
		t.Errorf("%q; want nothing left", lines[7])
	}
	// A create that fails in the child once the root is attached (a
	// mount point below a file) leaves nothing mounted.
	e.edit(t, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/bin/busybox/x", Type: "tmpfs", Source: "tmpfs"})
	})
	out, err = exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
		o+" create --bundle "+e.bundle+" "+newID("nomnt3")+" </dev/null; echo failed: $(grep -c ' "+rootfs+"' /proc/self/mountinfo)").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "not a directory") || !strings.HasSuffix(string(out), "failed: 0\n") {
		t.Errorf("a failed create: %v: %q; want its error and nothing left mounted", err, out)
	}
}
