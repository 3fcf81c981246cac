package oci

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/cgroup"
	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/kernel"
	"github.com/rawns/rawns/internal/testutil"
)

// bundle makes a bundle with a busybox root and the default config,
// changed by edit, and returns its directory and the config.
func bundle(t *testing.T, edit func(s *specs.Spec)) (string, *specs.Spec) {
	t.Helper()
	dir := t.TempDir()
	root := testutil.BusyboxRoot(t)
	if err := os.Rename(root, filepath.Join(dir, "rootfs")); err != nil {
		t.Fatal(err)
	}
	s := DefaultSpec(false)
	s.Process.Terminal = false
	s.Process.Args = []string{"sh", "-c", "true"}
	s.Root.Readonly = kernel.AtLeast(5, 12) // refused before (root.readonly)
	if edit != nil {
		edit(s)
	}
	return dir, s
}

func TestConvertDefault(t *testing.T) {
	dir, s := bundle(t, nil)
	pl, err := Convert(s, Options{Bundle: dir})
	if err != nil {
		t.Fatal(err)
	}
	sp := &pl.Spec
	if sp.Root != filepath.Join(dir, "rootfs") || sp.ReadOnlyRoot != kernel.AtLeast(5, 12) {
		t.Errorf("root %q read-only %v", sp.Root, sp.ReadOnlyRoot)
	}
	if sp.Path != "/bin/sh" {
		t.Errorf("path %q; want /bin/sh found in the root's PATH", sp.Path)
	}
	want := clone.NewPID | clone.NewNet | clone.NewIPC | clone.NewUTS | clone.NewMount | clone.NewCgroup
	if sp.Namespaces != want {
		t.Errorf("namespaces %v; want %v", sp.Namespaces, want)
	}
	p := sp.Privilege
	if p == nil || !p.NoNewPrivs || !p.Setsid || p.Caps == nil || p.Caps.Inheritable != 0 || p.Caps.Ambient != 0 {
		t.Fatalf("privilege %+v", p)
	}
	if p.Caps.Bounding != 1<<29|1<<5|1<<10 { // AUDIT_WRITE, KILL, NET_BIND_SERVICE
		t.Errorf("bounding %#x", p.Caps.Bounding)
	}
	if len(p.Rlimits) != 1 || p.Rlimits[0].Cur != 1024 {
		t.Errorf("rlimits %+v", p.Rlimits)
	}
	// Every mount of the default config, then the default devices.
	var targets []string
	for _, m := range sp.Mounts {
		targets = append(targets, m.Target)
	}
	got := strings.Join(targets, " ")
	for _, w := range []string{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup", "/dev/null", "/dev/tty", "/dev/fd", "/dev/ptmx"} {
		if !strings.Contains(" "+got+" ", " "+w+" ") {
			t.Errorf("no mount on %s in %s", w, got)
		}
	}
	if len(pl.MountPaths) != len(sp.Mounts) {
		t.Errorf("%d mount paths for %d mounts", len(pl.MountPaths), len(sp.Mounts))
	}
}

// TestConvertErrors: each bad config is one error naming its JSON path.
func TestConvertErrors(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	cases := []struct {
		name, path, want string
		edit             func(s *specs.Spec)
	}{
		{"unknown namespace", "linux.namespaces[1].type", `unknown namespace type "foo"`, func(s *specs.Spec) {
			s.Linux.Namespaces[1].Type = "foo"
		}},
		{"namespace twice", "linux.namespaces[1].type", "listed twice", func(s *specs.Spec) {
			s.Linux.Namespaces[1].Type = "pid"
		}},
		{"mount without destination", "mounts[2].destination", "empty", func(s *specs.Spec) {
			s.Mounts[2].Destination = ""
		}},
		{"mount without type", "mounts[0].type", "empty", func(s *specs.Spec) {
			s.Mounts[0].Type = ""
		}},
		{"bind without source", "mounts[7].source", "empty", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/x", Type: "bind", Options: []string{"rbind"}})
		}},
		{"bind of a missing source", "mounts[7].source", "no such file", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/x", Source: "/nonexistent", Options: []string{"bind"}})
		}},
		{"unsupported mount option", "mounts[1].options[4]", "not supported", func(s *specs.Spec) {
			s.Mounts[1].Options = append(s.Mounts[1].Options, "idmap")
		}},
		{"negative memory limit", "linux.resources.memory.limit", "negative", func(s *specs.Spec) {
			s.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-5)}}
		}},
		{"swappiness", "linux.resources.memory.swappiness", "not supported", func(s *specs.Spec) {
			v := uint64(10)
			s.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: &v}}
		}},
		{"block I/O weight", "linux.resources.blockIO", "not supported", func(s *specs.Spec) {
			w := uint16(500)
			s.Linux.Resources = &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: &w}}
		}},
		{"bind with a superblock flag", "mounts[7].options", "superblock", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt", Type: "bind", Source: "/tmp", Options: []string{"rbind", "sync"}})
		}},
		{"tmpcopyup under an earlier mount", "mounts[8].options[1]", "not supported by rawns (tmpcopyup: mounts[7] mounts /etc earlier", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/etc", Type: "tmpfs", Source: "tmpfs"},
				specs.Mount{Destination: "/etc/../etc/", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "tmpcopyup"}})
		}},
		{"tmpcopyup over an earlier mount", "mounts[8].options[0]", "mounts[7] mounts /etc/x/y earlier", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/etc/x/y", Type: "tmpfs", Source: "tmpfs"},
				specs.Mount{Destination: "/etc", Type: "tmpfs", Source: "tmpfs", Options: []string{"tmpcopyup"}})
		}},
		{"tmpcopyup in a user namespace", "mounts[7].options[1]", "not supported by rawns (tmpcopyup in a user namespace: /etc in the root holds files", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "user"})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1000}}
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1000}}
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/etc", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "tmpcopyup"}})
		}},
		{"tmpcopyup on proc", "mounts[7].options[0]", "tmpcopyup is for a tmpfs", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/etc", Type: "proc", Source: "proc", Options: []string{"tmpcopyup"}})
		}},
		{"tmpcopyup on a bind", "mounts[7].options[1]", "not a bind", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt", Type: "bind", Source: "/tmp", Options: []string{"rbind", "tmpcopyup"}})
		}},
		{"unknown capability", "process.capabilities.bounding[1]", `unknown capability "CAP_FOO"`, func(s *specs.Spec) {
			s.Process.Capabilities.Bounding[1] = "CAP_FOO"
		}},
		{"effective not permitted", "process.capabilities.effective", "not in permitted", func(s *specs.Spec) {
			s.Process.Capabilities.Effective = append(s.Process.Capabilities.Effective, "CAP_CHOWN")
		}},
		{"unknown rlimit", "process.rlimits[0].type", "unknown resource", func(s *specs.Spec) {
			s.Process.Rlimits[0].Type = "RLIMIT_FOO"
		}},
		{"soft above hard", "process.rlimits[0]", "above the hard limit", func(s *specs.Spec) {
			s.Process.Rlimits[0].Soft = 4096
		}},
		{"no args", "process.args", "empty", func(s *specs.Spec) { s.Process.Args = nil }},
		{"relative cwd", "process.cwd", "not an absolute path", func(s *specs.Spec) { s.Process.Cwd = "tmp" }},
		{"bad env", "process.env[1]", "not KEY=VALUE", func(s *specs.Spec) { s.Process.Env[1] = "NOEQUALS" }},
		{"missing command", "process.args[0]", "executable file not found in $PATH", func(s *specs.Spec) {
			s.Process.Args = []string{"nosuchcommand"}
		}},
		{"missing path", "process.args[0]", "no such file or directory", func(s *specs.Spec) {
			s.Process.Args = []string{"/bin/nosuch"}
		}},
		{"not executable", "process.args[0]", "permission denied", func(s *specs.Spec) {
			s.Process.Args = []string{"/etc/passwd"}
		}},
		{"missing root", "root.path", "no such file", func(s *specs.Spec) { s.Root.Path = "nothere" }},
		{"hostname without uts", "hostname", "needs a new uts namespace", func(s *specs.Spec) {
			s.Linux.Namespaces[3].Type = "time"
		}},
		{"cgroups path climbing", "linux.cgroupsPath", "climbs out", func(s *specs.Spec) {
			s.Linux.CgroupsPath = "../x"
		}},
		{"user namespace without maps", "linux.uidMappings", "needs uidMappings", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "user"})
		}},
		{"relative hook", "hooks.poststop[0].path", "not an absolute path", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "true"}}}
		}},
		{"apparmor", "process.apparmorProfile", "not supported", func(s *specs.Spec) { s.Process.ApparmorProfile = "docker-default" }},
		{"seccomp action", "linux.seccomp", "unknown action", func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_FOO"}
		}},
		{"seccomp denying execveat", "linux.seccomp", "does not allow execveat(2)", func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"execveat"}, Action: specs.ActErrno}}}
		}},
		{"sysctl not namespaced", "linux.sysctl.kernel.pid_max", "is not namespaced", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"kernel.pid_max": "100000"}
		}},
		{"sysctl of a shared namespace", "linux.sysctl.net.ipv4.ip_forward", "neither creates nor joins", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces[:1], s.Linux.Namespaces[2:]...)
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		}},
		{"oom score", "process.oomScoreAdj", "outside", func(s *specs.Spec) { v := 2000; s.Process.OOMScoreAdj = &v }},
		{"device type", "linux.devices[0].type", `"x"`, func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/x", Type: "x"}}
		}},
		{"console size without terminal", "process.consoleSize", "terminal is false", func(s *specs.Spec) {
			s.Process.ConsoleSize = &specs.Box{Height: 10, Width: 10}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, s := bundle(t, c.edit)
			_, err := Convert(s, Options{Bundle: dir})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T); want an *Error at %s", err, err, c.path)
			}
			if e.Path != c.path || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q; want path %s and %q", err, c.path, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

// TestEngineUnsetValues: what engines send for a limit they were not
// asked for is accepted and sets nothing: dockerd's blockIO with weight 0
// and memory.swappiness (uint64)-1.
func TestEngineUnsetValues(t *testing.T) {
	dir, s := bundle(t, func(s *specs.Spec) {
		w := uint16(0)
		sw := ^uint64(0)
		s.Linux.Resources = &specs.LinuxResources{
			BlockIO: &specs.LinuxBlockIO{Weight: &w},
			Memory:  &specs.LinuxMemory{Swappiness: &sw},
		}
	})
	pl, err := Convert(s, Options{Bundle: dir})
	if err != nil {
		t.Fatal(err)
	}
	if r := pl.Cgroup.Resources; r.Memory != (cgroup.Memory{}) || r.CPU != (cgroup.CPU{}) || r.Pids != (cgroup.Pids{}) {
		t.Errorf("resources %+v; want none", pl.Cgroup.Resources)
	}
}

// TestSliceFormCgroupsPath: systemd's "slice:prefix:name" form, which
// containerd 1.6's CRI sends for a pod whose parent ends in ".slice"
// (SystemdCgroup = false too), is one relative directory name, as runc's
// cgroupfs manager takes it.
func TestSliceFormCgroupsPath(t *testing.T) {
	for _, p := range []string{"test.slice:cri-containerd:abc", "machine.slice:libpod:abc", "/a.slice:b:c"} {
		dir, s := bundle(t, func(s *specs.Spec) { s.Linux.CgroupsPath = p })
		pl, err := Convert(s, Options{Bundle: dir})
		if err != nil {
			t.Errorf("%q: %v", p, err)
			continue
		}
		if pl.Cgroup.Path != p {
			t.Errorf("%q: cgroup path %q; want it as it is", p, pl.Cgroup.Path)
		}
	}
}

// TestRuntimeToolsConfigs: what runtime-tools' suite sends and runc and
// crun take: filesystem options on a bind (mount(2) ignores them with
// MS_BIND), a FIFO device with a major and minor (config-linux.md: they
// are for c, b and u), SELinux labels where SELinux is off.
func TestRuntimeToolsConfigs(t *testing.T) {
	dir, s := bundle(t, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt", Source: "/etc", Options: []string{"nosuid", "mode=755", "size=1k", "bind"}})
		s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fifo", Type: "p", Major: 8, Minor: 3}}
		s.Linux.MountLabel = "system_u:object_r:svirt_sandbox_file_t:s0:c1,c2"
		s.Process.SelinuxLabel = "system_u:system_r:svirt_lxc_net_t:s0:c1,c2"
	})
	pl, err := Convert(s, Options{Bundle: dir})
	if selinuxEnabled() {
		if err == nil || !strings.Contains(err.Error(), "SELinux") {
			t.Errorf("SELinux on: %v; want the label refused", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	var bind, fifo bool
	for _, m := range pl.Spec.Mounts {
		switch {
		case m.Kind == clone.MountBind && m.Target == "/mnt":
			bind = m.Data == "" && m.Flags&unix.MS_NOSUID != 0
		case m.Kind == clone.MountDevice && m.Target == "/dev/fifo":
			fifo = m.Dev == 0 && m.Mode&unix.S_IFMT == unix.S_IFIFO
		}
	}
	if !bind || !fifo {
		t.Errorf("mounts %+v; want the bind (nosuid, no data) and the FIFO (no device number)", pl.Spec.Mounts)
	}
}

// TestTmpCopyUpEmpty: tmpcopyup where the root has nothing to copy (an
// empty directory, a missing one) is taken, and the mount made.
func TestTmpCopyUpEmpty(t *testing.T) {
	dir, s := bundle(t, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"tmpcopyup", "mode=1777"}},
			specs.Mount{Destination: "/run/x", Type: "tmpfs", Source: "tmpfs", Options: []string{"tmpcopyup"}})
	})
	pl, err := Convert(s, Options{Bundle: dir})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range pl.Spec.Mounts {
		if (m.Target == "/tmp" || m.Target == "/run/x") && m.Type == "tmpfs" && !strings.Contains(m.Data, "tmpcopyup") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("mounts %+v; want the two tmpfs, without tmpcopyup in their data", pl.Spec.Mounts)
	}
}

// TestTmpCopyUpPlanned: tmpcopyup over a directory with files is planned
// for create (Plan.CopyUps: the entry of Spec.Mounts and the option's JSON
// path), the tmpfs left to the child as any other until then;
// notmpcopyup after it undoes it.
func TestTmpCopyUpPlanned(t *testing.T) {
	dir, s := bundle(t, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/etc", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "tmpcopyup", "size=1m"}},
			// Over the first: refused with tmpcopyup, but undone.
			specs.Mount{Destination: "/etc", Type: "tmpfs", Source: "tmpfs", Options: []string{"tmpcopyup", "notmpcopyup"}},
			// PATH finds sh in the copy of /bin.
			specs.Mount{Destination: "/bin", Type: "tmpfs", Source: "tmpfs", Options: []string{"tmpcopyup"}})
		s.Process.Env = []string{"PATH=/bin"}
	})
	pl, err := Convert(s, Options{Bundle: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.CopyUps) != 2 || pl.CopyUps[0].Path != "mounts[7].options[1]" || pl.CopyUps[1].Path != "mounts[9].options[0]" {
		t.Fatalf("copy-ups %+v; want mounts[7].options[1] and mounts[9].options[0]", pl.CopyUps)
	}
	if pl.Spec.Path != "/bin/sh" {
		t.Errorf("path %q; want /bin/sh, in the copy of /bin", pl.Spec.Path)
	}
	m := pl.Spec.Mounts[pl.CopyUps[0].Mount]
	if m.Target != "/etc" || m.Kind != clone.MountFS || m.Type != "tmpfs" || m.Data != "size=1m" || m.Flags != unix.MS_NOSUID || m.FD != 0 {
		t.Errorf("the copy-up's mount %+v; want the tmpfs on /etc, size=1m, nosuid", m)
	}
	if p := pl.MountPaths[pl.CopyUps[0].Mount]; p != "mounts[7]" {
		t.Errorf("its mount path %q; want mounts[7]", p)
	}
}

// TestParseErrors: broken JSON names the line and column, a value of the
// wrong type its JSON path.
func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{"{\n \"ociVersion\": \"1.0.2\",\n \"process\": {,}\n}", "config.json: invalid JSON at line 3, column 14"},
		{`{"ociVersion": "1.0.2", "linux": {"resources": {"memory": {"limit": "1g"}}}}`, "config.json: linux.resources.memory.limit: a JSON string where a whole number (int64) belongs"},
		{`{"ociVersion": "1.0.2", "process": {"args": "sh"}}`, "process.args: a JSON string where an array belongs"},
		{`{"ociVersion": "1.0.2"`, "it ends early"},
		{`{"process": {}}`, "ociVersion is missing"},
		{`{"ociVersion": "0.5.0"}`, `ociVersion "0.5.0"`},
	} {
		_, err := Parse("config.json", []byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q): %v; want %q", c.doc, err, c.want)
		}
	}
}

// TestDefaultSpecRoundTrip: what spec writes parses back as it was.
func TestDefaultSpecRoundTrip(t *testing.T) {
	for _, rootless := range []bool{false, true} {
		s := DefaultSpec(rootless)
		data, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse("config.json", data)
		if err != nil {
			t.Fatal(err)
		}
		if back.Process.Args[0] != "sh" || back.Root.Path != "rootfs" {
			t.Errorf("round trip: %+v", back)
		}
	}
}

func TestRelativeDestinationAndRoot(t *testing.T) {
	dir, s := bundle(t, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "data", Source: "rootfs/etc", Options: []string{"rbind", "ro"}})
	})
	pl, err := Convert(s, Options{Bundle: dir})
	if err != nil {
		t.Fatal(err)
	}
	var m *clone.Mount
	for i := range pl.Spec.Mounts {
		if pl.Spec.Mounts[i].Target == "/data" {
			m = &pl.Spec.Mounts[i]
		}
	}
	if m == nil || m.Kind != clone.MountBind || m.Source != filepath.Join(dir, "rootfs/etc") {
		t.Fatalf("relative bind: %+v", m)
	}
}
