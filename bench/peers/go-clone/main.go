// Command go-clone runs a command in new namespaces with package clone
// (clone.StartHere, then Wait) and nothing else: no flags, no signal
// forwarding, no locked thread (package peers). Beside rawns-run it shows
// what rawns's CLI adds to its own spawner.
package main

import (
	"os"
	"strconv"

	"github.com/rawns/rawns/clone"
)

func main() {
	if len(os.Args) < 4 {
		os.Stderr.WriteString("usage: go-clone CLONEFLAGS HOSTNAME CMD [ARG...]\n")
		os.Exit(125)
	}
	flags, err := strconv.ParseUint(os.Args[1], 0, 64)
	if err != nil {
		os.Stderr.WriteString("go-clone: bad CLONEFLAGS\n")
		os.Exit(125)
	}
	spec := &clone.Spec{Path: os.Args[3], Args: os.Args[3:], Env: os.Environ(), Namespaces: clone.Namespaces(flags)}
	if os.Args[2] != "-" {
		spec.Hostname = os.Args[2]
	}
	p, err := clone.StartHere(spec)
	if err != nil {
		os.Stderr.WriteString("go-clone: " + err.Error() + "\n")
		os.Exit(125)
	}
	st, err := p.Wait()
	if err != nil {
		os.Exit(125)
	}
	os.Exit(st.ExitCode())
}
