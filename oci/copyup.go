package oci

import (
	"fmt"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/rootfs"
)

// CopyUp is a tmpfs of mounts whose option tmpcopyup has something to
// copy (converter.copyUp says what is taken and what refused).
type CopyUp struct {
	// Mount is its entry of Plan.Spec.Mounts.
	Mount int
	// Path is the option's JSON path ("mounts[0].options[4]"), which
	// errors name.
	Path string
	// mount is the entry's JSON path ("mounts[0]"), for Convert to find
	// Mount.
	mount string
}

// MakeCopyUps makes, before the clone, the tmpfs of each of pl.CopyUps
// with a copy of what the root holds at its destination
// (rootfs.CopyUp), detached, and gives it to spec's entry as Mount.FD,
// which the child attaches where the list says. spec is a copy of
// pl.Spec; its Mounts become a list of its own. The caller closes the
// fds returned once the child is started (clone.Start), and on an error
// none is left open.
func (pl *Plan) MakeCopyUps(spec *clone.Spec) ([]int, error) {
	if len(pl.CopyUps) == 0 {
		return nil, nil
	}
	spec.Mounts = slices.Clone(spec.Mounts)
	fds := make([]int, 0, len(pl.CopyUps))
	for _, cu := range pl.CopyUps {
		m := &spec.Mounts[cu.Mount]
		fd, err := rootfs.CopyUp(spec.Root, m.Target, m.Source, m.Data, clone.MountAttrs(m.Flags))
		if err != nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
			return nil, &Error{Path: cu.Path, Err: fmt.Errorf("tmpcopyup: %v", err)}
		}
		m.FD = fd
		fds = append(fds, fd)
	}
	return fds, nil
}
