package cve

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// symlinkTargets are what the root's dev/null or dev/console points to in
// the tests of CVE-2025-31133 and CVE-2025-52565: a host file (bound into
// the container read-write at /canary, its content known to the test) and
// a procfs file. The procfs file is /proc/sys/kernel/domainname: the
// container has a UTS namespace of its own, so that even a runtime open
// to the hole changes nothing of the host's through it (the real attacks
// aim at /proc/sys/kernel/core_pattern or /proc/sysrq-trigger).
const canaryText = "ocitest canary: the container must not see or change this\n"

type linkTarget struct {
	name, target string
}

var linkTargets = []linkTarget{{"host file", "/canary"}, {"procfs file", "/proc/sys/kernel/domainname"}}

// canaryBundle writes a bundle with the host canary at /canary and the
// root's dev/NAME a symlink to target, and returns it with the canary's
// host path.
func canaryBundle(t *testing.T, r *runner, devName, target string, edit func(s *specs.Spec)) (bundle, canary string) {
	canary = filepath.Join(r.dir, "canary-"+devName)
	if err := os.WriteFile(canary, []byte(canaryText), 0o644); err != nil {
		t.Fatal(err)
	}
	bundle = r.bundle(func(s *specs.Spec, rootfs string) {
		if err := os.WriteFile(filepath.Join(rootfs, "canary"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(rootfs, "dev", devName)); err != nil {
			t.Fatal(err)
		}
		if devName == "console" {
			// /dev/ptmx as the runtime-spec's "Dev symbolic links" want
			// it, so that a runtime that does not make it itself still
			// reaches the console.
			if err := os.Symlink("pts/ptmx", filepath.Join(rootfs, "dev/ptmx")); err != nil {
				t.Fatal(err)
			}
		}
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/canary", Type: "bind", Source: canary, Options: []string{"rbind", "rw"}})
		edit(s)
	})
	return bundle, canary
}

// canaryChanged reports a change of the host canary.
func canaryChanged(t *testing.T, canary string) error {
	b, err := os.ReadFile(canary)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != canaryText {
		return fmt.Errorf("the host file %s was written through the container: it now holds %q", canary, b)
	}
	return nil
}

// CVE-2025-31133: runc masks a file by bind-mounting the container's
// /dev/null over it, and did not check that /dev/null was the null device:
// with a symlink there, it bound the symlink's target (read-write) over
// the masked path. The masked file must read empty, and writes to it must
// go nowhere.
func TestCVE_2025_31133_MaskWithSymlinkedDevNull(t *testing.T) {
	forEachRuntime(t, "CVE-2025-31133", func(t *testing.T, r *runner) error {
		var holes []string
		for _, lt := range linkTargets {
			// The report goes to a file in the root: with its dev/null a
			// symlink, runc's foreground run loses the container's
			// stdout.
			b, canary := canaryBundle(t, r, "null", lt.target, func(s *specs.Spec) {
				s.Linux.MaskedPaths = []string{"/proc/timer_list"}
				s.Process.Args = []string{"/bin/sh", "-c", "exec >/tmp/result 2>&1; echo masked:; cat /proc/timer_list; echo :end; echo overwritten >/proc/timer_list; true"}
			})
			res := r.run(b)
			if err := canaryChanged(t, canary); err != nil {
				holes = append(holes, lt.name+": "+err.Error())
			}
			if res.err != nil {
				t.Logf("%s: refused: %v", lt.name, res)
				continue
			}
			report, _ := os.ReadFile(filepath.Join(b, "rootfs/tmp/result"))
			_, after, _ := strings.Cut(string(report), "masked:\n")
			seen, _, ok := strings.Cut(after, ":end")
			if !ok {
				t.Fatalf("%s: the container did not get to print the masked file: %v, report %q", lt.name, res, report)
			}
			if seen != "" {
				holes = append(holes, fmt.Sprintf("%s: the masked /proc/timer_list reads %q: the symlink's target is bound over it", lt.name, seen))
			}
		}
		if len(holes) > 0 {
			return fmt.Errorf("%s", strings.Join(holes, "; "))
		}
		return nil
	})
}
