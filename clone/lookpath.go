package clone

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// DefaultPath is the search path used when the environment has no PATH,
// the one util-linux and bubblewrap fall back to.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ErrNotFound means no file of that name was found on the search path.
var ErrNotFound = errors.New("command not found")

// ErrNotExecutable means files of that name were found, but none may be
// executed (EACCES): a directory, or no execute permission.
var ErrNotExecutable = errors.New("permission denied")

// LookPath finds name the way execvp(3) would, in the directories of path
// (a PATH value, as EnvPath gives it). An empty element, and so an empty
// path, means the working directory, as POSIX says and GNU env does: with
// PATH set to "" only ./name is tried. A name with a slash is returned as it
// is, for execve to judge. It reports ErrNotFound or ErrNotExecutable,
// wrapped with the name, so that callers can map them to exit codes 127 and
// 126.
func LookPath(name, path string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("empty command name: %w", ErrNotFound)
	}
	if strings.Contains(name, "/") {
		return name, nil
	}
	denied := false
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			dir = "."
		}
		file := dir + "/" + name
		var st unix.Stat_t
		if unix.Stat(file, &st) != nil {
			continue
		}
		if st.Mode&unix.S_IFMT == unix.S_IFREG && unix.Faccessat(unix.AT_FDCWD, file, unix.X_OK, unix.AT_EACCESS) == nil {
			return file, nil
		}
		denied = true
	}
	if denied {
		return "", fmt.Errorf("%s: %w", quoteName(name), ErrNotExecutable)
	}
	shown := path
	if shown == "" {
		shown = `"" (the working directory only)`
	}
	return "", fmt.Errorf("%s: %w in PATH %s", quoteName(name), ErrNotFound, shown)
}

// EnvPath returns the search path of env (KEY=VALUE strings): its PATH,
// even an empty one, or DefaultPath when it has none.
func EnvPath(env []string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], "PATH="); ok {
			return v
		}
	}
	return DefaultPath
}

// quoteName shows a command name as it is, or Go-quoted when it is empty
// or holds what would break an error's one line (a newline, a NUL).
func quoteName(s string) string {
	if q := strconv.Quote(s); q[1:len(q)-1] != s || s == "" {
		return q
	}
	return s
}
