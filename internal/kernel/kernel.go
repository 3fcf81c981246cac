// Package kernel answers one question about the running kernel: is it at
// least a given version? For the rules that changed at a known release
// (mount_setattr in 5.12, the time namespace's execve in 6.2, an overlay on
// a tmpfs in 6.5), where probing would cost a system call that fails.
package kernel

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// AtLeast reports whether the running kernel is major.minor or newer, by
// uname(2)'s release. If the release cannot be read it says true: the
// feature is then tried, and the kernel's own error tells.
func AtLeast(major, minor int) bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return true
	}
	var ma, mi int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &ma, &mi); err != nil {
		return true
	}
	return ma > major || ma == major && mi >= minor
}
