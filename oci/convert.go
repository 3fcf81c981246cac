package oci

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/cgroup"
	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/kernel"
	"github.com/rawns/rawns/rootfs"
	"github.com/rawns/rawns/security"
	"github.com/rawns/rawns/security/seccomp"
)

// Plan is a config.json in rawns's terms: what package container starts.
type Plan struct {
	// Spec is the container's process: its namespaces, root and mounts,
	// argv with the program's path inside the root, environment, working
	// directory, and the privilege phase. The caller adds what belongs to
	// one start (the console socket, stdio).
	Spec clone.Spec
	// Cgroup is the container's cgroup and its limits.
	Cgroup Cgroup
	// Terminal is process.terminal: the caller must give a console
	// socket (clone.Spec.ConsoleSocket).
	Terminal bool
	// Hooks are config.json's hooks, checked.
	Hooks specs.Hooks
	// Joins are the namespaces to join (linux.namespaces[].path), for
	// the caller to open: clone.Spec.Join takes fds.
	Joins []NamespacePath
	// Layout is the host's cgroup layout if Convert read it (a cgroup
	// mount), for the cgroup not to read it again.
	Layout *cgroup.Layout
	// MountPaths[i] is the JSON path of the entry of mounts that asked
	// for Spec.Mounts[i] ("mounts[3]"), or of the field that did
	// ("linux.devices[0]", "default device /dev/null"): a failed mount
	// step names it.
	MountPaths []string
	// CopyUps are the tmpfs mounts whose tmpcopyup has something to copy:
	// create makes them before the clone (MakeCopyUps).
	CopyUps []CopyUp
	// Warnings are what the config asks for and rawns leaves out, as runc
	// does with a warning (an ambient capability that cannot be raised):
	// for the caller's log.
	Warnings []string
}

// Options are what Convert needs besides config.json.
type Options struct {
	// Bundle is the bundle's absolute path: root.path and bind sources
	// that are relative are the bundle's.
	Bundle string
}

type converter struct {
	spec       clone.Spec
	cg         Cgroup
	terminal   bool
	bundle     string
	mountPaths []string
	joins      []NamespacePath
	lay        *cgroup.Layout
	warnings   []string
	copyUps    []CopyUp
	// ambientDropped: process.capabilities.ambient that cannot be
	// raised, left out with a warning.
	ambientDropped uint64
}

// Convert maps s onto a Plan. It changes nothing on the system; it reads
// the bundle (that the root and bind sources exist, the command inside the
// root). Its errors are *Error for a field of config.json.
func Convert(s *specs.Spec, o Options) (*Plan, error) {
	c := &converter{bundle: o.Bundle}
	if s.Process == nil {
		return nil, errorf("process", "missing; create and run need the process to start")
	}
	if s.Root == nil || s.Root.Path == "" {
		return nil, errorf("root.path", "missing; give the directory that becomes the container's /, relative to the bundle (\"rootfs\") or absolute")
	}
	for _, f := range []struct {
		path string
		set  bool
	}{
		{"solaris", s.Solaris != nil},
		{"windows", s.Windows != nil},
		{"vm", s.VM != nil},
		{"zos", s.ZOS != nil},
	} {
		if f.set {
			return nil, unsupported(f.path, "rawns runs Linux containers")
		}
	}
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	l := s.Linux
	if err := c.namespaces(l); err != nil {
		return nil, err
	}
	if err := c.root(s.Root); err != nil {
		return nil, err
	}
	if err := c.mounts(s.Mounts); err != nil {
		return nil, err
	}
	if err := c.deviceNodes(s.Linux.Devices); err != nil {
		return nil, err
	}
	c.devices()
	c.pathMasks(s.Linux)
	if err := c.linux(l); err != nil {
		return nil, err
	}
	if err := c.process("process", s.Process); err != nil {
		return nil, err
	}
	if s.Hostname != "" {
		if c.spec.Namespaces&clone.NewUTS == 0 && !c.joining(clone.NewUTS) {
			return nil, errorf("hostname", "%q needs a new uts namespace, or the host's hostname would change; add {\"type\": \"uts\"} to linux.namespaces", s.Hostname)
		}
		if err := clone.ValidateHostname(s.Hostname); err != nil {
			return nil, errorf("hostname", "%v", err)
		}
		c.spec.Hostname = s.Hostname
	}
	if s.Domainname != "" {
		return nil, unsupported("domainname", "setdomainname(2) is not a step of rawns's child yet")
	}
	if s.Hooks != nil {
		if err := checkHooks(s.Hooks); err != nil {
			return nil, err
		}
	}
	if err := c.seccomp(l.Seccomp, s.Process); err != nil {
		return nil, err
	}
	if err := c.lookPath(); err != nil {
		return nil, err
	}
	pl := &Plan{Spec: c.spec, Cgroup: c.cg, Terminal: c.terminal, MountPaths: c.mountPaths, Joins: c.joins, Layout: c.lay, Warnings: c.warnings}
	for _, cu := range c.copyUps {
		// Its entry of Spec.Mounts now (devices and masks came after).
		cu.Mount = slices.Index(c.mountPaths, cu.mount)
		pl.CopyUps = append(pl.CopyUps, cu)
	}
	// process.terminal: the console's slave is /dev/console too
	// (runtime-spec, config-linux.md "Dev symbolic links"; runc), never
	// bound through a symlink there (clone.Spec.ConsoleMount,
	// CVE-2025-52565). Only in a new mount namespace of the container's
	// own: exec's process, a container joining a mount namespace or one
	// without any would change /dev/console for everything there.
	pl.Spec.ConsoleMount = c.terminal && c.spec.Namespaces&clone.NewMount != 0
	if s.Hooks != nil {
		pl.Hooks = *s.Hooks
	}
	// The spec's own rules, worded for config.json. The console socket
	// belongs to a start (--console-socket), so the size waits for it.
	check := pl.Spec
	check.ConsoleSize = clone.Winsize{}
	check.ConsoleMount = false
	// The joined namespaces are fds only create opens (clone.Spec.Join);
	// a mount or UTS namespace joined stands where the spec's rules ask
	// for one of its own (a root, a hostname).
	for _, k := range []clone.Namespaces{clone.NewMount, clone.NewUTS} {
		if c.joining(k) {
			check.Namespaces |= k
		}
	}
	if err := check.Validate(); err != nil {
		return nil, pl.SpecError(err)
	}
	return pl, nil
}

// root maps root: the directory, relative to the bundle or absolute, that
// becomes / (bound onto itself, the mounts made inside, then pivot_root),
// read-only once the mounts are made.
func (c *converter) root(r *specs.Root) error {
	dir := r.Path
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(c.bundle, dir)
	}
	dir = filepath.Clean(dir)
	if strings.IndexByte(dir, 0) >= 0 {
		return errorf("root.path", "contains a NUL byte")
	}
	if _, err := statDir(dir); err != nil {
		return errorf("root.path", "%s: %v; give the directory that becomes the container's /", dir, err)
	}
	// In a joined mount namespace (linux.namespaces' mount with a path)
	// the root and the mounts are made there, as runc and crun make them:
	// its / becomes the container's root for everything in it
	// (pivot_root(2) moves the root of every process of the namespace
	// that had the old one).
	// Without a mount namespace (the container shares the runtime's, as
	// config-linux.md has it), the root and mounts are made in the
	// runtime's own, below root.path alone, and entered with chroot(2),
	// as runc and crun do (clone.Spec.HostMountNS); delete unmounts them.
	c.spec.HostMountNS = c.spec.Namespaces&clone.NewMount == 0 && !c.joining(clone.NewMount)
	c.spec.Root = dir
	if r.Readonly && !kernel.AtLeast(5, 12) {
		// clone sets the root read-only with mount_setattr(2).
		return errorf("root.readonly", "a read-only root needs mount_setattr(2), Linux 5.12 or later; this kernel is older: set readonly to false")
	}
	c.spec.ReadOnlyRoot = r.Readonly
	return nil
}

// linux maps the rest of linux: user namespace maps, propagation, time
// offsets, cgroup, and refuses what rawns does not do.
func (c *converter) linux(l *specs.Linux) error {
	for _, m := range []struct {
		name string
		in   []specs.LinuxIDMapping
		out  *[]clone.IDMap
	}{{"uidMappings", l.UIDMappings, &c.spec.UIDMap}, {"gidMappings", l.GIDMappings, &c.spec.GIDMap}} {
		if len(m.in) == 0 {
			continue
		}
		if c.spec.Namespaces&clone.NewUser == 0 {
			return errorf("linux."+m.name, "maps ids of a new user namespace; add {\"type\": \"user\"} to linux.namespaces, or drop the mappings")
		}
		for i, e := range m.in {
			if e.Size == 0 {
				return errorf(index("linux."+m.name, i)+".size", "0; give the number of ids to map")
			}
			*m.out = append(*m.out, clone.IDMap{Inside: e.ContainerID, Outside: e.HostID, Count: e.Size})
		}
	}
	if c.spec.Namespaces&clone.NewUser != 0 && (len(l.UIDMappings) == 0 || len(l.GIDMappings) == 0) {
		return errorf("linux.uidMappings", "a new user namespace needs uidMappings and gidMappings (an unmapped uid is nobody, who can do nothing)")
	}
	// rootfsPropagation is set on the root once it is /
	// (clone.Spec.RootPropagation). The namespace's own copy of the host's
	// mounts is made private first, or a slave of the host's where the
	// root is to receive the host's mount events.
	c.spec.Propagation = clone.PropagationPrivate
	if l.RootfsPropagation != "" {
		mo := findMountOption(l.RootfsPropagation)
		if mo == nil || mo.prop == 0 {
			return errorf("linux.rootfsPropagation", "unknown propagation %q; use private, rprivate, slave, rslave, shared, rshared, unbindable or runbindable", l.RootfsPropagation)
		}
		c.spec.RootPropagation = mo.prop
		if mo.prop&(unix.MS_SLAVE|unix.MS_SHARED) != 0 {
			c.spec.Propagation = clone.PropagationSlave
		}
	}
	for name, off := range l.TimeOffsets {
		tp := "linux.timeOffsets." + name
		if c.spec.Namespaces&clone.NewTime == 0 {
			return errorf(tp, "clock offsets need a new time namespace; add {\"type\": \"time\"} to linux.namespaces")
		}
		d := offsetDuration(off)
		switch name {
		case "monotonic":
			c.spec.MonotonicOffset = d
		case "boottime":
			c.spec.BoottimeOffset = d
		default:
			return errorf(tp, "unknown clock %q; a time namespace offsets monotonic and boottime", name)
		}
	}
	// sysctls, in the order of their names (a map has none); written by
	// the child through a procfs of its own (CVE-2025-52881).
	names := make([]string, 0, len(l.Sysctl))
	for k := range l.Sysctl {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if k == "" || strings.ContainsAny(k, "\x00") {
			return errorf("linux.sysctl", "%q is not a parameter name", k)
		}
		c.spec.Sysctls = append(c.spec.Sysctls, clone.Sysctl{Name: k, Value: l.Sysctl[k]})
	}
	if l.MountLabel != "" && selinuxEnabled() {
		return unsupported("linux.mountLabel", unsupportedWhy("mountLabel"))
	}
	if l.IntelRdt != nil {
		return unsupported("linux.intelRdt", "Intel RDT (resctrl) is not used by rawns")
	}
	if l.Personality != nil {
		return unsupported("linux.personality", "personality(2) is not a step of rawns's child yet")
	}
	if err := c.cgroupsPath(l.CgroupsPath); err != nil {
		return err
	}
	if l.Resources != nil {
		if err := c.resources(l.Resources); err != nil {
			return err
		}
	}
	return nil
}

// seccomp compiles linux.seccomp for this machine, in the parent, against
// the capabilities the process will hold (its bounding set).
func (c *converter) seccomp(sc *specs.LinuxSeccomp, pr *specs.Process) error {
	if sc == nil {
		return nil
	}
	prof := &seccomp.Profile{
		DefaultAction:    string(sc.DefaultAction),
		DefaultErrnoRet:  uintp32(sc.DefaultErrnoRet),
		ListenerPath:     sc.ListenerPath,
		ListenerMetadata: sc.ListenerMetadata,
	}
	for _, a := range sc.Architectures {
		prof.Architectures = append(prof.Architectures, string(a))
	}
	for _, f := range sc.Flags {
		prof.Flags = append(prof.Flags, string(f))
	}
	prof.Syscalls = make([]seccomp.Rule, len(sc.Syscalls))
	for i, r := range sc.Syscalls {
		rule := &prof.Syscalls[i]
		rule.Names, rule.Action, rule.ErrnoRet = r.Names, string(r.Action), uintp32(r.ErrnoRet)
		for _, a := range r.Args {
			if a.Index > 5 {
				return errorf(index("linux.seccomp.syscalls", i)+".args", "index %d; arguments are numbered 0 to 5", a.Index)
			}
			rule.Args = append(rule.Args, seccomp.Arg{Index: uint32(a.Index), Value: a.Value, ValueTwo: a.ValueTwo, Op: string(a.Op)})
		}
	}
	caps := security.AllCaps()
	if c.spec.Privilege != nil && c.spec.Privilege.Caps != nil {
		caps = security.CapSet(c.spec.Privilege.Caps.Bounding)
	}
	prog, err := seccomp.Compile(prof, seccomp.Native(), seccomp.Options{Caps: caps})
	if err != nil {
		return errorf("linux.seccomp", "%v", err)
	}
	if len(prog) == 0 {
		return nil
	}
	// The child starts the program through the exec shim
	// (clone.OpenExecShim, CVE-2019-5736), with execveat(2), under the
	// filter.
	if !seccomp.Allows(prog, seccomp.Native(), "execveat") {
		return errorf("linux.seccomp", "the profile does not allow execveat(2), which rawns-oci needs to start the process (through its exec shim, against CVE-2019-5736); allow execveat")
	}
	p := c.spec.Privilege
	p.Seccomp = prog
	// Without noNewPrivileges the child installs the filter before its
	// capability and identity steps, while CAP_SYS_ADMIN (which seccomp(2)
	// then needs) is still there, as runc does: every engine sends a
	// profile with noNewPrivileges false and without CAP_SYS_ADMIN. The
	// profile must then allow those steps (clone.Privilege), which the
	// engines' defaults do; a step it denies fails naming the step.
	return nil
}

func uintp32(p *uint) *uint32 {
	if p == nil {
		return nil
	}
	v := uint32(*p)
	return &v
}

// lookPath resolves process.args[0] inside the root, as execvp(3) in the
// container would, with the PATH of process.env (clone.DefaultPath
// without one). The errors are worded as runc's ("executable file not
// found in $PATH", "permission denied"), which podman and docker map to
// exit codes 127 and 126.
func (c *converter) lookPath() error {
	name := c.spec.Args[0]
	pathEnv := clone.EnvPath(c.spec.Env)
	fs := rootfs.Config{Root: c.spec.Root, Mounts: c.spec.Mounts}
	if len(c.copyUps) > 0 {
		// A tmpfs with tmpcopyup holds, at exec, a copy of what the root
		// holds there (no earlier mount covers it: copyUp): for PATH it
		// is the root, not an empty filesystem.
		fs.Mounts = nil
		for i := range c.spec.Mounts {
			if !slices.ContainsFunc(c.copyUps, func(cu CopyUp) bool { return cu.mount == c.mountPaths[i] }) {
				fs.Mounts = append(fs.Mounts, c.spec.Mounts[i])
			}
		}
	}
	p, err := fs.LookPath(name, pathEnv)
	switch {
	case err == nil:
		c.spec.Path = p
		if !path.IsAbs(p) {
			// A relative name found in a relative PATH element is relative
			// to the working directory, where the child runs it.
			c.spec.Path = path.Join(c.spec.Dir, p)
		}
		return nil
	case errors.Is(err, clone.ErrNotExecutable):
		return &Error{Path: "process.args[0]", Err: fmt.Errorf("exec: %s: permission denied", strconv.Quote(name))}
	case strings.Contains(name, "/"):
		return &Error{Path: "process.args[0]", Err: fmt.Errorf("exec: %s: stat %s: no such file or directory", strconv.Quote(name), name)}
	}
	return &Error{Path: "process.args[0]", Err: fmt.Errorf("exec: %s: executable file not found in $PATH", strconv.Quote(name))}
}

// SpecError words an error of clone.Spec.Validate for config.json.
func (pl *Plan) SpecError(err error) error {
	var se *clone.SpecError
	if errors.As(err, &se) {
		field := map[string]string{"Hostname": "hostname", "UIDMap": "linux.uidMappings", "GIDMap": "linux.gidMappings",
			"MonotonicOffset": "linux.timeOffsets.monotonic", "BoottimeOffset": "linux.timeOffsets.boottime"}[se.Field]
		if field == "" {
			field = "linux.namespaces"
		}
		return errorf(field, "needs a new %s namespace%s; add it to linux.namespaces", se.Needs.Title(), se.Reason)
	}
	msg := err.Error()
	if name, rest, ok := strings.Cut(strings.TrimPrefix(msg, "sysctl "), " "); ok && strings.HasPrefix(msg, "sysctl ") {
		return &Error{Path: "linux.sysctl." + strings.TrimSuffix(name, ":"), Err: errors.New(strings.TrimPrefix(rest, ": "))}
	}
	if strings.HasPrefix(msg, "OOMScoreAdj") {
		return &Error{Path: "process.oomScoreAdj", Err: err}
	}
	return errorf("config.json", "%v", err)
}

// statDir checks that dir is a directory; the error is the errno or "not
// a directory".
func statDir(dir string) (os.FileInfo, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, unwrapPath(err)
	}
	if !st.IsDir() {
		return nil, errors.New("not a directory")
	}
	return st, nil
}

// offsetDuration is a linux.timeOffsets entry as a duration.
func offsetDuration(o specs.LinuxTimeOffset) time.Duration {
	return time.Duration(o.Secs)*time.Second + time.Duration(o.Nanosecs)
}
