//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ociRuntime is an OCI runtime binary the engines are pointed at.
type ociRuntime struct {
	Name string // what the tests, podman's containers.conf and dockerd call it
	Path string
}

// runtimesUnderTest are the runtimes engine's tests run with, in one run:
// RAWNS_E2E_RUNTIMES (comma-separated names) for every engine when set
// (RAWNS_E2E_CRI_RUNTIMES for the CRI, before it), else the engine's
// defaultRuntimes. A runtime that is asked for and
// missing fails the test that needs it.
func runtimesUnderTest(t testing.TB, engine string) []ociRuntime {
	t.Helper()
	names := os.Getenv("RAWNS_E2E_RUNTIMES")
	if v := os.Getenv("RAWNS_E2E_CRI_RUNTIMES"); engine == "cri" && v != "" {
		// critest takes minutes per handler: RAWNS_E2E_CRI_RUNTIMES=runc
		// keeps a CI run without rawns's pass (docs/oci.md).
		names = v
	}
	if names == "" {
		d, ok := defaultRuntimes[engine]
		if !ok {
			t.Fatalf("no default runtimes for engine %q", engine)
		}
		names = d.names
		if d.without != "" {
			sb.mu.Lock()
			sb.notes[engine] = d.without
			sb.mu.Unlock()
		}
	}
	var out []ociRuntime
	for _, n := range strings.Split(names, ",") {
		rt, err := runtimeByName(strings.TrimSpace(n))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rt)
	}
	return out
}

// defaultRuntimes are what each engine runs with when RAWNS_E2E_RUNTIMES
// is not set: rawns beside runc where the engine's tests pass with
// rawns-oci, but for the cases in notYet (runtime/case: the exact reason,
// rawns-oci's refusal), which are left out of the default run only; runc
// alone where rawns-oci fails the engine at large (without: why).
// docs/oci.md, "What runs on rawns today", has the same list.
// RAWNS_E2E_RUNTIMES=rawns,runc runs every case with rawns.
var defaultRuntimes = map[string]struct {
	names, without string
	notYet         map[string]string
}{
	"containerd": {names: "rawns,runc"},
	"docker":     {names: "rawns,runc"},
	"podman":     {names: "rawns,runc"},
	// cri's notYet would be critest specs (rawns/SPEC, SPEC as ginkgo's
	// full text): TestCRI would not hold rawns to runc's result for them
	// in the default run, and would name them at the end. None today.
	"cri":   {names: "rawns,runc"},
	"bench": {names: "runc"},
}

// runCase runs engine's case name with runtime rt as a parallel subtest of
// t, unless it is among the engine's notYet and RAWNS_E2E_RUNTIMES is not
// set: then it is not run, and the end of the run says so and why.
func runCase(t *testing.T, engine, rt, name string, f func(*testing.T)) {
	if os.Getenv("RAWNS_E2E_RUNTIMES") == "" {
		if why, ok := defaultRuntimes[engine].notYet[rt+"/"+name]; ok {
			sb.mu.Lock()
			sb.notes[engine+" "+rt+"/"+name] = why
			sb.mu.Unlock()
			return
		}
	}
	t.Run(name, parallel(f))
}

// notYetSpec reports whether a critest spec is among cri's notYet for
// runtime rt in the default run, and notes it for the end of the run.
func notYetSpec(rt, spec string) bool {
	if os.Getenv("RAWNS_E2E_RUNTIMES") != "" {
		return false
	}
	why, ok := defaultRuntimes["cri"].notYet[rt+"/"+spec]
	if ok {
		sb.mu.Lock()
		sb.notes["cri "+rt+"/"+spec] = why
		sb.mu.Unlock()
	}
	return ok
}

func runtimeByName(name string) (ociRuntime, error) {
	var p string
	switch name {
	case "runc":
		p = "/usr/sbin/runc"
	case "crun":
		p = "/usr/bin/crun"
	case "rawns":
		p = os.Getenv("RAWNS_E2E_RAWNS")
		if p == "" {
			p = filepath.Join(repoRoot(), "bin", rawnsOCIBinary)
		}
	default:
		return ociRuntime{}, fmt.Errorf("RAWNS_E2E_RUNTIMES: unknown runtime %q (want rawns, runc or crun)", name)
	}
	if _, err := os.Stat(p); err != nil {
		return ociRuntime{}, fmt.Errorf("runtime %s: %v (make build builds rawns's)", name, err)
	}
	return ociRuntime{Name: name, Path: p}, nil
}

// rawnsOCIBinary is the runc-compatible binary of issue 21, in bin/.
const rawnsOCIBinary = "rawns-oci"
