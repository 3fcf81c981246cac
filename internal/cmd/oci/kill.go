package oci

import (
	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/container"
	"github.com/rawns/rawns/internal/cli"
)

var killVerb = verb{
	name:  "kill",
	usage: "send a signal to a container's process (--all: to all of them)",
	run:   runKill,
}

func runKill(g *globals, args []string) error {
	flags, rest, err := parse("kill", []cli.Def{{Name: "all", Short: "a", Kind: cli.Bool}}, args, -1, "")
	if err != nil {
		return err
	}
	if len(rest) < 1 || len(rest) > 2 {
		return errorf("kill: takes ID [SIGNAL]; got %d arguments", len(rest))
	}
	sig := unix.SIGTERM
	if len(rest) == 2 {
		if sig, err = container.ParseSignal(rest[1]); err != nil {
			return err
		}
	}
	c, err := g.load(rest[0], false)
	if err != nil {
		return err
	}
	defer c.Release()
	return c.Kill(sig, flags.Has("all"))
}
