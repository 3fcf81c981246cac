package clone

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Sysctl is one kernel parameter the child sets for its namespaces (OCI's
// linux.sysctl).
type Sysctl struct {
	// Name is the parameter, "net.ipv4.ip_forward" or
	// "net/ipv4/ip_forward" (its path under /proc/sys).
	Name string
	// Value is written as it is.
	Value string
}

// The procfs writes: Spec.Sysctls and Spec.OOMScoreAdj, segProcfs of the
// step table, made after the namespaces are entered and made (the values
// are theirs) and before the mount phase. They go through a proc instance
// the child mounts for itself, detached (fsopen(2), fsmount(2): of its own
// PID namespace, reachable by no path), and each file is opened from that
// mount with openat2(2) RESOLVE_BENEATH|RESOLVE_NO_XDEV|RESOLVE_NO_SYMLINKS:
// no mount of the config over /proc/sys or /proc/self can redirect the
// write to another file (CVE-2025-52881, where runc's writes through the
// container's /proc were redirected to the host's). Before the mount
// phase, because in a user namespace a new proc can be mounted only while
// a fully visible one is in the mount namespace (mount_too_revealing), and
// the masks of the mount phase hide parts of the container's.
//
//	fsopen("proc") -> slotFS; fsconfig create; fsmount(nosuid,nodev,noexec) -> slotProc
//	per sysctl: openat2(proc, "sys/NAME", O_WRONLY) -> slotAt; write(VALUE)
//	oom_score_adj: openat2(proc, "self", O_PATH|O_DIRECTORY) -> slotAt (the
//	  one symlink followed, /proc/self, a plain one: RESOLVE_NO_MAGICLINKS);
//	  openat2(slotAt, "oom_score_adj", O_WRONLY) -> slotAt; write(VALUE)

// resolveProc is how every file of the child's own proc is opened.
const resolveProc = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// procfsSteps emits segProcfs.
func (b *stepBuilder) procfsSteps(spec *Spec) {
	if len(spec.Sysctls) == 0 && spec.OOMScoreAdj == nil {
		return
	}
	b.serving("", -1, StageSysctl)
	if len(spec.Sysctls) == 0 {
		b.serving("", -1, StageOOMScoreAdj)
	}
	b.saveTo(b.sys("fsopen proc", unix.SYS_FSOPEN, b.str("proc"), val(unix.FSOPEN_CLOEXEC)), slotFS)
	b.sys("fsconfig create", unix.SYS_FSCONFIG, slot(slotFS), val(unix.FSCONFIG_CMD_CREATE), val(0), val(0), val(0))
	b.saveTo(b.sys("fsmount proc", unix.SYS_FSMOUNT, slot(slotFS), val(unix.FSMOUNT_CLOEXEC),
		val(unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)), slotProc)
	for i, s := range spec.Sysctls {
		b.serving("Sysctls", i, StageSysctl)
		b.writeProc(slotProc, "sys/"+sysctlPath(s.Name), s.Value)
	}
	if spec.OOMScoreAdj != nil {
		b.serving("", -1, StageOOMScoreAdj)
		b.saveTo(b.sys("openat2 self", unix.SYS_OPENAT2, slot(slotProc), b.str("self"),
			b.how(unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_MAGICLINKS}),
			val(unix.SizeofOpenHow)), slotAt)
		b.writeProc(slotAt, "oom_score_adj", strconv.Itoa(*spec.OOMScoreAdj))
	}
	b.serving("", -1, StageNone)
}

// writeProc opens rel beneath the fd in slot dir and writes value.
func (b *stepBuilder) writeProc(dir uint16, rel, value string) {
	b.saveTo(b.sysd("openat2", rel, unix.SYS_OPENAT2, slot(dir), b.str(rel),
		b.how(unix.OpenHow{Flags: unix.O_WRONLY | unix.O_CLOEXEC, Resolve: resolveProc}), val(unix.SizeofOpenHow)), slotAt)
	b.sysd("write", value, unix.SYS_WRITE, slot(slotAt), b.str(value), val(uintptr(len(value))))
}

// sysctlPath is a parameter's path under /proc/sys: a dotted name with
// its dots turned to slashes; a name with a slash is that path already (a
// dotted name cannot name a parameter whose path has a dot, such as an
// interface "eth0.1" under net.ipv4.conf: give that one with slashes).
func sysctlPath(name string) string {
	if strings.Contains(name, "/") {
		return name
	}
	return strings.ReplaceAll(name, ".", "/")
}

// sysctlNamespace is the namespace a sysctl belongs to, or 0 for one that
// is not namespaced (setting it would change the host): runc's rule
// (libcontainer/configs/validate), from the kernel's per-namespace tables.
func sysctlNamespace(name string) Namespaces {
	n := strings.ReplaceAll(name, "/", ".")
	switch {
	case strings.HasPrefix(n, "net."):
		return NewNet
	case strings.HasPrefix(n, "fs.mqueue."):
		return NewIPC
	}
	switch n {
	case "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
		"kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced":
		return NewIPC
	case "kernel.hostname", "kernel.domainname":
		return NewUTS
	}
	return 0
}

// validateProcfs checks Sysctls and OOMScoreAdj.
func (s *Spec) validateProcfs() error {
	own := s.Namespaces | s.joined()
	for i, c := range s.Sysctls {
		what := fmt.Sprintf("sysctl %s", c.Name)
		if c.Name == "" || strings.HasPrefix(c.Name, "/") || strings.HasPrefix(c.Name, ".") ||
			strings.Contains(c.Name, "..") || strings.Contains(c.Name, "//") || strings.ContainsRune(c.Name, 0) {
			return fmt.Errorf("Sysctls[%d]: %q is not a parameter name; give one as net.ipv4.ip_forward", i, c.Name)
		}
		if strings.ContainsRune(c.Value, 0) {
			return fmt.Errorf("%s: the value holds a NUL byte", what)
		}
		ns := sysctlNamespace(c.Name)
		if ns == 0 {
			return fmt.Errorf("%s is not namespaced: setting it would change the host", what)
		}
		if own&ns == 0 {
			return fmt.Errorf("%s belongs to the %s namespace, which the spec neither creates nor joins: setting it would change the host's", what, ns.Title())
		}
	}
	if a := s.OOMScoreAdj; a != nil && (*a < -1000 || *a > 1000) {
		return fmt.Errorf("OOMScoreAdj %d: give -1000 to 1000", *a)
	}
	if (len(s.Sysctls) > 0 || s.OOMScoreAdj != nil) && !kernelAtLeast(5, 6) {
		return errors.New("Sysctls and OOMScoreAdj are written through a proc of the child's own, opened with openat2(2): Linux 5.6 or later; this kernel is older")
	}
	return nil
}
