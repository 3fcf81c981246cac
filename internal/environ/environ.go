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

import "os"

// List returns the environment the process started with, as os.Environ
// returns it before any os.Setenv: in the kernel's order, and of two
// KEY=VALUE entries with one key only the first, the one getenv(3) and
// os.Getenv find (package syscall drops the later ones too).
func List() []string {
	envs := runtimeEnvs()
	if len(envs) > maxQuadratic {
		return os.Environ()
	}
	out := envs[:0]
	for i, kv := range envs {
		if k, ok := key(kv); !ok || !seen(envs[:i], k) {
			out = append(out, kv)
		}
	}
	return out
}

// maxQuadratic bounds the environments seen checks by scanning: tens of
// entries are the rule, and above this many syscall's map is cheaper.
const maxQuadratic = 256

// seen reports whether k is the key of an entry in before.
func seen(before []string, k string) bool {
	for _, e := range before {
		if ek, ok := key(e); ok && ek == k {
			return true
		}
	}
	return false
}

// key is kv up to its first '='; ok is false if it has none.
func key(kv string) (string, bool) {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], true
		}
	}
	return "", false
}
