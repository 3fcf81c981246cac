package container

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

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

// Unlock drops the container's lock but keeps its file open, for Relock:
// rawns-oci run holds no lock while it waits for the container's process,
// so that state, kill and delete of other commands go on meanwhile.
func (c *Container) Unlock() {
	if c.lock != nil && c.lock.fd >= 0 {
		c.lock.unlock()
	}
}

// Relock takes the exclusive lock of c, which this process created and
// Unlocked, again (rawns-oci run, once the container's process has
// exited), through the fd it kept: the file of this container, even if
// another was created under its id meanwhile. Its State stays what Create
// wrote: no command changes a container's state.json once written, so it
// is not read again. A container deleted meanwhile is ErrNotExist.
func (s *Store) Relock(c *Container) error {
	if c.lock == nil || c.lock.fd < 0 {
		return ErrNotExist
	}
	if err := c.lock.take(filepath.Join(c.Dir, lockFileName), true); err != nil {
		return err
	}
	c.layout = s.layout
	return nil
}

// cgroup loads the container's cgroup, nil when it has none.
func (c *Container) cgroup() (*cgroup.Cgroup, error) {
	if len(c.State.CgroupDirs) == 0 {
		return nil, nil
	}
	return cgroup.LoadIn(c.layout, c.State.Cgroup, c.State.CgroupDirs)
}

// remove deletes the container's directory, the lock's file last; the
// lock's fd stays valid until Release, and later lockers see the file
// gone (lockFile). The gate is a FIFO of create's, gone once started; an
// earlier rawns-oci's lock file is looked for only when the directory is
// not empty without it.
func (c *Container) remove() error {
	for _, f := range []string{stateFile, gateFile, lockFileName} {
		if err := unix.Unlink(filepath.Join(c.Dir, f)); err != nil && err != unix.ENOENT {
			return &os.PathError{Op: "remove", Path: filepath.Join(c.Dir, f), Err: err}
		}
	}
	err := unix.Rmdir(c.Dir)
	if err == unix.ENOTEMPTY {
		unix.Unlink(filepath.Join(c.Dir, oldLockFile))
		err = unix.Rmdir(c.Dir)
	}
	if err != nil && err != unix.ENOENT {
		return fmt.Errorf("removing the state of %s: %v", c.State.ID, err)
	}
	return nil
}
