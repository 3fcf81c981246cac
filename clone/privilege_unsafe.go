//go:build linux && (amd64 || arm64)

package clone

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// childPrivilege is the privilege phase, in the order of Privilege's doc
// comment, each step its own Stage; with no_new_privs the filter comes
// later (childSeccomp, after the gate), without it here, before the
// capability steps (4). Everything before it may have needed privilege;
// nothing after it does, but write(2) and execve(2).
//
//go:nosplit
//go:norace
//go:nocheckptr
func childPrivilege(d *childData) syscall.Errno {
	var (
		p     *privData
		i     uintptr // a resource limit's index
		c     uintptr // a capability's number
		has   uintptr // PR_CAPBSET_READ's answer
		errno syscall.Errno
	)
	p = d.priv
	// 1. Resource limits, while CAP_SYS_RESOURCE (which raising a hard
	// limit needs) may still be there.
	for i = 0; i < uintptr(p.nrlimit); i++ {
		_, _, errno = rawSyscall6(unix.SYS_PRLIMIT64, 0, p.rlimits[i&(maxRlimits-1)].resource, uintptr(unsafe.Pointer(&p.rlimits[i&(maxRlimits-1)].lim)), 0, 0, 0)
		if errno != 0 {
			d.x.report.stage = uint32(StageRlimit)
			return errno
		}
	}
	// 2. umask(2) cannot fail.
	if p.setUmask {
		rawSyscall(unix.SYS_UMASK, p.umask, 0, 0)
	}
	// 3. A new session, then the controlling terminal: TIOCSCTTY works
	// only for a session leader that has none (ioctl_tty(2)); a session
	// of its own cuts the command off the caller's terminal, so TIOCSTI
	// cannot reach it (CVE-2017-5226).
	if p.setsid {
		_, _, errno = rawSyscall(unix.SYS_SETSID, 0, 0, 0)
		if errno != 0 {
			d.x.report.stage = uint32(StageSetsid)
			return errno
		}
	}
	if p.setctty {
		_, _, errno = rawSyscall(unix.SYS_IOCTL, p.ctty, unix.TIOCSCTTY, 0)
		if errno != 0 {
			d.x.report.stage = uint32(StageCtty)
			return errno
		}
	}
	// 4. Without no_new_privs, seccomp(2) takes a filter only from a
	// task with CAP_SYS_ADMIN in its effective set, which the steps
	// below may remove: install it now, under the caller's privilege, as
	// runc does; the filter must then allow what follows.
	if p.seccompEarly {
		if errno = childSeccomp(d, StageSeccompEarly); errno != 0 {
			return errno
		}
	}
	// 5. The bounding set, while CAP_SETPCAP is in the effective set:
	// drop each capability that is not kept. PR_CAPBSET_DROP answers
	// EINVAL past the kernel's last capability, which ends the loop; on
	// EPERM (no CAP_SETPCAP) a capability already gone is fine, which
	// PR_CAPBSET_READ tells (the kernel checks CAP_SETPCAP before the
	// number). One call per capability, not two.
	if p.dropBounding {
		for c = 0; c < 64; c++ {
			if p.bounding&(1<<c) != 0 {
				continue
			}
			_, _, errno = rawSyscall(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, c, 0)
			if errno == unix.EINVAL {
				break
			}
			if errno == unix.EPERM {
				has, _, errno = rawSyscall(unix.SYS_PRCTL, unix.PR_CAPBSET_READ, c, 0)
				if errno == unix.EINVAL {
					break
				}
				if errno == 0 && has == 1 {
					errno = unix.EPERM
				}
			}
			if errno != 0 {
				d.x.report.stage = uint32(StageBounding)
				return errno
			}
		}
	}
	// 6. The identity: keep the permitted set across a uid change from 0
	// (otherwise it is cleared, capabilities(7)), then groups and gid
	// while CAP_SETGID is still effective, then the uid.
	if p.setCred {
		if p.keepCaps {
			_, _, errno = rawSyscall(unix.SYS_PRCTL, unix.PR_SET_KEEPCAPS, 1, 0)
			if errno != 0 {
				d.x.report.stage = uint32(StageKeepCaps)
				return errno
			}
		}
		if p.setGroups {
			_, _, errno = rawSyscall(unix.SYS_SETGROUPS, p.ngroups, uintptr(unsafe.Pointer(p.groups)), 0)
			if errno != 0 {
				d.x.report.stage = uint32(StageSetgroups)
				return errno
			}
		}
		_, _, errno = rawSyscall(unix.SYS_SETRESGID, p.gid, p.gid, p.gid)
		if errno != 0 {
			d.x.report.stage = uint32(StageSetresgid)
			return errno
		}
		_, _, errno = rawSyscall(unix.SYS_SETRESUID, p.uid, p.uid, p.uid)
		if errno != 0 {
			d.x.report.stage = uint32(StageSetresuid)
			return errno
		}
		// A change of the effective ids clears the parent-death signal
		// (prctl(2), PR_SET_PDEATHSIG): set it again, as Go's
		// forkAndExecInChild sets it after the credentials.
		if d.pdeathsig {
			_, _, errno = rawSyscall(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0)
			if errno != 0 {
				d.x.report.stage = uint32(StagePdeathsig)
				return errno
			}
		}
	}
	// 7. and 8. The capability sets, after the uid change, which cleared
	// the effective set; then ambient, which needs each capability in
	// both the permitted and the inheritable set.
	if p.setCaps {
		if errno = childCaps(d); errno != 0 {
			return errno
		}
	}
	// 9. From here execve grants nothing: no set-user-ID, no file
	// capabilities (prctl(2)).
	if p.noNewPrivs {
		_, _, errno = rawSyscall6(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0)
		if errno != 0 {
			d.x.report.stage = uint32(StageNoNewPrivs)
			return errno
		}
	}
	return 0
}

// childCaps is steps 7 and 8 of the privilege phase: capset(2), then the
// ambient set.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childCaps(d *childData) syscall.Errno {
	var (
		p     *privData
		c     uintptr // a capability's number
		errno syscall.Errno
	)
	p = d.priv
	_, _, errno = rawSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&p.capHdr)), uintptr(unsafe.Pointer(&p.capData[0])), 0)
	if errno != 0 {
		d.x.report.stage = uint32(StageCapset)
		return errno
	}
	// What the caller had in ambient goes (capset kept only what is still
	// permitted and inheritable); before Linux 4.3 there is no ambient
	// set, and nothing to clear.
	_, _, errno = rawSyscall6(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0, 0)
	if errno != 0 && (errno != unix.EINVAL || p.ambient != 0) {
		d.x.report.stage = uint32(StageAmbient)
		return errno
	}
	for c = 0; c < 64; c++ {
		if p.ambient&(1<<c) == 0 {
			continue
		}
		_, _, errno = rawSyscall6(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, c, 0, 0, 0)
		if errno != 0 {
			d.x.report.stage = uint32(StageAmbient)
			return errno
		}
	}
	return 0
}
