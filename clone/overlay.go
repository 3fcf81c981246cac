package clone

import "strings"

// OverlayCanTake reports whether overlayfs can take directory p as a layer
// (the lower directory, or the upper and work directories): its options
// name the lower layers separated by ':' and the options by ',' (the
// kernel's Documentation/filesystems/overlayfs.rst), so a path holding
// either reads as something else. Spec.Validate checks Root and
// OverlayDir with it; package rootfs, which the user's wishes go through
// first, checks them the same way to word the error its own.
func OverlayCanTake(p string) bool {
	return !strings.ContainsAny(p, ",:")
}
