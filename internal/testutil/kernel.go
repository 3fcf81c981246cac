package testutil

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// KernelAtLeast reports whether the running kernel is major.minor or newer
// (uname(2)); true if the release cannot be read.
func KernelAtLeast(major, minor int) bool {
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
