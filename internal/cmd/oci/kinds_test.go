package oci

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/container"
	"github.com/rawns/rawns/internal/kernel"
)

// TestMaskedReadonlySysctlOOMDevices: the config fields that are steps of
// the child: masked paths hide (a directory empty, a file reading as
// /dev/null), read-only paths refuse writes, sysctls are set in the
// container's namespaces (and the host's stay), oom_score_adj is the
// process's, device nodes are made with their numbers, mode and owner.
func TestMaskedReadonlySysctlOOMDevices(t *testing.T) {
	hostFwd, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	e := newEnv(t, func(s *specs.Spec) {
		adj := 500
		mode := os.FileMode(0o620)
		uid, gid := uint32(7), uint32(9)
		s.Process.OOMScoreAdj = &adj
		s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"}
		s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: &mode, UID: &uid, GID: &gid}}
		s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, "/proc/nonexistent")
		s.Process.Args = []string{"sh", "-c", strings.Join([]string{
			"wc -c </proc/keys",
			"ls /proc/acpi | wc -l",
			"echo 1 >/proc/sys/kernel/domainname 2>/dev/null && echo writable || echo sys-read-only",
			"cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni",
			"cat /proc/self/oom_score_adj",
			"stat -c '%t:%T %a %u:%g %F' /dev/fuse",
		}, "; ")}
	})
	r := e.run(t, "run", "--bundle", e.bundle, newID("kinds"))
	want := "0\n0\nsys-read-only\n1\n1234\n500\na:e5 620 7:9 character special file\n"
	if !kernel.AtLeast(5, 12) {
		// No linux.readonlyPaths before 5.12 (newEnv leaves them out:
		// TestReadOnlyPathsOld), so /proc/sys is the container's to write
		// (domainname is its UTS namespace's).
		want = strings.Replace(want, "sys-read-only", "writable", 1)
	}
	if r.code != 0 || r.stdout != want {
		t.Errorf("%+v\nwant stdout %q", r, want)
	}
	if now, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); string(now) != string(hostFwd) {
		t.Errorf("the host's ip_forward changed: %q -> %q", hostFwd, now)
	}
	// A sysctl that is not namespaced is refused by name.
	e.edit(t, func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"vm.swappiness": "1"} })
	if r := e.run(t, "run", "--bundle", e.bundle, newID("kinds2")); r.code != 1 || !strings.Contains(r.stderr, "linux.sysctl.vm.swappiness: is not namespaced") {
		t.Errorf("vm.swappiness: %+v", r)
	}
}

// TestPropagation: a mount asked rshared is a shared mount in the
// container (its propagation shows in mountinfo); rootfsPropagation
// shared makes / shared.
func TestPropagation(t *testing.T) {
	for _, c := range []struct{ mnt, root, where string }{{"rshared", "", "/mnt"}, {"", "shared", "/"}} {
		e := newEnv(t, func(s *specs.Spec) {
			if c.mnt != "" {
				s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt", Type: "tmpfs", Source: "tmpfs", Options: []string{c.mnt}})
			}
			s.Linux.RootfsPropagation = c.root
			s.Process.Args = []string{"sh", "-c", "grep -E ' " + c.where + " ' /proc/self/mountinfo"}
		})
		r := e.run(t, "run", "--bundle", e.bundle, newID("prop"+c.root))
		if !kernel.AtLeast(5, 12) {
			// Propagation is set with mount_setattr(2): refused by name.
			if r.code != 1 || !strings.Contains(r.stderr, "mount_setattr(2), Linux 5.12") {
				t.Errorf("before 5.12, %s: %+v; want exit 1 and a line naming mount_setattr", c.where, r)
			}
			continue
		}
		if r.code != 0 || !strings.Contains(r.stdout, "shared:") {
			t.Errorf("%s is not shared: %+v", c.where, r)
		}
	}
}

// TestBidirectionalPropagation: Kubernetes' Bidirectional mount
// propagation, as containerd writes it (rootfsPropagation rshared, the
// volume rbind,rshared): a mount the container makes in the volume
// reaches the host's side, and one the host makes there reaches the
// container, as with runc (critest's "Mount Propagation ... 'rshared'").
func TestBidirectionalPropagation(t *testing.T) {
	if !kernel.AtLeast(5, 12) {
		t.Skip("propagation is set with mount_setattr(2), Linux 5.12 or later (TestPropagation checks the refusal)")
	}
	vol := t.TempDir()
	if err := unix.Mount(vol, vol, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unix.Unmount(filepath.Join(vol, "fromhost"), unix.MNT_DETACH)
		unix.Unmount(filepath.Join(vol, "fromcontainer"), unix.MNT_DETACH)
		unix.Unmount(vol, unix.MNT_DETACH)
	})
	if err := unix.Mount("", vol, "", unix.MS_SHARED, ""); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"fromhost", "fromcontainer"} {
		if err := os.Mkdir(filepath.Join(vol, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnv(t, func(s *specs.Spec) {
		s.Linux.RootfsPropagation = "rshared"
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/vol", Type: "bind", Source: vol, Options: []string{"rbind", "rshared", "rw"}})
		s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_SYS_ADMIN")
		s.Process.Capabilities.Effective = append(s.Process.Capabilities.Effective, "CAP_SYS_ADMIN")
		s.Process.Capabilities.Permitted = append(s.Process.Capabilities.Permitted, "CAP_SYS_ADMIN")
		s.Process.Args = []string{"sh", "-c", "mount -t tmpfs -o size=64k e2eprop /vol/fromcontainer && while [ ! -e /vol/fromhost/marker ]; do sleep 0.05; done; echo seen"}
	})
	id := newID("bidir")
	if r, _ := e.detached(t, "run", "-d", "--bundle", e.bundle, id); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	t.Cleanup(func() { e.run(t, "delete", "--force", id) })
	// The container's mount, seen on the host.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var st unix.Statfs_t
		if unix.Statfs(filepath.Join(vol, "fromcontainer"), &st) == nil && st.Type == unix.TMPFS_MAGIC {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the tmpfs the container mounted on /vol/fromcontainer never reached the host's side")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The host's mount, seen in the container.
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "marker"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(host, filepath.Join(vol, "fromhost"), "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	e.waitStatus(t, id, container.Stopped)
}
