package clone

import (
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// Privilege is how the child narrows itself right before execve(2): the
// privilege phase, after chdir and before the exec marker. Its zero value
// changes nothing, so a spec without it runs exactly as before. The fields
// are the low-level form an OCI config.json's process section (user,
// capabilities, rlimits, noNewPrivileges, terminal) and linux.seccomp
// compile into; package security turns names and profiles into them.
//
// The child makes the steps in this order, each for a kernel rule
// (docs/how-it-works.md has the table):
//
//  1. rlimits (prlimit(2)): raising a hard limit needs CAP_SYS_RESOURCE,
//     which a later step may drop.
//  2. umask (umask(2)).
//  3. setsid(2), then TIOCSCTTY on Ctty (ioctl_tty(2)): only a session
//     leader without a controlling terminal may acquire one, and a new
//     session cuts the command off from the caller's terminal, so it cannot
//     push input into it with TIOCSTI (CVE-2017-5226).
//  4. seccomp(SECCOMP_SET_MODE_FILTER) when NoNewPrivs is off: the
//     kernel then takes a filter only from a task with CAP_SYS_ADMIN in
//     its effective set (seccomp(2)), which steps 5 to 7 may remove. So
//     the filter goes in here, while the caller's capabilities are still
//     there, as runc installs it then; it must allow the steps below
//     (prctl, setgroups, setresgid, setresuid, capset, the gate's write,
//     close and read), which the engines' default profiles do.
//  5. PR_CAPBSET_DROP for every capability outside Caps.Bounding
//     (prctl(2)): it needs CAP_SETPCAP in the effective set, which step 7
//     may take away.
//  6. PR_SET_KEEPCAPS when the uid changes from 0, then setgroups(2),
//     setresgid(2), setresuid(2): groups and gid first, while CAP_SETGID
//     is still there; without keep-caps the uid change would clear the
//     permitted set (capabilities(7), "Effect of user ID changes").
//  7. capset(2) for effective, permitted and inheritable: after the uid
//     change, which clears the effective set even with keep-caps.
//  8. PR_CAP_AMBIENT_CLEAR_ALL, then PR_CAP_AMBIENT_RAISE for each of
//     Caps.Ambient: a capability can be raised only while it is in both
//     the permitted and the inheritable set.
//  9. PR_SET_NO_NEW_PRIVS: execve may then grant nothing (no set-user-ID,
//     no file capabilities).
//  10. seccomp(SECCOMP_SET_MODE_FILTER) when NoNewPrivs is on: last, after
//     the gate, so that the filter need not allow any of the steps above;
//     no_new_privs lets any task install it. Either way it must allow
//     write(2) (the exec marker), execve(2) and exit_group(2).
type Privilege struct {
	// Rlimits are set in order with prlimit(2) on the child.
	Rlimits []Rlimit
	// Umask, if not nil, becomes the child's umask.
	Umask *uint32

	// Setsid makes the child the leader of a new session (setsid(2)).
	Setsid bool
	// Setctty makes the child's fd Ctty (0, 1 or 2, after stdio is set up)
	// its controlling terminal with TIOCSCTTY; it needs Setsid.
	Setctty bool
	Ctty    int

	// Cred, if not nil, is the identity the child takes.
	Cred *Credential
	// Caps, if not nil, are the capability sets the child ends with. Nil
	// leaves the caller's sets as they are, as unshare(1) does.
	Caps *Capabilities
	// NoNewPrivs sets PR_SET_NO_NEW_PRIVS.
	NoNewPrivs bool
	// Seccomp, if not empty, is a classic BPF program (seccomp(2)),
	// compiled in the parent (package security/seccomp), installed last
	// with NoNewPrivs, before the capability steps without it (step 4).
	Seccomp []unix.SockFilter
}

// Credential is the identity the child takes: setgroups(2), setresgid(2)
// and setresuid(2), in that order.
type Credential struct {
	UID, GID uint32
	// Groups are the supplementary groups; empty clears them.
	Groups []uint32
	// NoSetGroups leaves the supplementary groups alone. It is implied for
	// an empty Groups in a user namespace whose gid map rawns writes,
	// because rawns denies setgroups there (user_namespaces(7)).
	NoSetGroups bool
}

// Capabilities are capability sets as bit masks, bit n for capability n
// (capabilities(7), linux/capability.h).
type Capabilities struct {
	Bounding, Effective, Permitted, Inheritable, Ambient uint64
}

// Rlimit is one resource limit (getrlimit(2)): Resource is RLIMIT_*.
type Rlimit struct {
	Resource int
	Cur, Max uint64
}

// maxRlimits is the kernel's RLIM_NLIMITS: there are no more resources.
const maxRlimits = 16

// maxSeccompInsns is BPF_MAXINSNS, the kernel's limit on a classic BPF
// program (linux/bpf_common.h).
const maxSeccompInsns = 4096

// validate checks the privilege phase of s; its errors name the field.
func (p *Privilege) validate(s *Spec) error {
	if len(p.Rlimits) > maxRlimits {
		return fmt.Errorf("%d rlimits; the kernel has %d resources", len(p.Rlimits), maxRlimits)
	}
	for _, r := range p.Rlimits {
		if r.Resource < 0 || r.Resource >= maxRlimits {
			return fmt.Errorf("rlimit resource %d is not a resource of the kernel (0-%d)", r.Resource, maxRlimits-1)
		}
		if r.Cur > r.Max {
			return fmt.Errorf("rlimit %d: soft limit %d is above the hard limit %d", r.Resource, r.Cur, r.Max)
		}
	}
	if p.Umask != nil && *p.Umask > 0o777 {
		return fmt.Errorf("umask %#o has bits beyond 0777", *p.Umask)
	}
	if p.Setctty {
		if !p.Setsid {
			return errors.New("a controlling terminal (Setctty) needs a new session (Setsid): only a session leader may acquire one")
		}
		if p.Ctty < 0 || p.Ctty > 2 {
			return fmt.Errorf("Ctty is %d; give 0, 1 or 2, a fd of the child after stdio is set up", p.Ctty)
		}
	}
	if c := p.Cred; c != nil {
		if c.UID == ^uint32(0) || c.GID == ^uint32(0) {
			return errors.New("uid or gid 4294967295 is (uid_t)-1, which setresuid(2) takes as \"leave unchanged\"")
		}
		if len(c.Groups) > 65536 {
			return fmt.Errorf("%d supplementary groups; the kernel allows at most 65536 (NGROUPS_MAX)", len(c.Groups))
		}
		if s.GIDMap != nil && len(c.Groups) > 0 && !c.NoSetGroups {
			return errors.New("supplementary groups cannot be set in a user namespace whose gid map rawns writes: setgroups is denied there")
		}
	}
	if c := p.Caps; c != nil {
		if c.Effective&^c.Permitted != 0 {
			return fmt.Errorf("effective capabilities %#x are not all permitted (%#x)", c.Effective, c.Permitted)
		}
		if c.Ambient&^(c.Permitted&c.Inheritable) != 0 {
			return fmt.Errorf("ambient capabilities %#x must be both permitted and inheritable (PR_CAP_AMBIENT_RAISE)", c.Ambient)
		}
	}
	if len(p.Seccomp) > maxSeccompInsns {
		return fmt.Errorf("the seccomp program has %d instructions; the kernel allows %d", len(p.Seccomp), maxSeccompInsns)
	}
	return nil
}

// privSubject names what a failed privilege stage worked on, for ChildError.
// A step after an early filter (step 4) may have failed because the
// filter denied it; the subject says so.
func (p *Privilege) privSubject(st Stage) string {
	var s string
	switch {
	case st == StageSetresuid && p.Cred != nil:
		s = "uid " + strconv.FormatUint(uint64(p.Cred.UID), 10)
	case st == StageSetresgid && p.Cred != nil:
		s = "gid " + strconv.FormatUint(uint64(p.Cred.GID), 10)
	case st == StageCtty:
		s = "fd " + strconv.Itoa(p.Ctty)
	}
	if p.seccompEarly() && st > StageSeccompEarly && st < StageNoNewPrivs {
		if s != "" {
			s += " "
		}
		s += "(under the seccomp filter, installed before this step because no_new_privs is off: the filter must allow it)"
	}
	return s
}

// seccompEarly tells whether the filter goes in before the capability
// steps (step 4): without no_new_privs.
func (p *Privilege) seccompEarly() bool {
	return len(p.Seccomp) > 0 && !p.NoNewPrivs
}

// Linux capability ABI (linux/capability.h): version 3, two 32-bit words
// per set.
const linuxCapabilityVersion3 = 0x20080522

type capHeader struct {
	version uint32
	pid     int32
}

type capData struct {
	effective   uint32
	permitted   uint32
	inheritable uint32
}

type rlimitStep struct {
	resource uintptr
	lim      unix.Rlimit
}

// privData is the privilege phase as the child reads it. The child writes
// none of it (capset(2) may write the header's version on EINVAL only, and
// the parent reads nothing of it after the clone).
type privData struct {
	nrlimit uint8
	rlimits [maxRlimits]rlimitStep

	setUmask bool
	umask    uintptr

	setsid  bool
	setctty bool
	ctty    uintptr

	dropBounding bool
	bounding     uint64

	setCred   bool
	keepCaps  bool // PR_SET_KEEPCAPS before the uid change
	setGroups bool
	groups    *uint32 // nil for none
	ngroups   uintptr
	uid, gid  uintptr

	setCaps bool
	capHdr  capHeader
	capData [2]capData
	ambient uint64

	noNewPrivs   bool
	seccomp      bool // the filter, last (with no_new_privs)
	seccompEarly bool // the filter, before the capability steps (step 4)
	prog         unix.SockFprog
}

// privPrepared is privData and the Go memory it points into, kept by
// prepared until the clone has returned.
type privPrepared struct {
	d       privData
	groups  []uint32
	seccomp []unix.SockFilter
}

// preparePriv builds the child's privilege phase from spec.Privilege.
func preparePriv(spec *Spec) *privPrepared {
	m := &privPrepared{}
	d := &m.d
	p := spec.Privilege
	for i, r := range p.Rlimits {
		d.rlimits[i] = rlimitStep{resource: uintptr(r.Resource), lim: unix.Rlimit{Cur: r.Cur, Max: r.Max}}
	}
	d.nrlimit = uint8(len(p.Rlimits))
	if p.Umask != nil {
		d.setUmask, d.umask = true, uintptr(*p.Umask)
	}
	d.setsid = p.Setsid
	d.setctty, d.ctty = p.Setctty, uintptr(p.Ctty)
	if c := p.Cred; c != nil {
		d.setCred = true
		d.uid, d.gid = uintptr(c.UID), uintptr(c.GID)
		// Keep the permitted set across a uid change from 0 only when
		// some capability is to be kept; capset then sets them exactly.
		d.keepCaps = c.UID != 0 && p.Caps != nil && p.Caps.Permitted != 0
		d.setGroups = !c.NoSetGroups && !(spec.GIDMap != nil && len(c.Groups) == 0)
		if len(c.Groups) > 0 {
			m.groups = c.Groups // kept reachable here, not copied
			d.groups, d.ngroups = &m.groups[0], uintptr(len(m.groups))
		}
	}
	if c := p.Caps; c != nil {
		d.dropBounding, d.bounding = true, c.Bounding
		d.setCaps = true
		d.capHdr = capHeader{version: linuxCapabilityVersion3}
		d.capData[0] = capData{effective: uint32(c.Effective), permitted: uint32(c.Permitted), inheritable: uint32(c.Inheritable)}
		d.capData[1] = capData{effective: uint32(c.Effective >> 32), permitted: uint32(c.Permitted >> 32), inheritable: uint32(c.Inheritable >> 32)}
		d.ambient = c.Ambient
	}
	d.noNewPrivs = p.NoNewPrivs
	if len(p.Seccomp) > 0 {
		m.seccomp = p.Seccomp // kept reachable here, not copied
		d.seccomp, d.seccompEarly = !p.seccompEarly(), p.seccompEarly()
		d.prog = unix.SockFprog{Len: uint16(len(m.seccomp)), Filter: &m.seccomp[0]}
	}
	return m
}
