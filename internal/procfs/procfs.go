// Package procfs reads the few /proc files rawns looks at (proc(5)) and
// finds fields in them: /proc/PID/stat, status, mountinfo and cgroup. One
// reader for all, so that each rule of their formats (a command name may
// hold spaces and parentheses; mount points are octal-escaped; a status
// line is "Key:<tab>value") is written once.
//
// It reads into a buffer the caller gives, so that a caller on a path that
// counts can read from the stack; nothing here runs at package
// initialisation.
package procfs

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Path is the /proc path of file name of process pid: /proc/PID/NAME, or
// /proc/self/NAME for pid 0.
func Path(pid int, name string) string {
	if pid == 0 {
		return "/proc/self/" + name
	}
	return "/proc/" + strconv.Itoa(pid) + "/" + name
}

// ReadFile reads the file at path into buf and returns the part read. A
// /proc file has no size to stat, so buf must hold it all: a file that
// fills buf is io.ErrShortBuffer (read it again with a larger one; 4 KiB
// holds a stat or a status, mountinfo wants more).
func ReadFile(path string, buf []byte) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &pathError{"open", path, err}
	}
	defer unix.Close(fd)
	// A file of /proc is generated on each read(2) and may come in
	// pieces: read to EOF (0), not to the first short read.
	for n := 0; ; {
		m, err := unix.Read(fd, buf[n:])
		switch {
		case err == unix.EINTR:
		case err != nil:
			return nil, &pathError{"read", path, err}
		case m == 0:
			return buf[:n], nil
		case n+m == len(buf):
			return nil, &pathError{"read", path, io.ErrShortBuffer}
		default:
			n += m
		}
	}
}

// Read reads the file at path whole, into buf if it fits, else into a
// buffer it grows.
func Read(path string, buf []byte) ([]byte, error) {
	if len(buf) == 0 {
		buf = make([]byte, 4096)
	}
	for {
		b, err := ReadFile(path, buf)
		if !errors.Is(err, io.ErrShortBuffer) {
			return b, err
		}
		buf = make([]byte, 2*len(buf))
	}
}

// pathError is os.PathError's text, without importing os.
type pathError struct {
	op, path string
	err      error
}

func (e *pathError) Error() string { return e.op + " " + e.path + ": " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

// StatusValue returns the value of key in a /proc/PID/status ("NSpid",
// "SigCgt"), without the blanks around it.
func StatusValue(status []byte, key string) ([]byte, bool) {
	for len(status) > 0 {
		var line []byte
		line, status, _ = bytes.Cut(status, []byte{'\n'})
		if len(line) > len(key) && line[len(key)] == ':' && string(line[:len(key)]) == key {
			return bytes.TrimSpace(line[len(key)+1:]), true
		}
	}
	return nil, false
}

// StatusMask returns the hexadecimal mask key of a /proc/PID/status
// ("SigBlk", "SigIgn", "SigCgt", "CapEff").
func StatusMask(status []byte, key string) (uint64, bool) {
	v, ok := StatusValue(status, key)
	if !ok {
		return 0, false
	}
	m, err := strconv.ParseUint(string(v), 16, 64)
	return m, err == nil
}

// StatField returns field n of a /proc/PID/stat, numbered from 1 as proc(5)
// numbers them, for n of 3 (the state) and up: they are counted after the
// command name's last ')', since the name may hold spaces and ')'.
func StatField(stat []byte, n int) ([]byte, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || n < 3 {
		return nil, false
	}
	rest := stat[i+1:]
	for f := 3; ; f++ {
		rest = bytes.TrimLeft(rest, " \n")
		if len(rest) == 0 {
			return nil, false
		}
		end := bytes.IndexAny(rest, " \n")
		if end < 0 {
			end = len(rest)
		}
		if f == n {
			return rest[:end], true
		}
		rest = rest[end:]
	}
}

// State is field 3 of /proc/PID/stat: R, S, D, Z (a zombie), X, ...; 0 if
// there is none.
func State(stat []byte) byte {
	if f, ok := StatField(stat, 3); ok && len(f) > 0 {
		return f[0]
	}
	return 0
}

// Exited reports whether the process whose /proc/PID/stat is stat has
// exited: dead (X), or a zombie (Z) that is the only thread left of its
// thread group; also when stat has no state.
//
// Z alone does not say so: /proc/PID/stat shows the thread-group
// leader's state, and a leader can exit while other threads of the
// process run. A multi-threaded program whose execve(2) comes from a
// thread other than the main one (a Go program's syscall.Exec, most
// often) goes through that on every exec: de_thread (fs/exec.c) kills
// the other threads, waits for the leader to become a zombie, and only
// then gives the execing thread the leader's pid, start time and all. A
// leader that called pthread_exit(3) stays a zombie while the process
// lives on. In both, num_threads (field 20) still counts the leader and
// the live threads; only a process whose every thread has exited is a
// zombie alone. That is the kernel's own test for a pidfd's readiness
// (pidfd_poll, thread_group_exited): the leader has exited and its
// thread group is empty.
func Exited(stat []byte) bool {
	switch State(stat) {
	case 0, 'X':
		return true
	case 'Z':
		f, ok := StatField(stat, 20)
		return !ok || string(f) == "1" || string(f) == "0"
	}
	return false
}

// StartTime returns when process pid (0: this one) started, in clock ticks
// since boot: field 22 of /proc/PID/stat. With the pid, it names a process
// for good, pid reuse notwithstanding.
func StartTime(pid int) (uint64, error) {
	var buf [1024]byte
	p := Path(pid, "stat")
	b, err := ReadFile(p, buf[:])
	if err != nil {
		return 0, err
	}
	f, ok := StatField(b, 22)
	if !ok {
		return 0, errors.New(p + ": no field 22")
	}
	return strconv.ParseUint(string(f), 10, 64)
}

// Mount is one line of /proc/PID/mountinfo (proc_pid_mountinfo(5)), its
// paths unescaped.
type Mount struct {
	ID, Parent   int
	Root, Point  string // the root of the mount in its filesystem; where it is mounted
	Options      string // per mount: "rw,nosuid,relatime"
	Optional     string // the optional fields, space-separated: "shared:1 master:2"
	FSType       string
	Source       string
	SuperOptions string // per superblock
	Line         string // the line as the kernel wrote it
}

// Mounts parses a /proc/PID/mountinfo. A line that is not one is an error.
func Mounts(mountinfo []byte) ([]Mount, error) {
	var ms []Mount
	for _, line := range strings.Split(strings.TrimSuffix(string(mountinfo), "\n"), "\n") {
		if line == "" {
			continue
		}
		pre, post, ok := strings.Cut(line, " - ")
		f, p := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 6 || len(p) < 2 {
			return nil, errors.New("mountinfo: malformed line " + strconv.Quote(line))
		}
		id, err1 := strconv.Atoi(f[0])
		parent, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil {
			return nil, errors.New("mountinfo: malformed line " + strconv.Quote(line))
		}
		m := Mount{ID: id, Parent: parent, Root: Unescape(f[3]), Point: Unescape(f[4]), Options: f[5],
			Optional: strings.Join(f[6:], " "), FSType: p[0], Source: Unescape(p[1]), Line: line}
		if len(p) > 2 {
			m.SuperOptions = p[2]
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// Unescape undoes the kernel's octal escapes of space, tab, newline and
// backslash in mountinfo's paths (\040 for a space; fs/proc_namespace.c).
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Cgroup is one line of /proc/PID/cgroup (cgroups(7)): a v1 hierarchy's
// id, its controllers ("cpu,cpuacct"; "name=systemd") and the path; for
// cgroup2, id 0 and no controllers.
type Cgroup struct {
	ID          string
	Controllers string
	Path        string
}

// Cgroups parses a /proc/PID/cgroup; lines that are not "ID:CONTROLLERS:PATH"
// are skipped.
func Cgroups(b []byte) []Cgroup {
	var cs []Cgroup
	for _, l := range strings.Split(string(b), "\n") {
		if p := strings.SplitN(l, ":", 3); len(p) == 3 {
			cs = append(cs, Cgroup{p[0], p[1], p[2]})
		}
	}
	return cs
}
