package oci

import (
	"github.com/opencontainers/runtime-spec/specs-go/features"

	"github.com/rawns/rawns/security"
)

// SupportedHooks are the hooks rawns runs; create refuses the others:
// createContainer and startContainer run in the container's namespaces,
// which needs the child to join them (setns), not there yet.
var SupportedHooks = []string{"prestart", "createRuntime", "poststart", "poststop"}

// Seccomp actions and comparison operators the compiler takes
// (security/seccomp; features_test.go holds each one compiling).
var (
	seccompActions   = []string{"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"}
	seccompOperators = []string{"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"}
	seccompArchs     = []string{"SCMP_ARCH_AARCH64", "SCMP_ARCH_X86_64"}
)

// Features is the runtime-spec's features document (features.md) for
// what Convert accepts: every value listed there is honoured, nothing
// else is. annotations describe the build.
func Features(annotations map[string]string) *features.Features {
	t, f := true, false
	var caps []string
	for n := 0; n <= security.LastCap(); n++ {
		caps = append(caps, security.CapName(n))
	}
	var ns []string
	for _, n := range nsTypes {
		ns = append(ns, string(n.name))
	}
	return &features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: specVersion,
		Hooks:         SupportedHooks,
		MountOptions:  MountOptionNames(),
		Linux: &features.Linux{
			Namespaces:   ns,
			Capabilities: caps,
			Cgroup:       &features.Cgroup{V1: &t, V2: &t, Systemd: &f, SystemdUser: &f, Rdma: &f},
			Seccomp: &features.Seccomp{
				Enabled: &t, Actions: seccompActions, Operators: seccompOperators,
				Archs: seccompArchs, KnownFlags: []string{}, SupportedFlags: []string{},
			},
			Apparmor:        &features.Apparmor{Enabled: &f},
			Selinux:         &features.Selinux{Enabled: &f},
			IntelRdt:        &features.IntelRdt{Enabled: &f},
			MountExtensions: &features.MountExtensions{IDMap: &features.IDMap{Enabled: &f}},
		},
		Annotations: annotations,
	}
}
