package cve

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// CVE-2025-52881: runc wrote to procfs (sysctls under /proc/sys, LSM
// labels under /proc/self/attr) through paths in the container's own
// mount tree, which the container's config (or a racing container) could
// cover with other mounts, so its writes went elsewhere: the attack
// redirects them to /proc/sysrq-trigger or core_pattern. Here a host
// directory holding kernel/domainname (a plain file) is bound over
// /proc/sys and the config asks for that sysctl: the runtime must refuse,
// or set the sysctl for real; it must never write the host file. (A tmpfs
// over /proc/sys shows less: runc 1.1 then fails on the missing file.
// /proc/self/attr is written only with an LSM label, and this host has
// neither AppArmor nor SELinux: not tested here.)
func TestCVE_2025_52881_SysctlUnderCoveredProcSys(t *testing.T) {
	forEachRuntime(t, "CVE-2025-52881", func(t *testing.T, r *runner) error {
		cover := filepath.Join(r.dir, "fake-proc-sys")
		decoy := filepath.Join(cover, "kernel/domainname")
		if err := os.MkdirAll(filepath.Dir(decoy), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(decoy, []byte("decoy\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		// An empty tmpfs over /proc/sys first: refused, or the sysctl set.
		b := r.bundle(func(s *specs.Spec, _ string) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/proc/sys", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=64k"}})
			s.Linux.Sysctl = map[string]string{"kernel.domainname": "ocitest-sysctl"}
			s.Process.Args = []string{"/bin/sh", "-c", "exec >/tmp/result 2>&1; /ocitest-probe uname"}
		})
		if res := r.run(b); res.err == nil {
			report, _ := os.ReadFile(filepath.Join(b, "rootfs/tmp/result"))
			if !strings.Contains(string(report), "domainname=ocitest-sysctl\n") {
				return fmt.Errorf("tmpfs over /proc/sys: the sysctl kernel.domainname was not set (uname: %q) though the container ran: the runtime wrote it into the tmpfs", report)
			}
		} else {
			t.Logf("tmpfs over /proc/sys: refused: %v", res)
		}
		b = r.bundle(func(s *specs.Spec, _ string) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/proc/sys", Type: "bind", Source: cover, Options: []string{"rbind", "rw"}})
			s.Linux.Sysctl = map[string]string{"kernel.domainname": "ocitest-sysctl"}
			s.Process.Args = []string{"/bin/sh", "-c", "exec >/tmp/result 2>&1; /ocitest-probe uname; echo covered=$(cat /proc/sys/kernel/domainname 2>&1)"}
		})
		res := r.run(b)
		if got, _ := os.ReadFile(decoy); string(got) != "decoy\n" {
			return fmt.Errorf("the runtime wrote the sysctl into the host file bound over /proc/sys: it holds %q (%v)", got, res)
		}
		if res.err != nil {
			t.Logf("a host directory over /proc/sys: refused: %v", res)
			return nil
		}
		report, _ := os.ReadFile(filepath.Join(b, "rootfs/tmp/result"))
		rep := string(report)
		if !strings.Contains(rep, "domainname=") {
			t.Fatalf("no report from the container: %q (%v)", rep, res)
		}
		if !strings.Contains(rep, "domainname=ocitest-sysctl\n") {
			return fmt.Errorf("the sysctl kernel.domainname was not set (uname: %q) though the container ran: the runtime's write went into what covers /proc/sys", rep)
		}
		return nil
	})
}
