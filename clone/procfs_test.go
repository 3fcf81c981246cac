//go:build linux && (amd64 || arm64)

package clone_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// TestSysctls: each sysctl is set in the child's own namespaces, not the
// host's, through the child's own proc, so a mount of the config over
// /proc/sys (here a host directory with a decoy file) is never written
// (CVE-2025-52881); oom_score_adj likewise.
func TestSysctls(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	hostForward, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	hostMsgmax, _ := os.ReadFile("/proc/sys/kernel/msgmax")
	root := testutil.BusyboxRoot(t)
	decoy := t.TempDir()
	os.MkdirAll(filepath.Join(decoy, "net/ipv4"), 0o755)
	os.WriteFile(filepath.Join(decoy, "net/ipv4/ip_forward"), []byte("decoy\n"), 0o644)
	for _, s := range testutil.CloneStyles {
		t.Run(s.Name, func(t *testing.T) {
			adj := 321
			spec := inRoot(root, `cat /mnt/proc/sys/net/ipv4/ip_forward /mnt/proc/sys/kernel/msgmax /proc/self/oom_score_adj; hostname`)
			spec.Namespaces |= clone.NewNet | clone.NewIPC
			spec.Mode, spec.Syscall = s.Mode, s.Syscall
			spec.Hostname = ""
			spec.Mounts = []clone.Mount{procMount,
				{Kind: clone.MountBind, Source: decoy, Target: "/proc/sys"},
				{Kind: clone.MountFS, Type: "proc", Target: "/mnt/proc"},
			}
			spec.Sysctls = []clone.Sysctl{{Name: "net.ipv4.ip_forward", Value: "1"}, {Name: "kernel/msgmax", Value: "12345"}, {Name: "kernel.hostname", Value: "from-sysctl"}}
			spec.OOMScoreAdj = &adj
			out, st := run(t, spec)
			if want := "1\n12345\n321\nfrom-sysctl\n"; out != want || st.ExitCode() != 0 {
				t.Errorf("got %q, %v; want %q", out, st, want)
			}
		})
	}
	if b, _ := os.ReadFile(filepath.Join(decoy, "net/ipv4/ip_forward")); string(b) != "decoy\n" {
		t.Errorf("the decoy over /proc/sys was written: %q", b)
	}
	if b, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); string(b) != string(hostForward) {
		t.Errorf("the host's ip_forward changed: %q, was %q", b, hostForward)
	}
	if b, _ := os.ReadFile("/proc/sys/kernel/msgmax"); string(b) != string(hostMsgmax) {
		t.Errorf("the host's msgmax changed: %q, was %q", b, hostMsgmax)
	}
}

func TestSysctlErrors(t *testing.T) {
	testutil.RequireRoot(t)
	_, err := clone.Start(&clone.Spec{Path: "/bin/true", Namespaces: clone.NewNet, Sysctls: []clone.Sysctl{{Name: "net.ipv4.ip_forward", Value: "1"}, {Name: "net.ipv4.nope", Value: "1"}}})
	var ce *clone.ChildError
	if !errors.As(err, &ce) || ce.Stage != clone.StageSysctl || ce.List != "Sysctls" || ce.Index != 1 || ce.Subject != "sysctl net.ipv4.nope" || ce.Stage.Phase() != clone.PhaseProcfs {
		t.Errorf("got %v (%+v); want sysctl 1 named", err, ce)
	}
	for _, c := range []struct {
		spec clone.Spec
		want string
	}{
		{clone.Spec{Namespaces: clone.NewNet, Sysctls: []clone.Sysctl{{Name: "kernel.pid_max", Value: "1"}}}, "not namespaced"},
		{clone.Spec{Namespaces: clone.NewUTS, Sysctls: []clone.Sysctl{{Name: "net.ipv4.ip_forward", Value: "1"}}}, "neither creates nor joins"},
		{clone.Spec{Namespaces: clone.NewNet, Sysctls: []clone.Sysctl{{Name: "net/../../x", Value: "1"}}}, "not a parameter name"},
		{clone.Spec{Namespaces: clone.NewNet, Sysctls: []clone.Sysctl{{Name: "/net/ipv4", Value: "1"}}}, "not a parameter name"},
		{clone.Spec{OOMScoreAdj: new(int)}, ""},
	} {
		c.spec.Path = "/bin/true"
		err := c.spec.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", c.spec.Sysctls, err, c.want)
		}
	}
	bad := 1001
	if err := (&clone.Spec{Path: "/bin/true", OOMScoreAdj: &bad}).Validate(); err == nil {
		t.Error("OOMScoreAdj 1001 accepted")
	}
}
