// Command go-reexec runs a command in new namespaces the way Go container
// tutorials do (package peers): os/exec of /proc/self/exe with
// SysProcAttr.Cloneflags, since os/exec cannot run code in the child
// before exec; the copy, a second Go process now inside the namespaces,
// sets the hostname and execs the command.
package main

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

const childArg = "__go-reexec-child"

func main() {
	if len(os.Args) > 1 && os.Args[1] == childArg {
		child(os.Args[2:]) // HOSTNAME CMD [ARG...]
	}
	if len(os.Args) < 4 {
		os.Stderr.WriteString("usage: go-reexec CLONEFLAGS HOSTNAME CMD [ARG...]\n")
		os.Exit(125)
	}
	flags, err := strconv.ParseUint(os.Args[1], 0, 64)
	if err != nil {
		os.Stderr.WriteString("go-reexec: bad CLONEFLAGS\n")
		os.Exit(125)
	}
	cmd := exec.Command("/proc/self/exe", append([]string{childArg}, os.Args[2:]...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: uintptr(flags)}
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		os.Exit(ee.ExitCode())
	}
	if err != nil {
		os.Stderr.WriteString("go-reexec: " + err.Error() + "\n")
		os.Exit(125)
	}
}

func child(a []string) {
	if len(a) < 2 {
		os.Exit(125)
	}
	if a[0] != "-" {
		if err := syscall.Sethostname([]byte(a[0])); err != nil {
			os.Stderr.WriteString("go-reexec: sethostname: " + err.Error() + "\n")
			os.Exit(126)
		}
	}
	err := syscall.Exec(a[1], a[1:], os.Environ())
	os.Stderr.WriteString("go-reexec: exec " + a[1] + ": " + err.Error() + "\n")
	os.Exit(127)
}
