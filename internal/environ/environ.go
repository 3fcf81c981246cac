// Package environ reads the process's environment as the kernel gave it,
// without the map package syscall builds on first use.
//
// os.Environ, os.Getenv and os.LookupEnv all start with syscall's copyenv,
// which puts every variable into a map. For rawns run, which needs the list
// once and looks nothing up, that map is the most expensive thing it does
// with its environment: its table is a fresh allocation size (a new span,
// page faults), and copyenv's chain of calls, reached from the parser, was
// what grew the main goroutine's stack from 4 to 8 KiB (docs/benchmarks.md
// counts both).
package environ

import (
	"os"
	"strings"
)

// List returns the environment the process started with, as os.Environ
// returns it before any os.Setenv: in the kernel's order, and of two
// KEY=VALUE entries with one key only the first, the one getenv(3) and
// os.Getenv find (package syscall drops the later ones too).
func List() []string {
	envs := runtimeEnvs()
	if len(envs) > maxQuadratic {
		return os.Environ()
	}
	out := envs[:0] // in place: out never passes i
	for _, kv := range envs {
		if k, _, ok := strings.Cut(kv, "="); !ok || !seen(out, k) {
			out = append(out, kv)
		}
	}
	return out
}

// maxQuadratic bounds the environments seen checks by scanning: tens of
// entries are the rule, and above this many syscall's map is cheaper.
const maxQuadratic = 256

// seen reports whether k is the key of an entry in kept, which holds the
// first entry of every key so far.
func seen(kept []string, k string) bool {
	for _, e := range kept {
		if ek, _, ok := strings.Cut(e, "="); ok && ek == k {
			return true
		}
	}
	return false
}
