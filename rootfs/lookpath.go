package rootfs

import (
	"fmt"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/quote"
)

// LookPath finds name as execvp(3) would inside the new root, before it is
// made: each directory of pathEnv (as clone.EnvPath gives it; an empty
// element, or an empty path, is the working directory) is looked up in
// the root with RESOLVE_IN_ROOT, as the command will see it, or, where a
// bind of the list covers it, in the bind's host source; a directory under
// any other mount of the list (a tmpfs) holds nothing yet. It returns the
// path inside the root, for execve(2) after the pivot_root, and
// clone.ErrNotFound or clone.ErrNotExecutable as clone.LookPath does (exit
// 127 and 126). A name with a slash is checked the same way.
func (c *Config) LookPath(name, pathEnv string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("empty command name: %w", clone.ErrNotFound)
	}
	var dirs []string
	if strings.Contains(name, "/") {
		dirs = []string{""}
	} else {
		dirs = strings.Split(pathEnv, ":")
	}
	denied := false
	for _, dir := range dirs {
		file := name
		if dir != "" || !strings.Contains(name, "/") {
			if dir == "" {
				dir = "."
			}
			file = dir + "/" + name
		}
		switch c.executable(path.Clean("/" + file)) {
		case found:
			return file, nil
		case notExecutable:
			denied = true
		}
	}
	if denied {
		return "", fmt.Errorf("%s: %w", quote.Arg(name), clone.ErrNotExecutable)
	}
	if strings.Contains(name, "/") {
		return "", fmt.Errorf("%s: %w in the root %s", quote.Arg(name), clone.ErrNotFound, c.Root)
	}
	return "", fmt.Errorf("%s: %w in PATH %s inside the root %s", quote.Arg(name), clone.ErrNotFound, quote.Arg(pathEnv), c.Root)
}

// What executable finds at a path.
type lookup int

const (
	missing       lookup = iota // nothing there, or nothing PATH can tell yet
	notExecutable               // something, but not a regular file with an x bit
	found                       // an executable regular file
)

// executable says what is at p (absolute, inside the root) for execvp's
// search.
func (c *Config) executable(p string) lookup {
	base, rel := c.Root, strings.TrimPrefix(p, "/")
	for i := len(c.Mounts) - 1; i >= 0; i-- {
		m := &c.Mounts[i]
		if m.Kind != clone.MountBind && m.Kind != clone.MountFS {
			continue
		}
		if p == m.Target || strings.HasPrefix(p, m.Target+"/") {
			if m.Kind == clone.MountFS {
				return missing // a new filesystem is empty at exec time, for what PATH can tell
			}
			base, rel = m.Source, strings.TrimPrefix(strings.TrimPrefix(p, m.Target), "/")
			break
		}
	}
	dfd, err := unix.Open(base, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return missing
	}
	defer unix.Close(dfd)
	if rel == "" {
		rel = "."
	}
	fd, err := unix.Openat2(dfd, rel, &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS})
	if err != nil {
		return missing
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return missing
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o111 == 0 {
		return notExecutable
	}
	return found
}
