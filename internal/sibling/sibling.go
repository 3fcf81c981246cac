// Package sibling finds and runs rawns's other binaries. rawns is split so
// that `rawns run`, whose start-up is on every run's path, links nothing it
// does not use: rawns-trace holds the eBPF side (cilium/ebpf), rawns-bench
// the benchmarks. `make build` puts them side by side in bin/.
package sibling

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/exitcode"
)

// Find returns the path of the named rawns binary: the one next to this
// executable, else the first on PATH.
func Find(name string) (string, error) {
	next := ""
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		next = filepath.Join(dir, name)
		if p, err := clone.LookPath(name, dir); err == nil {
			return p, nil
		}
	}
	if p, err := clone.LookPath(name, clone.EnvPath(os.Environ())); err == nil {
		return p, nil
	}
	where := "next to rawns"
	if next != "" {
		where = next
	}
	return "", fmt.Errorf("%s not found (looked for %s, then on PATH); `make build` builds bin/rawns, bin/rawns-trace and bin/rawns-bench: keep them in one directory", name, where)
}

// Exec replaces rawns with the named binary, passing args after argv[0].
// It returns only on failure, with exit code 125; cmd names the rawns
// command in the message.
func Exec(cmd, name string, args []string, stderr io.Writer) int {
	path, err := Find(name)
	if err != nil {
		fmt.Fprintf(stderr, "rawns %s: %v\n", cmd, err)
		return exitcode.Failed
	}
	err = syscall.Exec(path, append([]string{path}, args...), os.Environ())
	fmt.Fprintf(stderr, "rawns %s: exec %s: %v\n", cmd, path, err)
	return exitcode.Failed
}
