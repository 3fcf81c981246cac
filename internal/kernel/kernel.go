// Package kernel answers one question about the running kernel: is it at
// least a given version? For the rules that changed at a known release
// (mount_setattr in 5.12, the time namespace's execve in 6.2, an overlay on
// a tmpfs in 6.5), where probing would cost a system call that fails; and
// for seccomp profiles' minKernel conditions. It is the one reader of
// kernel versions.
package kernel

import (
	"errors"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Version is a kernel release's major and minor numbers: 6.18 of
// "6.18.0-13-cloud-amd64".
type Version struct {
	Major, Minor int
}

// AtLeast reports whether v is major.minor or newer.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

// ErrVersion is Parse's error for what is not "MAJOR.MINOR".
var ErrVersion = errors.New(`want "MAJOR.MINOR"`)

// Parse reads MAJOR.MINOR at the start of s, as uname(2)'s release writes
// it ("6.18.0-13-cloud-amd64") and as a seccomp profile's minKernel does
// ("5.8"): both decimal numbers, and after the minor one nothing, or a
// '.', '-' or '+' and anything (the patch level and the build's name,
// which moby ignores too).
func Parse(s string) (Version, error) {
	maj, rest, ok := strings.Cut(s, ".")
	if !ok {
		return Version{}, ErrVersion
	}
	min := rest
	if i := strings.IndexAny(rest, ".-+"); i >= 0 {
		min = rest[:i]
	}
	a, err1 := decimal(maj)
	b, err2 := decimal(min)
	if err1 != nil || err2 != nil {
		return Version{}, ErrVersion
	}
	return Version{a, b}, nil
}

// decimal is a number of digits only: no sign, no space, as strconv.Atoi
// would allow a sign.
func decimal(s string) (int, error) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, ErrVersion
	}
	return strconv.Atoi(s)
}

// Running returns the version of the running kernel, from uname(2).
func Running() (Version, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return Version{}, err
	}
	return Parse(unix.ByteSliceToString(u.Release[:]))
}

// AtLeast reports whether the running kernel is major.minor or newer. If
// the release cannot be read it says true: the feature is then tried, and
// the kernel's own error tells.
func AtLeast(major, minor int) bool {
	v, err := Running()
	return err != nil || v.AtLeast(major, minor)
}
