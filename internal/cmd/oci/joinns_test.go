package oci

import (
	"os/exec"
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
	for _, c := range []struct{ name, plant string }{
		{"symlink", "mount -t tmpfs tmpfs /dev && ln -s /etc/hostname /dev/null"},
		{"bind", "mount --bind /etc/hostname /dev/null"},
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
