// Package peer reads the arguments every spawning peer program of
// bench/peers takes: CLONEFLAGS HOSTNAME CMD [ARG...]. It imports only what
// the peers import anyway (os, strconv), so that sharing it costs them no
// start-up.
package peer

import (
	"os"
	"strconv"
)

// Args returns the clone flags, the hostname ("" for "-") and the command
// of os.Args, or prints the usage of name and exits 125.
func Args(name string) (flags uintptr, hostname string, cmd []string) {
	if len(os.Args) < 4 {
		Fail(name, "usage: "+name+" CLONEFLAGS HOSTNAME CMD [ARG...]")
	}
	f, err := strconv.ParseUint(os.Args[1], 0, 64)
	if err != nil {
		Fail(name, "CLONEFLAGS "+strconv.Quote(os.Args[1])+": give a number, 0x for hex")
	}
	if os.Args[2] != "-" {
		hostname = os.Args[2]
	}
	return uintptr(f), hostname, os.Args[3:]
}

// Fail prints "name: msg" on stderr and exits 125, the status of a tool
// that failed itself.
func Fail(name, msg string) {
	os.Stderr.WriteString(name + ": " + msg + "\n")
	os.Exit(125)
}
