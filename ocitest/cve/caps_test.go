package cve

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// capSets parses the Cap* lines of /proc/self/status as the container's
// process printed them.
func capSets(status string) map[string]uint64 {
	sets := map[string]uint64{}
	for _, line := range strings.Split(status, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(k, "Cap") {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64); err == nil {
			sets[k] = n
		}
	}
	return sets
}

// CVE-2022-29162: runc before 1.1.2 gave exec'd processes (and with
// --cap the init) the inheritable set of the bounding set, so that a
// program with file capabilities in the image gained them at its execve,
// past what the container was given. Inheritable (and ambient) must be
// empty unless the config asks; what it asks for must be there (so the
// reading is not vacuous).
const capStatus = "grep ^Cap /proc/self/status"

// checkInheritable returns a hole unless the Cap lines in out show the
// inheritable set wantInh and no ambient capability.
func checkInheritable(t *testing.T, what, out string, wantInh uint64) error {
	sets := capSets(out)
	if _, ok := sets["CapInh"]; !ok {
		t.Fatalf("%s: no CapInh line in %q", what, out)
	}
	if sets["CapInh"] != wantInh || sets["CapAmb"] != 0 {
		return fmt.Errorf("%s: CapInh %#x CapAmb %#x, want CapInh %#x and no ambient", what, sets["CapInh"], sets["CapAmb"], wantInh)
	}
	return nil
}

func TestCVE_2022_29162_InheritableCapabilities(t *testing.T) {
	const status = capStatus
	forEachRuntime(t, "CVE-2022-29162", func(t *testing.T, r *runner) error {
		check := func(what, out string, wantInh uint64) error { return checkInheritable(t, what, out, wantInh) }
		// The container's own process, not asked.
		b := r.bundle(func(s *specs.Spec, _ string) { s.Process.Args = []string{"/bin/sh", "-c", status} })
		res := r.run(b)
		if res.err != nil {
			t.Fatalf("run: %v", res)
		}
		if err := check("the container's process", res.out, 0); err != nil {
			return err
		}
		// Asked for one: it is there, and only it.
		b = r.bundle(func(s *specs.Spec, _ string) {
			s.Process.Args = []string{"/bin/sh", "-c", status}
			s.Process.Capabilities.Inheritable = []string{"CAP_CHOWN"}
		})
		res = r.run(b)
		if res.err != nil {
			t.Fatalf("run: %v", res)
		}
		return check("the container's process with inheritable [CAP_CHOWN]", res.out, 1<<0)
	})
}

// CVE-2022-29162 at exec: the process exec runs in a running container,
// plainly and with --cap.
func TestCVE_2022_29162_InheritableCapabilitiesExec(t *testing.T) {
	const status = capStatus
	forEachRuntime(t, "CVE-2022-29162", func(t *testing.T, r *runner) error {
		check := func(what, out string, wantInh uint64) error { return checkInheritable(t, what, out, wantInh) }
		id, _ := r.sleeper()
		for _, extra := range [][]string{nil, {"--cap", "CAP_NET_ADMIN"}} {
			args := append(append([]string{"exec"}, extra...), id, "/bin/sh", "-c", status)
			res := r.do(args...)
			if res.err != nil {
				t.Fatalf("%v: %v", args, res)
			}
			if err := check(fmt.Sprintf("exec %v", extra), res.out, 0); err != nil {
				return err
			}
		}
		return nil
	})
}
