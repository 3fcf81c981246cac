package oci

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/rawns/rawns/clone"
)

// TestMountNamespaceKinds: a config without a mount namespace makes its
// root and mounts in the runtime's own (HostMountNS, as runc and crun
// run it); one joining a mount namespace by path makes them there, with
// the default devices made, not bound from that namespace's /dev; a
// hostname goes to a UTS namespace joined by path.
func TestMountNamespaceKinds(t *testing.T) {
	dir, s := bundle(t, func(s *specs.Spec) {
		var keep []specs.LinuxNamespace
		for _, n := range s.Linux.Namespaces {
			if n.Type != specs.MountNamespace {
				keep = append(keep, n)
			}
		}
		s.Linux.Namespaces = keep
	})
	pl, err := Convert(s, Options{Bundle: dir})
	if err != nil || !pl.Spec.HostMountNS || pl.Spec.Root == "" {
		t.Fatalf("no mount namespace: %v, %+v", err, pl)
	}

	dir, s = bundle(t, func(s *specs.Spec) {
		for i := range s.Linux.Namespaces {
			switch s.Linux.Namespaces[i].Type {
			case specs.MountNamespace:
				s.Linux.Namespaces[i].Path = "/proc/1/ns/mnt"
			case specs.UTSNamespace:
				s.Linux.Namespaces[i].Path = "/proc/1/ns/uts"
			}
		}
		s.Hostname = "joined"
	})
	pl, err = Convert(s, Options{Bundle: dir})
	if err != nil {
		t.Fatal(err)
	}
	if pl.Spec.HostMountNS || pl.Spec.Namespaces&(clone.NewMount|clone.NewUTS) != 0 || pl.Spec.Hostname != "joined" || len(pl.Joins) != 2 {
		t.Errorf("joined mount and uts: %+v", pl.Spec)
	}
	made := false
	for _, m := range pl.Spec.Mounts {
		if m.Target == "/dev/null" {
			made = m.Kind == clone.MountDevice && m.Dev == 1<<8|3
		}
	}
	if !made {
		t.Errorf("/dev/null is not made as the null device (1:3) in a joined mount namespace: %+v", pl.Spec.Mounts)
	}
}
