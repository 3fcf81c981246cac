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
// RAWNS_E2E_RUNTIMES (comma-separated names) for every engine when set,
// else the engine's defaultRuntimes. A runtime that is asked for and
// missing fails the test that needs it.
func runtimesUnderTest(t testing.TB, engine string) []ociRuntime {
	t.Helper()
	names := os.Getenv("RAWNS_E2E_RUNTIMES")
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
// is not set: rawns beside runc where every one of the engine's tests
// passes with rawns-oci, runc alone where some do not yet, with the first
// thing rawns-oci refuses in that engine's configs (docs/oci.md, "Engines
// and CRI", has the whole list). RAWNS_E2E_RUNTIMES=rawns,runc runs rawns
// with every engine.
var defaultRuntimes = map[string]struct{ names, without string }{
	"containerd": {names: "rawns,runc"},
	"podman":     {names: "runc", without: "linux.seccomp refused: every podman container has a seccomp profile and noNewPrivileges false"},
	"docker":     {names: "runc", without: "linux.seccomp refused (docker's default profile, noNewPrivileges false); linux.resources.blockIO {\"weight\": 0} refused"},
	"cri":        {names: "runc", without: "linux.seccomp refused (the CRI's RuntimeDefault profile); linux.cgroupsPath \"test.slice:cri-containerd:ID\" refused"},
	"bench":      {names: "runc"},
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
