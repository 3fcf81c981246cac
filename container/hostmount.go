package container

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// A container without a mount namespace (clone.Spec.HostMountNS: OCI's
// config whose linux.namespaces has no mount) has its root and mounts in
// the runtime's own mount namespace, one tree attached on the root
// directory. runc leaves that tree there when the container is deleted;
// rawns removes it: create records which mount it attached (State.RootMount)
// and delete, or a failed create, detaches it with umount2(2) MNT_DETACH,
// and only it: a root directory that was a mount point before (an
// engine's overlay) keeps its own mount.

// mountID is the id of the mount at the top of path: the 64-bit unique id
// where the kernel has it (statx(2) STATX_MNT_ID_UNIQUE, Linux 6.8+), which
// is never reused, else the 32-bit one (STATX_MNT_ID, 5.8+), with unique
// false.
func mountID(path string) (id uint64, unique bool, err error) {
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, unix.AT_NO_AUTOMOUNT, unix.STATX_MNT_ID_UNIQUE, &st); err != nil {
		return 0, false, err
	}
	if st.Mask&unix.STATX_MNT_ID_UNIQUE != 0 {
		return st.Mnt_id, true, nil
	}
	if st.Mask&unix.STATX_MNT_ID == 0 {
		return 0, false, fmt.Errorf("statx %s: the kernel reports no mount id (Linux 5.8+)", path)
	}
	return st.Mnt_id, false, nil
}

// rootMount names the tree a container attached on its root: its mount
// id, and whether that id is the unique kind.
type rootMount struct {
	ID     uint64 `json:"id"`
	Unique bool   `json:"unique,omitempty"`
}

// unmountRoot detaches the tree at root if it is still the one m names.
func unmountRoot(root string, m *rootMount) error {
	id, unique, err := mountID(root)
	if err != nil || id != m.ID || unique != m.Unique {
		return nil // gone already, or not ours: nothing of the container's there
	}
	if err := unix.Unmount(root, unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmounting the container's root %s: %v", root, err)
	}
	return nil
}

// unmountRootChanged detaches the tree at root unless it is the mount
// that was there before (a failed create: the child may have attached its
// tree and died).
func unmountRootChanged(root string, before *rootMount) {
	id, unique, err := mountID(root)
	if err != nil || id == before.ID && unique == before.Unique {
		return
	}
	unix.Unmount(root, unix.MNT_DETACH)
}
