package bench

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
)

// ErrNoCompiler means there is no C compiler to build the C reference with.
var ErrNoCompiler = errors.New("no C compiler (cc) on PATH")

// BuildCRef compiles the C reference (bench/cref/spawn.c, at src) to
// dir/spawn-c, for tests and benchmarks that run without make. It builds
// statically, as make does, and falls back to a dynamic build where the C
// library has no static archive.
func BuildCRef(src, dir string) (string, error) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		return "", ErrNoCompiler
	}
	out := filepath.Join(dir, "spawn-c")
	b, err := exec.Command(cc, "-O2", "-static", "-o", out, src).CombinedOutput()
	if err != nil {
		b2, err2 := exec.Command(cc, "-O2", "-o", out, src).CombinedOutput()
		if err2 != nil {
			return "", fmt.Errorf("cc %s: %v\n%s\n%s", src, err2, b, b2)
		}
	}
	return out, nil
}
