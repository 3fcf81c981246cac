package oci

import (
	"fmt"
	"path"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/security"
)

// process maps config.json's process (or, for exec, process.json) onto
// the spec: argv, environment, working directory, and the privilege phase
// (clone.Privilege): rlimits, umask, a new session (and the console's
// controlling terminal), user and groups, the five capability sets,
// no_new_privs. p is the JSON path of the object ("process").
func (c *converter) process(p string, pr *specs.Process) error {
	if len(pr.Args) == 0 {
		return errorf(p+".args", "empty; give the command to run, e.g. [\"sh\"]")
	}
	if pr.CommandLine != "" {
		return unsupported(p+".commandLine", "Windows only; give args")
	}
	for i, e := range pr.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" || strings.IndexByte(e, 0) >= 0 {
			return errorf(index(p+".env", i), "%q is not KEY=VALUE", e)
		}
	}
	for i, a := range pr.Args {
		if strings.IndexByte(a, 0) >= 0 {
			return errorf(index(p+".args", i), "contains a NUL byte, which execve(2) cannot pass")
		}
	}
	if pr.Cwd == "" {
		return errorf(p+".cwd", "empty; give the working directory, an absolute path inside the container (\"/\")")
	}
	if !path.IsAbs(pr.Cwd) {
		return errorf(p+".cwd", "%q is not an absolute path; give one inside the container", pr.Cwd)
	}
	c.spec.Args = pr.Args
	c.spec.Env = pr.Env
	c.spec.Dir = pr.Cwd
	for _, f := range []struct{ path, val string }{
		{p + ".apparmorProfile", pr.ApparmorProfile},
		{p + ".selinuxLabel", pr.SelinuxLabel},
		{p + ".user.username", pr.User.Username},
	} {
		if f.val != "" && (f.path != p+".selinuxLabel" || selinuxEnabled()) {
			return unsupported(f.path, unsupportedWhy(f.path))
		}
	}
	switch {
	case pr.Scheduler != nil:
		return unsupported(p+".scheduler", "sched_setattr(2) is not a step of rawns's child yet")
	case pr.IOPriority != nil:
		return unsupported(p+".ioPriority", "ioprio_set(2) is not a step of rawns's child yet")
	case pr.ExecCPUAffinity != nil:
		return unsupported(p+".execCPUAffinity", "CPU affinity is not set by rawns; use linux.resources.cpu.cpus")
	}
	if pr.OOMScoreAdj != nil {
		if *pr.OOMScoreAdj < -1000 || *pr.OOMScoreAdj > 1000 {
			return errorf(p+".oomScoreAdj", "%d is outside the kernel's -1000..1000", *pr.OOMScoreAdj)
		}
		v := *pr.OOMScoreAdj
		c.spec.OOMScoreAdj = &v
	}

	priv := &clone.Privilege{}
	c.spec.Privilege = priv
	// Every container process leads a session of its own, as runc's
	// does: it cannot push input into the caller's terminal with TIOCSTI
	// (CVE-2017-5226), nor get its signals.
	priv.Setsid = true
	if pr.Terminal {
		// The console (Spec.ConsoleSocket, set by the caller from
		// --console-socket) becomes fds 0-2 and the controlling
		// terminal.
		priv.Setctty, priv.Ctty = true, 0
		c.terminal = true
		if b := pr.ConsoleSize; b != nil {
			if b.Height > 0xffff || b.Width > 0xffff {
				return errorf(p+".consoleSize", "%dx%d is larger than a terminal can be (65535)", b.Width, b.Height)
			}
			c.spec.ConsoleSize = clone.Winsize{Rows: uint16(b.Height), Cols: uint16(b.Width)}
		}
	} else if pr.ConsoleSize != nil {
		return errorf(p+".consoleSize", "is the size of the terminal, and terminal is false; set terminal or drop consoleSize")
	}
	for i, r := range pr.Rlimits {
		rp := index(p+".rlimits", i)
		res, ok := security.RlimitResource(r.Type)
		if !ok || !strings.HasPrefix(r.Type, "RLIMIT_") {
			return errorf(rp+".type", "unknown resource %q; give RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_CORE, ... (getrlimit(2))", r.Type)
		}
		for _, o := range priv.Rlimits {
			if o.Resource == res {
				return errorf(rp+".type", "%s is given twice; give each resource once", r.Type)
			}
		}
		if r.Soft > r.Hard {
			return errorf(rp, "soft limit %d is above the hard limit %d", r.Soft, r.Hard)
		}
		priv.Rlimits = append(priv.Rlimits, clone.Rlimit{Resource: res, Cur: r.Soft, Max: r.Hard})
	}
	if u := pr.User.Umask; u != nil {
		if *u > 0o777 {
			return errorf(p+".user.umask", "%#o has bits beyond 0777", *u)
		}
		m := *u
		priv.Umask = &m
	}
	if pr.User.UID == ^uint32(0) || pr.User.GID == ^uint32(0) {
		return errorf(p+".user", "uid or gid 4294967295 is (uid_t)-1, which setresuid(2) takes as \"unchanged\"")
	}
	priv.Cred = &clone.Credential{UID: pr.User.UID, GID: pr.User.GID, Groups: pr.User.AdditionalGids}
	if pr.Capabilities != nil {
		caps, dropped, err := capabilities(p+".capabilities", pr.Capabilities)
		if err != nil {
			return err
		}
		if dropped != 0 {
			c.ambientDropped = dropped
			c.warnings = append(c.warnings, fmt.Sprintf("%s.capabilities.ambient: %s left out: an ambient capability must be in permitted and inheritable too (PR_CAP_AMBIENT_RAISE), as runc only warns", p, security.CapSet(dropped)))
		}
		priv.Caps = caps
	}
	priv.NoNewPrivs = pr.NoNewPrivileges
	return nil
}

// capabilities maps the five sets. A name rawns does not know is an
// error; a capability this kernel does not have (newer than it) is left
// out of every set, as runc leaves it, since no process can hold it.
//
// An ambient capability that is not both permitted and inheritable cannot
// be raised (PR_CAP_AMBIENT_RAISE is EPERM): runc tries each and only
// warns when one fails, and `runc spec`'s own default config (1.1) lists
// ambient capabilities with no inheritable set. So rawns leaves such a
// capability out of the ambient set and returns it (dropped), for a
// warning in the log, rather than refusing the config.
func capabilities(p string, lc *specs.LinuxCapabilities) (caps *clone.Capabilities, dropped uint64, err error) {
	last := security.LastCap()
	set := func(name string, list []string) (uint64, error) {
		var s uint64
		for i, n := range list {
			num, ok := security.CapNumber(n)
			if !ok || !strings.HasPrefix(n, "CAP_") {
				return 0, errorf(index(p+"."+name, i), "unknown capability %q; give a name such as CAP_NET_RAW (capabilities(7))", n)
			}
			if num <= last {
				s |= 1 << num
			}
		}
		return s, nil
	}
	var c clone.Capabilities
	for _, f := range []struct {
		name string
		list []string
		dst  *uint64
	}{
		{"bounding", lc.Bounding, &c.Bounding},
		{"effective", lc.Effective, &c.Effective},
		{"permitted", lc.Permitted, &c.Permitted},
		{"inheritable", lc.Inheritable, &c.Inheritable},
		{"ambient", lc.Ambient, &c.Ambient},
	} {
		s, err := set(f.name, f.list)
		if err != nil {
			return nil, 0, err
		}
		*f.dst = s
	}
	if extra := c.Effective &^ c.Permitted; extra != 0 {
		return nil, 0, errorf(p+".effective", "%s is not in permitted; a capability can be effective only when permitted", security.CapSet(extra))
	}
	dropped = c.Ambient &^ (c.Permitted & c.Inheritable)
	c.Ambient &^= dropped
	return &c, dropped, nil
}

// selinuxEnabled reports whether SELinux is on here: its filesystem is
// mounted (go-selinux's test, which runc uses). Where it is off, a label
// (process.selinuxLabel, linux.mountLabel) has nothing to apply to, and
// rawns takes it as runc and crun do, without effect; where it is on,
// rawns refuses it, since it applies no labels.
func selinuxEnabled() bool {
	var st unix.Statfs_t
	return unix.Statfs("/sys/fs/selinux", &st) == nil && st.Type == unix.SELINUX_MAGIC
}

// unsupportedWhy says why a Linux security module field is refused.
func unsupportedWhy(p string) string {
	switch {
	case strings.HasSuffix(p, "apparmorProfile"):
		return "AppArmor profiles are not applied by rawns"
	case strings.HasSuffix(p, "selinuxLabel"), strings.HasSuffix(p, "mountLabel"):
		return "SELinux labels are not applied by rawns"
	case strings.HasSuffix(p, "username"):
		return "Windows only; give uid and gid"
	}
	return "see docs/oci.md"
}
