// Package security turns a user's wishes about privilege (capability names,
// resource limit names, users and groups) into the low-level fields of
// clone.Privilege. It runs in the parent only; the seccomp compiler is its
// subpackage seccomp.
//
// Nothing here runs at start-up: no init, no package-level maps, only
// constant tables, so that a `rawns run` that uses none of it pays nothing.
package security

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
)

// CapSet is a set of capabilities, bit n for capability n
// (linux/capability.h), the form clone.Capabilities takes.
type CapSet uint64

// capNames are the capabilities Linux 6.18 knows, by number
// (capabilities(7)), lower case without the CAP_ prefix.
var capNames = [...]string{
	"chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill",
	"setgid", "setuid", "setpcap", "linux_immutable", "net_bind_service",
	"net_broadcast", "net_admin", "net_raw", "ipc_lock", "ipc_owner",
	"sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct",
	"sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time",
	"sys_tty_config", "mknod", "lease", "audit_write", "audit_control",
	"setfcap", "mac_override", "mac_admin", "syslog", "wake_alarm",
	"block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore",
}

// DockerDefault is docker's (moby's) default capability set for a
// container, the one `--caps docker` selects: 14 capabilities
// (moby's oci/caps defaults, also runc's spec example).
const DockerDefault = CapSet(1<<unix.CAP_CHOWN | 1<<unix.CAP_DAC_OVERRIDE | 1<<unix.CAP_FSETID |
	1<<unix.CAP_FOWNER | 1<<unix.CAP_MKNOD | 1<<unix.CAP_NET_RAW | 1<<unix.CAP_SETGID |
	1<<unix.CAP_SETUID | 1<<unix.CAP_SETFCAP | 1<<unix.CAP_SETPCAP |
	1<<unix.CAP_NET_BIND_SERVICE | 1<<unix.CAP_SYS_CHROOT | 1<<unix.CAP_KILL |
	1<<unix.CAP_AUDIT_WRITE)

// CapNumber returns the number of a capability named as CAP_NET_RAW or
// net_raw, in any case.
func CapNumber(name string) (int, bool) {
	n := strings.ToLower(name)
	n = strings.TrimPrefix(n, "cap_")
	for i, c := range capNames {
		if c == n {
			return i, true
		}
	}
	return 0, false
}

// CapName returns "CAP_NET_RAW" for 13; an unknown number as "CAP_42".
func CapName(n int) string {
	if n >= 0 && n < len(capNames) {
		return "CAP_" + strings.ToUpper(capNames[n])
	}
	return "CAP_" + strconv.Itoa(n)
}

// LastCap is the highest capability this kernel knows
// (/proc/sys/kernel/cap_last_cap), or the highest rawns knows when that
// cannot be read.
func LastCap() int {
	lastCapOnce.Do(func() {
		lastCap = len(capNames) - 1
		// unix.Open, not os.ReadFile: an *os.File sets up the runtime's
		// poller (epoll), page faults a run without it does not pay.
		fd, err := unix.Open("/proc/sys/kernel/cap_last_cap", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return
		}
		var buf [16]byte
		n, err := unix.Read(fd, buf[:])
		unix.Close(fd)
		if err == nil && n > 0 {
			if v, err := strconv.Atoi(strings.TrimSpace(string(buf[:n]))); err == nil && v > 0 && v < 64 {
				lastCap = v
			}
		}
	})
	return lastCap
}

// lastCap caches LastCap: the command line asks for it several times.
var (
	lastCapOnce sync.Once
	lastCap     int
)

// AllCaps is every capability of this kernel.
func AllCaps() CapSet {
	return CapSet(1<<(LastCap()+1) - 1)
}

// ParseCaps parses a comma-separated list of capability names (CAP_NET_RAW
// or net_raw) or ALL. all is true when ALL is in the list.
func ParseCaps(list string) (set CapSet, all bool, err error) {
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if strings.EqualFold(item, "all") || strings.EqualFold(item, "cap_all") {
			all = true
			continue
		}
		n, ok := CapNumber(item)
		if !ok {
			if item == "" {
				return 0, false, fmt.Errorf("empty capability name in %q; give names such as net_raw or CAP_NET_RAW, or ALL", list)
			}
			return 0, false, fmt.Errorf("unknown capability %q; give a name such as net_raw or CAP_NET_RAW (capabilities(7)), or ALL", item)
		}
		set |= 1 << n
	}
	return set, all, nil
}

// String lists the set as "CAP_CHOWN,CAP_NET_RAW"; "" for none.
func (s CapSet) String() string {
	var b strings.Builder
	for v := uint64(s); v != 0; v &= v - 1 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(CapName(bits.TrailingZeros64(v)))
	}
	return b.String()
}

// CurrentCaps returns the calling thread's effective set: the default
// `rawns run` keeps, as unshare(1) does.
func CurrentCaps() (CapSet, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, fmt.Errorf("capget: %w", err)
	}
	return CapSet(data[0].Effective) | CapSet(data[1].Effective)<<32, nil
}

// HeldCaps returns what the calling thread can hand a command it starts
// in its own user namespace: the capabilities in both its permitted set
// (capset(2) raises nothing beyond it: EPERM) and its bounding set
// (execve(2) gives a root command nothing outside it; PR_CAPBSET_READ,
// prctl(2)). A process started under `capsh --drop=...`, or by a parent
// that dropped some, holds fewer than the kernel knows.
func HeldCaps() (CapSet, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, fmt.Errorf("capget: %w", err)
	}
	held := CapSet(data[0].Permitted) | CapSet(data[1].Permitted)<<32
	for n := 0; n <= LastCap(); n++ {
		if held&(1<<n) == 0 {
			continue
		}
		if in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(n), 0, 0, 0); err != nil {
			return 0, fmt.Errorf("prctl(PR_CAPBSET_READ, %s): %w", CapName(n), err)
		} else if in == 0 {
			held &^= 1 << n
		}
	}
	return held, nil
}

// Resolve applies --cap-drop and then --cap-add to base, as docker does:
// dropping ALL starts from nothing, adding ALL gives every capability of
// this kernel.
func Resolve(base, drop CapSet, dropAll bool, add CapSet, addAll bool) CapSet {
	s := base &^ drop
	if dropAll {
		s = 0
	}
	s |= add
	if addAll {
		s |= AllCaps()
	}
	return s & AllCaps()
}

// Sets returns the sets a command that is to hold keep gets, running as
// uid. The bounding, permitted and effective sets are keep. The inheritable
// set stays empty (CVE-2022-29162: an inheritable set that docker and runc
// once filled let a program with inheritable file capabilities gain them),
// except for what ambient needs: a non-root uid keeps a capability across
// execve only through the ambient set (capabilities(7)), and
// PR_CAP_AMBIENT_RAISE takes only what is both permitted and inheritable.
// So ambient, cut to keep, goes into both for a non-root uid; root gets its
// sets from the bounding set at execve and needs none.
func Sets(keep, ambient CapSet, uid uint32) clone.Capabilities {
	c := clone.Capabilities{Bounding: uint64(keep), Effective: uint64(keep), Permitted: uint64(keep)}
	if uid != 0 {
		c.Ambient = uint64(ambient & keep)
		c.Inheritable = c.Ambient
	}
	return c
}
