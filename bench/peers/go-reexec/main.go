// Command go-reexec runs a command in new namespaces the way Go container
// tutorials do (package peers): os/exec of /proc/self/exe with
// SysProcAttr.Cloneflags, since os/exec cannot run code in the child
// before exec; the copy, a second Go process now inside the namespaces,
// sets the hostname and execs the command.
package main

import (
	"os"
	"os/exec"
	"syscall"

	"github.com/rawns/rawns/bench/peers/peer"
)

const childArg = "__go-reexec-child"

func main() {
	if len(os.Args) > 1 && os.Args[1] == childArg {
		if len(os.Args) < 4 {
			peer.Fail("go-reexec", "usage: "+childArg+" HOSTNAME CMD [ARG...]")
		}
		child(os.Args[2], os.Args[3:])
	}
	flags, _, _ := peer.Args("go-reexec")
	c := exec.Command("/proc/self/exe", append([]string{childArg}, os.Args[2:]...)...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	c.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags}
	err := c.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		os.Exit(ee.ExitCode())
	}
	if err != nil {
		peer.Fail("go-reexec", err.Error())
	}
}

// child is the re-executed copy: it sets the hostname ("-" for none) and
// execs cmd.
func child(host string, cmd []string) {
	if host != "-" {
		if err := syscall.Sethostname([]byte(host)); err != nil {
			os.Stderr.WriteString("go-reexec: sethostname: " + err.Error() + "\n")
			os.Exit(126)
		}
	}
	err := syscall.Exec(cmd[0], cmd, os.Environ())
	os.Stderr.WriteString("go-reexec: exec " + cmd[0] + ": " + err.Error() + "\n")
	os.Exit(127)
}
