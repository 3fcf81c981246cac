package main

import (
	"io"
	"os"

	nsinit "github.com/rawns/rawns/init"
)

// initMain is `rawns init -- PATH ARGV...`, the PID 1 of --init.
func initMain(args []string, stderr io.Writer) int {
	return nsinit.Main(args, stderr)
}

// wrapInInit makes the spec exec rawns's own binary as the namespace's init,
// which then starts the command as its child.
func wrapInInit(cfg *runConfig) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	s := &cfg.spec
	s.Args = append([]string{"rawns-init", "init", "--", s.Path}, s.Args...)
	s.Path = exe
	return nil
}
