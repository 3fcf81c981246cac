package oci

import (
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
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
