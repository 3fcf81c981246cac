package oci

import (
	"encoding/json"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/rawns/rawns/security/seccomp"
)

// TestFeaturesHonoured: every value the features document lists is one
// Convert takes, and the seccomp names are ones the compiler takes.
func TestFeaturesHonoured(t *testing.T) {
	f := Features(nil)
	if _, err := json.Marshal(f); err != nil {
		t.Fatal(err)
	}
	for _, a := range f.Linux.Seccomp.Actions {
		p := &seccomp.Profile{DefaultAction: "SCMP_ACT_ALLOW", Syscalls: []seccomp.Rule{{Names: []string{"getpid"}, Action: a}}}
		if _, err := seccomp.Compile(p, seccomp.Native(), seccomp.Options{}); err != nil {
			t.Errorf("action %s: %v", a, err)
		}
	}
	for _, op := range f.Linux.Seccomp.Operators {
		p := &seccomp.Profile{DefaultAction: "SCMP_ACT_ALLOW", Syscalls: []seccomp.Rule{{Names: []string{"getpid"}, Action: "SCMP_ACT_ERRNO", Args: []seccomp.Arg{{Index: 0, Value: 1, Op: op}}}}}
		if _, err := seccomp.Compile(p, seccomp.Native(), seccomp.Options{}); err != nil {
			t.Errorf("operator %s: %v", op, err)
		}
	}
	for _, a := range f.Linux.Seccomp.Archs {
		p := &seccomp.Profile{DefaultAction: "SCMP_ACT_ALLOW", Architectures: []string{a}}
		if _, err := seccomp.Compile(p, seccomp.Native(), seccomp.Options{}); err != nil {
			t.Errorf("arch %s: %v", a, err)
		}
	}
	for _, o := range f.MountOptions {
		dir, s := bundle(t, func(s *specs.Spec) {
			m := specs.Mount{Destination: "/mnt", Type: "tmpfs", Source: "tmpfs", Options: []string{o}}
			if o == "bind" || o == "rbind" {
				m = specs.Mount{Destination: "/mnt", Source: "/tmp", Options: []string{o}}
			}
			s.Mounts = append(s.Mounts, m)
		})
		if _, err := Convert(s, Options{Bundle: dir}); err != nil {
			t.Errorf("mount option %s: %v", o, err)
		}
	}
	for _, ns := range f.Linux.Namespaces {
		if _, ok := NamespaceFlag(specs.LinuxNamespaceType(ns)); !ok {
			t.Errorf("namespace %s", ns)
		}
	}
	for _, h := range f.Hooks {
		if !slices.Contains(HookKinds[:], h) {
			t.Errorf("hook %s", h)
		}
	}
}
