package rootfs

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// CopyUp makes what the OCI mount option tmpcopyup (crun's, runc's
// EXT_COPYUP) asks for: a new tmpfs that starts with a copy of what the
// root holds at dir, so that mounting it there hides nothing (podman's
// --read-only puts one on /run, where the image holds /run/.containerenv).
// It returns the tmpfs as a detached mount (fsopen(2), fsconfig(2) with
// source and each of data's options, fsmount(2) with attrs, MOUNT_ATTR_*),
// for clone.Mount.FD: the child attaches it in the list's order. The copy
// is made here, in the caller, because the child may only make raw system
// calls on memory prepared before the clone; a detached mount is out of
// reach of every other process, so nothing sees it half filled.
//
// dir is resolved inside root as the child resolves a target (openat2(2)
// RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS): a symlink on the way stays
// inside the root. Missing, or no directory, it leaves the tmpfs empty
// (the child's attach then says what is wrong with the target). Below
// it, the tree is walked fd by fd, never by path: each entry is opened
// from its directory's fd with O_NOFOLLOW (a directory with O_DIRECTORY
// too), so no symlink of the root is ever followed, in or out of it, and
// a symlink is copied as a symlink, its target unread.
//
// Copied: directories, regular files with their contents, symbolic
// links, device nodes, FIFOs and sockets (mknodat(2): the node, not what
// it leads to), each with its permission bits (set-id and sticky bits
// too), owner and group, and access and modification times. Not copied:
// extended attributes (security.* labels included), hard links (each name
// gets a file of its own), the tmpfs's own root, whose mode, uid and gid
// are data's (mode=, uid=, gid=) as for any tmpfs. Devices are made as
// the caller may: in the caller's user namespace. What does not fit the
// tmpfs (size=, nr_inodes=) fails with the path, ENOSPC.
//
// The error names the path inside the root, dir's or below; the caller
// closes the fd it returns.
func CopyUp(root, dir, source, data string, attrs uint64) (int, error) {
	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("root %s: %w", root, err)
	}
	defer unix.Close(rfd)
	dir = path.Clean("/" + dir)
	how := unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC | unix.O_NOATIME,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	src, err := unix.Openat2(rfd, strings.TrimPrefix(dir, "/"), &how)
	if err == unix.EPERM {
		how.Flags &^= unix.O_NOATIME // openSource's rule
		src, err = unix.Openat2(rfd, strings.TrimPrefix(dir, "/"), &how)
	}
	switch {
	case err == unix.ENOENT || err == unix.ENOTDIR:
		src = -1 // nothing to copy
	case err != nil:
		return -1, fmt.Errorf("%s: %w", dir, err)
	}
	if src >= 0 {
		defer unix.Close(src)
	}
	fs, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen tmpfs: %w", err)
	}
	defer unix.Close(fs)
	mnt, err := newTmpfs(fs, source, data, attrs&^unix.MOUNT_ATTR_RDONLY)
	if err != nil {
		return -1, err
	}
	if src >= 0 {
		c := copier{buf: make([]byte, 8192)}
		err = c.tree(src, mnt, dir, 0)
	}
	if err == nil && attrs&unix.MOUNT_ATTR_RDONLY != 0 {
		err = readOnly(fs, mnt)
	}
	if err != nil {
		unix.Close(mnt)
		return -1, err
	}
	return mnt, nil
}

// readOnly makes the filled tmpfs mnt read-only, as the child makes a
// read-only filesystem: the mount (mount_setattr(2), Linux 5.12+).
// Before 5.12 (ENOSYS) the tmpfs itself is made read-only instead, through
// its context fs (fsconfig(2) "ro", FSCONFIG_CMD_RECONFIGURE, 5.2+): no
// write reaches it either way, but mountinfo shows ro among the
// filesystem's options rather than the mount's.
func readOnly(fs, mnt int) error {
	err := mountSetattr(mnt, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY})
	if err != unix.ENOSYS {
		if err != nil {
			return fmt.Errorf("making the tmpfs read-only: mount_setattr: %w", err)
		}
		return nil
	}
	if err := unix.FsconfigSetFlag(fs, "ro"); err != nil {
		return fmt.Errorf("making the tmpfs read-only: fsconfig ro: %w", err)
	}
	if err := unix.FsconfigReconfigure(fs); err != nil {
		return fmt.Errorf("making the tmpfs read-only: fsconfig reconfigure: %w", err)
	}
	return nil
}

// mountSetattr is unix.MountSetattr; a test makes it the ENOSYS of a
// kernel before 5.12.
var mountSetattr = unix.MountSetattr

// newTmpfs makes the tmpfs of the context fs (fsopen(2)), detached, with
// data's options (comma-separated, KEY=VALUE or a bare flag, as clone's
// child passes them).
func newTmpfs(fs int, source, data string, attrs uint64) (int, error) {
	var err error
	if source == "" {
		source = "tmpfs"
	}
	if err := unix.FsconfigSetString(fs, "source", source); err != nil {
		return -1, fmt.Errorf("fsconfig source=%s: %w", source, err)
	}
	for _, o := range strings.Split(data, ",") {
		if o == "" {
			continue
		}
		if k, v, ok := strings.Cut(o, "="); ok {
			err = unix.FsconfigSetString(fs, k, v)
		} else {
			err = unix.FsconfigSetFlag(fs, k)
		}
		if err != nil {
			return -1, fmt.Errorf("tmpfs option %s: %w", o, err)
		}
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return -1, fmt.Errorf("fsconfig create tmpfs: %w", err)
	}
	mnt, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, int(attrs))
	if err != nil {
		return -1, fmt.Errorf("fsmount tmpfs: %w", err)
	}
	return mnt, nil
}

// maxCopyDepth bounds the directories below dir: each level holds two fds
// (the source's and the copy's) while its entries are copied.
const maxCopyDepth = 128

// copier copies a tree; buf is getdents(2)'s and readlinkat(2)'s.
type copier struct {
	buf []byte
}

// tree copies the entries of the directory src (an fd opened O_RDONLY)
// into the directory dst; at is src's path inside the root, for errors.
func (c *copier) tree(src, dst int, at string, depth int) error {
	names, err := c.names(src)
	if err != nil {
		return fmt.Errorf("%s: reading the directory: %w", at, err)
	}
	for _, name := range names {
		p := path.Join(at, name)
		if err := c.entry(src, dst, name, p, depth); err != nil {
			var ce *copyError
			if errors.As(err, &ce) {
				return err // named below already
			}
			return &copyError{path: p, err: err}
		}
	}
	return nil
}

// copyError is a failure to copy the entry path (inside the root).
type copyError struct {
	path string
	err  error
}

func (e *copyError) Error() string {
	if errors.Is(e.err, unix.ENOSPC) {
		return e.path + " does not fit in the tmpfs (its size= or nr_inodes=): " + e.err.Error()
	}
	return e.path + ": " + e.err.Error()
}

func (e *copyError) Unwrap() error { return e.err }

// openSource opens name in the directory fd at of the root with flags,
// O_NOATIME where the caller may (the owner, or CAP_FOWNER): copying
// leaves the root's access times as they were. It returns what the fd
// is (fstat(2)), which is what gets copied.
func openSource(at int, name string, flags int) (int, *unix.Stat_t, error) {
	fd, err := unix.Openat(at, name, flags|unix.O_NOATIME, 0)
	if err == unix.EPERM {
		fd, err = unix.Openat(at, name, flags, 0)
	}
	if err != nil {
		return -1, nil, fmt.Errorf("opening it: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("fstat: %w", err)
	}
	return fd, &st, nil
}

// names reads every name of the directory src but "." and "..".
func (c *copier) names(src int) ([]string, error) {
	var names []string
	for {
		n, err := unix.Getdents(src, c.buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(c.buf[:n], -1, names)
	}
}

// entry copies src's entry name into dst.
func (c *copier) entry(src, dst int, name, p string, depth int) error {
	var st unix.Stat_t
	if err := unix.Fstatat(src, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("fstatat: %w", err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return c.dir(src, dst, name, p, depth)
	case unix.S_IFREG:
		return c.file(src, dst, name)
	case unix.S_IFLNK:
		return c.symlink(src, dst, name, &st)
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO, unix.S_IFSOCK:
		if err := unix.Mknodat(dst, name, st.Mode&unix.S_IFMT|0o600, int(st.Rdev)); err != nil {
			return fmt.Errorf("mknodat: %w", err)
		}
		return setAttrsAt(dst, name, &st)
	}
	return fmt.Errorf("file type %#o: not copied", st.Mode&unix.S_IFMT)
}

// dir copies the directory name and everything below it.
func (c *copier) dir(src, dst int, name, p string, depth int) error {
	if depth >= maxCopyDepth {
		return fmt.Errorf("more than %d directories deep; tmpcopyup copies no deeper", maxCopyDepth)
	}
	// O_NOFOLLOW|O_DIRECTORY: what is opened is the directory fstatat
	// saw, or the open fails (a symlink put there since: ELOOP).
	s, st, err := openSource(src, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	// 0700 until its entries are in; its own mode, owner and times last
	// (each entry made changes its times).
	if err := unix.Mkdirat(dst, name, 0o700); err != nil {
		return fmt.Errorf("mkdirat: %w", err)
	}
	d, err := unix.Openat(dst, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening its copy: %w", err)
	}
	err = c.tree(s, d, p, depth+1)
	unix.Close(d)
	if err != nil {
		return err
	}
	return setAttrsAt(dst, name, st)
}

// file copies the regular file name with its contents.
func (c *copier) file(src, dst int, name string) error {
	// O_NOFOLLOW: never through a symlink; O_NONBLOCK and O_NOCTTY: a
	// FIFO or terminal put there since fstatat neither blocks nor
	// becomes ours, and the fstat below refuses it.
	s, st, err := openSource(src, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return errors.New("no longer a regular file; the root changed while it was copied")
	}
	d, err := unix.Openat(dst, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("creating its copy: %w", err)
	}
	err = copyContents(d, s)
	unix.Close(d)
	if err != nil {
		return fmt.Errorf("copying its contents: %w", err)
	}
	return setAttrsAt(dst, name, st)
}

// copyContents copies the regular file s, from its offset to its end,
// into d: sendfile(2), file to file since Linux 2.6.33 and across
// filesystems (copy_file_range(2) refuses that, EXDEV, from 5.19 on).
func copyContents(d, s int) error {
	for {
		n, err := unix.Sendfile(d, s, nil, 1<<30)
		switch {
		case err == unix.EINTR:
		case err != nil:
			return err
		case n == 0:
			return nil
		}
	}
}

// symlink copies the symbolic link name as a link: its target is read,
// never followed.
func (c *copier) symlink(src, dst int, name string, st *unix.Stat_t) error {
	buf := c.buf
	if int(st.Size) >= len(buf) {
		buf = make([]byte, st.Size+1)
	}
	n, err := unix.Readlinkat(src, name, buf)
	if err != nil {
		return fmt.Errorf("readlinkat: %w", err)
	}
	if n >= len(buf) {
		return errors.New("the link's target grew while it was copied")
	}
	if err := unix.Symlinkat(string(buf[:n]), dst, name); err != nil {
		return fmt.Errorf("symlinkat: %w", err)
	}
	return setAttrsAt(dst, name, st)
}

// setAttrsAt gives the copy name in dst the owner, permission bits and
// times of st, never through a symlink (a symlink's own owner and times;
// its permission bits mean nothing). The name is one this copy made, in a
// tmpfs no other process reaches. Owner first: chown(2) clears the
// set-user-ID and set-group-ID bits. Times last: a directory's, once its
// entries are made.
func setAttrsAt(dst int, name string, st *unix.Stat_t) error {
	if err := unix.Fchownat(dst, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("fchownat: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		if err := unix.Fchmodat(dst, name, st.Mode&0o7777, 0); err != nil {
			return fmt.Errorf("fchmodat: %w", err)
		}
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(dst, name, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("utimensat: %w", err)
	}
	return nil
}
