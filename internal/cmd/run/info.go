package run

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/cli"
	"github.com/rawns/rawns/internal/jsontext"
	"github.com/rawns/rawns/trace"
)

// --info-fd and --json-status-fd are bubblewrap's: the report on an fd of
// the caller's choosing, as JSON, so that a program reads it apart from the
// command's own stderr and from -v's and --trace's lines. The objects are
// written by hand, as trace's are: rawns links no encoding/json.

// parseFD reads the value of an fd flag: a number that is an open file
// descriptor of rawns.
func parseFD(flags cli.Flags, name string) (int, error) {
	if !flags.Has(name) {
		return -1, nil
	}
	v := flags.Get(name, "")
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 0 {
		return -1, fmt.Errorf("--%s %s: give a file descriptor number, e.g. --%s 3 3>info.json", name, cli.Quote(v), name)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		return -1, fmt.Errorf("--%s %d: fd %d is not open in rawns; open it in the shell, e.g. --%s %d %d>info.json", name, fd, fd, name, fd, fd)
	}
	return fd, nil
}

// infoJSON is the object --info-fd writes and --json-status-fd's first
// line: the child's pid on the host, its pid inside (1 in a new PID
// namespace), and the inode number of each of its namespaces, keyed as
// bubblewrap keys them ("pid-namespace"), plus the kinds bwrap leaves out.
func infoJSON(v *inspection, proc *clone.Process) []byte {
	b := make([]byte, 0, 256)
	b = append(b, `{"child-pid":`...)
	b = strconv.AppendInt(b, int64(proc.Pid), 10)
	if n, err := strconv.Atoi(v.nsPID); err == nil {
		b = append(b, `,"pid-inside":`...)
		b = strconv.AppendInt(b, int64(n), 10)
	}
	for _, k := range [...]trace.Kind{trace.Cgroup, trace.IPC, trace.Mnt, trace.Net, trace.PID, trace.UTS, trace.User, trace.Time} {
		if v.childErr != nil || v.childNS[k].Zero() {
			continue
		}
		b = append(b, `,"`...)
		b = append(b, k.String()...)
		b = append(b, `-namespace":`...)
		b = strconv.AppendUint(b, v.childNS[k].Inode, 10)
	}
	return append(b, "}\n"...)
}

// exitJSON is --json-status-fd's last line: the code rawns exits with,
// and the signal that killed the command, if one did.
func exitJSON(st clone.ExitStatus, code int) []byte {
	b := append(make([]byte, 0, 48), `{"exit-code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	if st.Signal != 0 {
		b = append(b, `,"signal":`...)
		b = strconv.AppendInt(b, int64(st.Signal), 10)
	}
	return append(b, "}\n"...)
}

// errorJSON is --json-status-fd's last line when rawns failed, before or
// after the command started (the clone, the child before exec, the exec,
// waiting): the code rawns exits with, and its one-line message, so that
// a reader tells rawns's 125 from a command that exits 125 itself, which
// gets exitJSON's line without "error".
func errorJSON(code int, msg string) []byte {
	b := append(make([]byte, 0, 64+len(msg)), `{"exit-code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, `,"error":`...)
	b = jsontext.AppendString(b, msg)
	return append(b, "}\n"...)
}

// statusDone says that --json-status-fd got the command's exit line; a run
// that ends without it failed in rawns, and Main writes errorJSON's line.
// Not a field of config: config sits at the top of its allocator size
// class (480 bytes), and one more word would move every run to the next.
var statusDone bool

// lastLine passes rawns's stderr through and keeps its last line, without
// the "rawns run: " prefix, for errorJSON.
type lastLine struct {
	w    io.Writer
	line string
}

func (l *lastLine) Write(b []byte) (int, error) {
	s := strings.TrimRight(string(b), "\r\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if s = strings.TrimSuffix(strings.TrimPrefix(s, "rawns run: "), "\r"); s != "" {
		l.line = s
	}
	return l.w.Write(b)
}

// writeFD writes b whole to fd; a reader that went away is not rawns's
// failure, so errors are ignored.
func writeFD(fd int, b []byte) {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			return
		}
		b = b[n:]
	}
}
