// Command shimfile writes the exec shim of the clone package it is built
// with (clone.ExecShim) to the file its argument names, mode 0755, through
// a temporary file and rename(2), so that a running rawns-oci never sees
// half a shim: `make build` runs it for bin/rawns-exec-shim, which
// clone.OpenExecShim binds read-only for each container instead of making
// a tmpfs (clone/execshim.go says why). The shim is built for this
// machine's architecture; a cross build has none beside it, and
// OpenExecShim falls back to the tmpfs there.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rawns/rawns/clone"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: shimfile FILE (make build writes bin/"+clone.ShimFileName+")")
		os.Exit(2)
	}
	if err := write(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "shimfile:", err)
		os.Exit(1)
	}
}

func write(name string) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(clone.ExecShim()); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o755); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}
