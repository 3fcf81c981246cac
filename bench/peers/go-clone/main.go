// Command go-clone runs a command in new namespaces with package clone
// (clone.StartHere, then Wait) and nothing else: no flags, no signal
// forwarding (package peers). Like rawns, it clones from the main thread. Beside rawns-run it shows
// what rawns's CLI adds to its own spawner.
package main

import (
	"os"

	"github.com/rawns/rawns/bench/peers/peer"
	"github.com/rawns/rawns/clone"
)

func main() {
	flags, host, cmd := peer.Args("go-clone")
	spec := &clone.Spec{Path: cmd[0], Args: cmd, Env: os.Environ(), Namespaces: clone.Namespaces(flags), Hostname: host}
	p, err := clone.StartHere(spec)
	if err != nil {
		peer.Fail("go-clone", err.Error())
	}
	st, err := p.Wait()
	if err != nil {
		peer.Fail("go-clone", err.Error())
	}
	os.Exit(st.ExitCode())
}
