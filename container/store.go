package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/cgroup"
)

// DefaultRoot is the state root when --root is not given: /run/rawns for
// root, $XDG_RUNTIME_DIR/rawns otherwise (podman passes no --root, so a
// later command must find the container there with no flag at all).
func DefaultRoot() string {
	if unix.Geteuid() == 0 {
		return "/run/rawns"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "rawns")
	}
	return "/run/user/" + strconv.Itoa(unix.Geteuid()) + "/rawns"
}

// ErrNotExist is the error of a command on an id the root does not hold.
var ErrNotExist = errors.New("container does not exist")

// ErrExist is create's error for an id the root holds already.
var ErrExist = errors.New("container with this id exists already")

// CheckID refuses an id that cannot name a directory of its own: empty,
// "." or "..", with a slash, or with characters outside runc's set
// (letters, digits, _ + - .), so that no id reaches outside the root.
func CheckID(id string) error {
	switch {
	case id == "":
		return errors.New("container id is empty; give one, e.g. c1")
	case id == "." || id == "..":
		return fmt.Errorf("container id %q is a path component; give a name", id)
	case len(id) > 255:
		return fmt.Errorf("container id is %d bytes; at most 255 (a directory name)", len(id))
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '+' || r == '-' || r == '.'
		if !ok {
			if r == '/' {
				return fmt.Errorf("container id %q holds a slash; an id names one directory of the state root: use letters, digits, _ + - and .", id)
			}
			return fmt.Errorf("container id %q holds %q; use letters, digits, _ + - and .", id, r)
		}
	}
	return nil
}

// Store is a state root: one directory per container.
type Store struct {
	Root string
	// layout is the cgroup layout a Create through this Store read, for
	// the containers it Loads after (rawns-oci run removes the cgroup it
	// made: one read of /proc/self/mountinfo, not two).
	layout *cgroup.Layout
}

// dir is the container's directory.
func (s *Store) dir(id string) string { return filepath.Join(s.Root, id) }

// makeRoot creates the state root (mode 0700: the state names pids and
// paths of every container) if missing.
func (s *Store) makeRoot() error {
	if !filepath.IsAbs(s.Root) {
		return fmt.Errorf("--root %s: give an absolute path; later commands, run from other directories, would not find the containers", s.Root)
	}
	if err := os.MkdirAll(s.Root, 0o700); err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = fmt.Errorf("%s: %v", pe.Path, pe.Err)
		}
		return fmt.Errorf("--root %s: cannot create the state directory: %v", s.Root, err)
	}
	return nil
}

// lock is a POSIX record lock (fcntl(2) F_SETLKW) on the container's
// lock file (config.json, state.go), whole file, shared or exclusive.
// Record locks, not flock(2): a flock belongs to the open file
// description, which the container's process inherits when it is cloned
// fork-style, and it would hold it while it waits at the start gate; a
// record lock belongs to the process that took it, and fork(2) does not
// pass it on. (The one catch of record locks, that closing any fd of the
// file drops them, does not bite: only the lock opens the file, and
// Config reads it through the lock's fd.)
type lock struct {
	fd int
}

// lockDir locks dir's lock file, exclusive or shared. A container removed
// while the caller waited (a delete that went first unlinks the lock file
// while it holds the lock) is ErrNotExist.
func lockDir(dir string, exclusive bool) (*lock, error) {
	return lockFile(filepath.Join(dir, lockFileName), exclusive, false)
}

// lockFile opens name (creating it with create) and locks it.
func lockFile(name string, exclusive, create bool) (*lock, error) {
	flags := unix.O_RDWR | unix.O_CLOEXEC
	if create {
		flags |= unix.O_CREAT | unix.O_EXCL
	}
	fd, err := unix.Open(name, flags, 0o600)
	if err != nil {
		if err == unix.ENOENT || err == unix.ENOTDIR {
			return nil, ErrNotExist
		}
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	l := &lock{fd: fd}
	if err := l.take(name, exclusive); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return l, nil
}

// take locks the lock's file, shared or exclusive, waiting for it; a
// file unlinked meanwhile (its container deleted) is ErrNotExist.
func (l *lock) take(name string, exclusive bool) error {
	lk := unix.Flock_t{Type: unix.F_RDLCK, Whence: 0}
	if exclusive {
		lk.Type = unix.F_WRLCK
	}
	var err error
	for {
		err = unix.FcntlFlock(uintptr(l.fd), unix.F_SETLKW, &lk)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return &os.PathError{Op: "lock", Path: name, Err: err}
	}
	var st unix.Stat_t
	if unix.Fstat(l.fd, &st) != nil || st.Nlink == 0 {
		l.unlock()
		return ErrNotExist
	}
	return nil
}

// unlock drops the lock and keeps the fd, and with it the file: the same
// container's, whatever happens to its name meanwhile (take again).
func (l *lock) unlock() {
	lk := unix.Flock_t{Type: unix.F_UNLCK, Whence: 0}
	unix.FcntlFlock(uintptr(l.fd), unix.F_SETLK, &lk)
}

// write writes data to the lock's file, which is empty, at its start, with
// the mode 0600 whatever the umask took.
func (l *lock) write(data []byte) error {
	for off := 0; off < len(data); {
		n, err := unix.Pwrite(l.fd, data[off:], int64(off))
		switch {
		case err == unix.EINTR:
		case err != nil:
			return err
		case n == 0:
			return unix.EIO
		default:
			off += n
		}
	}
	return unix.Fchmod(l.fd, 0o600)
}

// read reads the lock's file whole, through its fd: another fd's close
// would drop the lock (lock).
func (l *lock) read() ([]byte, error) {
	var st unix.Stat_t
	if err := unix.Fstat(l.fd, &st); err != nil {
		return nil, err
	}
	data := make([]byte, st.Size)
	for off := 0; off < len(data); {
		n, err := unix.Pread(l.fd, data[off:], int64(off))
		switch {
		case err == unix.EINTR:
		case err != nil:
			return nil, err
		case n == 0:
			return data[:off], nil
		default:
			off += n
		}
	}
	return data, nil
}

func (l *lock) release() {
	if l != nil && l.fd >= 0 {
		unix.Close(l.fd) // closing drops this process's record locks on the file
		l.fd = -1
	}
}

// List returns the ids of the containers in the root, sorted.
func (s *Store) List() ([]string, error) {
	ents, err := os.ReadDir(s.Root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var ids []string
	for _, e := range ents {
		if !e.IsDir() || CheckID(e.Name()) != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(s.Root, e.Name(), stateFile)); err == nil {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// writeAtomic writes data to name through a temporary file in the same
// directory and rename(2): a reader sees the old file or the new one. In
// raw system calls on memory of the caller's: create calls it right after
// a fork-style clone, where each heap page written costs a copy-on-write
// fault, and os.CreateTemp's File, name and poller registration wrote
// several.
func writeAtomic(name string, data []byte, mode os.FileMode) error {
	dir, base := filepath.Split(name)
	var (
		tmp string
		fd  int
		err error
	)
	// A name of this process's own; O_EXCL refuses one that exists (left
	// by a process with this pid that was killed), and then the next.
	for i := 0; ; i++ {
		tmp = dir + "." + base + "." + strconv.Itoa(unix.Getpid()) + "." + strconv.Itoa(i)
		fd, err = unix.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, uint32(mode.Perm()))
		if err != unix.EEXIST || i == 100 {
			break
		}
	}
	if err != nil {
		return &os.PathError{Op: "open", Path: tmp, Err: err}
	}
	for b := data; len(b) > 0 && err == nil; {
		var n int
		n, err = unix.Write(fd, b)
		if err == unix.EINTR {
			err = nil
		}
		if n > 0 {
			b = b[n:]
		}
	}
	if err == nil {
		// The mode as asked, whatever the umask took from it.
		err = unix.Fchmod(fd, uint32(mode.Perm()))
	}
	if e := unix.Close(fd); err == nil {
		err = e
	}
	if err == nil {
		err = unix.Rename(tmp, name)
	}
	if err != nil {
		unix.Unlink(tmp)
		return &os.PathError{Op: "write", Path: name, Err: err}
	}
	return nil
}

// WritePidFile writes pid to name atomically, the number alone with no
// newline: containerd reads it with strconv.Atoi, which a trailing
// newline breaks, and conmon reads it with atoi right after create.
func WritePidFile(name string, pid int) error {
	if !filepath.IsAbs(name) {
		abs, err := filepath.Abs(name)
		if err != nil {
			return err
		}
		name = abs
	}
	return writeAtomic(name, []byte(strconv.Itoa(pid)), 0o644)
}

// hasPrefixDir reports whether p is dir or below it.
func hasPrefixDir(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+"/")
}
