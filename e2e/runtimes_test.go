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

// runtimesUnderTest are the runtimes every engine test runs with, in one
// run: RAWNS_E2E_RUNTIMES (comma-separated names, default "rawns,runc").
// A runtime that is asked for and missing fails the test that needs it.
func runtimesUnderTest(t testing.TB) []ociRuntime {
	t.Helper()
	names := os.Getenv("RAWNS_E2E_RUNTIMES")
	if names == "" {
		names = defaultRuntimes
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

// defaultRuntimes: runc until rawns's OCI binary lands (issue 21).
const defaultRuntimes = "runc"

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
