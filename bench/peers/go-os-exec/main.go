// Command go-os-exec runs a command in new namespaces with os/exec and
// SysProcAttr.Cloneflags, and nothing else (package peers). It cannot set
// the hostname: os/exec runs no code in the child before exec.
package main

import (
	"os"
	"os/exec"
	"syscall"

	"github.com/rawns/rawns/bench/peers/peer"
)

func main() {
	flags, _, cmd := peer.Args("go-os-exec")
	c := exec.Command(cmd[0], cmd[1:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	c.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags}
	err := c.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		os.Exit(ee.ExitCode())
	}
	if err != nil {
		peer.Fail("go-os-exec", err.Error())
	}
}
