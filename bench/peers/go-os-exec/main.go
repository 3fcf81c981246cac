// Command go-os-exec runs a command in new namespaces with os/exec and
// SysProcAttr.Cloneflags, and nothing else (package peers).
package main

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

func main() {
	if len(os.Args) < 4 {
		os.Stderr.WriteString("usage: go-os-exec CLONEFLAGS HOSTNAME CMD [ARG...]\n")
		os.Exit(125)
	}
	flags, err := strconv.ParseUint(os.Args[1], 0, 64)
	if err != nil {
		os.Stderr.WriteString("go-os-exec: bad CLONEFLAGS\n")
		os.Exit(125)
	}
	cmd := exec.Command(os.Args[3], os.Args[4:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: uintptr(flags)}
	os.Exit(exitCode(cmd.Run()))
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		os.Stderr.WriteString("go-os-exec: " + err.Error() + "\n")
		return 125
	}
	return 0
}
