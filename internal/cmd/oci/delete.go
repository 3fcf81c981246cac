package oci

import (
	"errors"

	"github.com/rawns/rawns/container"
	"github.com/rawns/rawns/internal/cli"
)

var deleteVerb = verb{
	name:  "delete",
	usage: "delete a stopped (or created) container: its cgroup and state",
	run:   runDelete,
}

func runDelete(g *globals, args []string) error {
	flags, rest, err := parse("delete", []cli.Def{{Name: "force", Short: "f", Kind: cli.Bool}}, args, 1, "ID")
	if err != nil {
		return err
	}
	force := flags.Has("force")
	if err := container.CheckID(rest[0]); err != nil {
		return err
	}
	c, err := g.store().Load(rest[0], true)
	if errors.Is(err, container.ErrNotExist) && force {
		// delete --force of a container that is not there succeeds:
		// the shim's cleanup calls it after a failed create.
		return nil
	}
	if err != nil {
		return g.notExist(rest[0], err)
	}
	defer c.Release()
	warnings, err := c.Delete(force)
	for _, w := range warnings {
		g.warn(w)
	}
	return err
}

// notExist words ErrNotExist as runc does.
func (g *globals) notExist(id string, err error) error {
	if errors.Is(err, container.ErrNotExist) {
		return errorf("container %q does not exist", id)
	}
	return err
}
