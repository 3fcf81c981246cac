package oci

import (
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/kernel"
)

// TestDeviceRules: linux.resources.devices is enforced (the v1 devices
// controller on a hybrid host, an eBPF device program on cgroup v2): a
// device node of an unregistered major (42:42, bound in from the bundle)
// is EPERM to open under "deny all", and past the cgroup's check (ENXIO:
// no driver) once a rule allows it; the default devices stay usable.
func TestDeviceRules(t *testing.T) {
	e := newEnv(t, nil)
	node := filepath.Join(e.bundle, "testdev")
	if err := unix.Mknod(node, unix.S_IFCHR|0o666, int(unix.Mkdev(42, 42))); err != nil {
		t.Fatal(err)
	}
	i64 := func(v int64) *int64 { return &v }
	var mounts []specs.Mount
	e.edit(t, func(s *specs.Spec) { mounts = s.Mounts })
	for _, c := range []struct {
		name  string
		rules []specs.LinuxDeviceCgroup
		want  string
	}{
		{"deny all", []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}, "Operation not permitted"},
		{"allowed", []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, {Allow: true, Type: "c", Major: i64(42), Minor: i64(42), Access: "r"}}, "No such device or address"},
		{"allowed by a wildcard", []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, {Allow: true, Type: "c", Major: i64(42), Access: "rw"}}, "No such device or address"},
		{"denied again", []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, {Allow: true, Type: "c", Major: i64(42), Minor: i64(42), Access: "rw"}, {Allow: false, Type: "c", Major: i64(42), Minor: i64(42), Access: "r"}}, "Operation not permitted"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.edit(t, func(s *specs.Spec) {
				s.Mounts = append(mounts[:len(mounts):len(mounts)], specs.Mount{Destination: "/dev/testdev", Source: node, Options: []string{"bind"}})
				s.Linux.Resources = &specs.LinuxResources{Devices: c.rules}
				s.Process.Args = []string{"sh", "-c", "echo x >/dev/null && echo null-ok; cat /dev/testdev"}
			})
			r := e.run(t, "run", "--bundle", e.bundle, newID("dev"))
			if !strings.Contains(r.stdout, "null-ok") || !strings.Contains(r.stderr, c.want) {
				t.Errorf("%+v; want null-ok and %q", r, c.want)
			}
		})
	}
}

// TestPrivilegedDevices: a privileged container's config as containerd
// writes it lists every node of the host's /dev in linux.devices, ptmx
// (5:2) and a node at a default link's path among them: the node at
// /dev/ptmx gives way to the link to the container's own devpts (runc's
// setupPtmx), a node at /dev/stdin stays (runc's links step keeps what is
// there), the other default links are made. And a config that binds the
// host's /dev over its /dev tmpfs gets no default device or link at all
// (runc's needsSetupDev).
func TestPrivilegedDevices(t *testing.T) {
	var st unix.Stat_t
	if err := unix.Stat("/dev/ptmx", &st); err != nil || st.Rdev != unix.Mkdev(5, 2) {
		t.Skipf("host /dev/ptmx is not 5:2: %v", err)
	}
	e := newEnv(t, func(s *specs.Spec) {
		s.Linux.Devices = []specs.LinuxDevice{
			{Path: "/dev/ptmx", Type: "c", Major: 5, Minor: 2},
			{Path: "/dev/stdin", Type: "c", Major: 1, Minor: 3},
			{Path: "/dev/kmsg", Type: "c", Major: 1, Minor: 11},
		}
		s.Process.Args = []string{"sh", "-c", "readlink /dev/ptmx; stat -c '%F %t:%T' /dev/stdin; readlink /dev/fd; stat -c '%t:%T' /dev/kmsg"}
	})
	r := e.run(t, "run", "--bundle", e.bundle, newID("priv"))
	if want := "pts/ptmx\ncharacter special file 1:3\n/proc/self/fd\n1:b\n"; r.code != 0 || r.stdout != want {
		t.Errorf("%+v; want %q", r, want)
	}

	// The host's /dev bound over the tmpfs: nothing is made in it (the
	// host's /dev has null, fd, ptmx...: a default step there would fail
	// with EEXIST, or write into the host's /dev).
	// Before Linux 5.12 a bind's propagation is refused by name
	// (mount_setattr; TestPropagation checks that): plain rbind there.
	opts := []string{"rbind", "rslave"}
	if !kernel.AtLeast(5, 12) {
		opts = opts[:1]
	}
	e.edit(t, func(s *specs.Spec) {
		s.Linux.Devices = nil
		var ms []specs.Mount
		for _, m := range s.Mounts {
			ms = append(ms, m)
			if m.Destination == "/dev" {
				ms = append(ms, specs.Mount{Destination: "/dev", Type: "bind", Source: "/dev", Options: opts})
			}
		}
		s.Mounts = ms
		s.Process.Args = []string{"sh", "-c", "test -e /dev/kmsg && echo host-dev"}
	})
	r = e.run(t, "run", "--bundle", e.bundle, newID("hostdev"))
	if r.code != 0 || r.stdout != "host-dev\n" {
		t.Errorf("with the host's /dev: %+v; want host-dev", r)
	}
}
