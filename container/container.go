package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rawns/rawns/cgroup"
)

// Container is one container of a Store, loaded and locked.
type Container struct {
	State State
	// Dir is the container's directory in the state root.
	Dir  string
	lock *lock
	// layout is the Store's cgroup layout, nil to read it (cgroup).
	layout *cgroup.Layout
}

// Load finds the container id and locks it, shared for a reader,
// exclusive for a command that changes it. Release unlocks.
func (s *Store) Load(id string, exclusive bool) (*Container, error) {
	if err := CheckID(id); err != nil {
		return nil, err
	}
	dir := s.dir(id)
	l, err := lockDir(dir, exclusive)
	if err != nil {
		return nil, err
	}
	st, err := loadState(dir)
	if err != nil {
		l.release()
		return nil, err
	}
	return &Container{State: *st, Dir: dir, lock: l, layout: s.layout}, nil
}

// Release drops the container's lock.
func (c *Container) Release() {
	c.lock.release()
}

// cgroup loads the container's cgroup, nil when it has none.
func (c *Container) cgroup() (*cgroup.Cgroup, error) {
	if len(c.State.CgroupDirs) == 0 {
		return nil, nil
	}
	return cgroup.LoadIn(c.layout, c.State.Cgroup, c.State.CgroupDirs)
}

// remove deletes the container's directory; the lock's fd stays valid
// until Release, and later lockers see the directory gone.
func (c *Container) remove() error {
	for _, f := range []string{stateFile, configFile, gateFile, lockFileName} {
		if err := os.Remove(filepath.Join(c.Dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := os.Remove(c.Dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing the state of %s: %v", c.State.ID, err)
	}
	return nil
}
