package run

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/cli"
	"github.com/rawns/rawns/security"
	"github.com/rawns/rawns/security/seccomp"
	"github.com/rawns/rawns/tty"
)

// securityConcern: how far the command is narrowed before execve
// (clone.Privilege): limits, user, capabilities, no_new_privs, seccomp,
// session and terminal. Without these flags the command keeps what rawns
// has, as unshare(1) does, and none of this costs a run anything but the
// flag look-ups.
var securityConcern = concern{
	title: "Privilege (applied in the child right before execve)",
	help: `  --cap-drop LIST      drop capabilities (CAP_NET_RAW or net_raw, comma-separated,
                       or ALL) from the bounding, permitted and effective sets
  --cap-add LIST       keep or add these; with a non-root --user they are also
                       raised in the ambient set, so the command holds them
  --caps SET           start from docker (docker's default 14), all or none
                       instead of rawns's own effective set (the default)
  --user UID[:GID]     run as this user and group, numbers or names of
                       /etc/passwd and /etc/group; supplementary groups are the
                       user's in /etc/group unless --groups is given
  --groups LIST        supplementary groups, comma-separated (empty: none);
                       needs --user
  --rlimit NAME=SOFT[:HARD]  a resource limit (nofile, nproc, core, as, cpu,
                       fsize, memlock, stack, ...; unlimited); repeatable
  --umask MODE         the command's umask, octal (e.g. 027)
  --no-new-privs       set no_new_privs: execve grants nothing more (no
                       set-user-ID, no file capabilities)
  --seccomp PROFILE    default (docker's profile), unconfined, or a JSON file in
                       docker's/OCI's format; sets no_new_privs unless
                       CAP_SYS_ADMIN is kept
  --new-session        start a new session (setsid): the command cannot push
                       input into rawns's terminal (TIOCSTI, CVE-2017-5226)
  -t, --tty            a new pseudo-terminal for the command (implies
                       --new-session); stdin must be a terminal; with
                       --dev /dev, a pty of the command's own devpts
`,
	flags: securityFlags,
	parse: parseSecurity,
}

var securityFlags = []cli.Def{
	{Name: "cap-drop", Kind: cli.Repeated},
	{Name: "cap-add", Kind: cli.Repeated},
	{Name: "caps", Kind: cli.String},
	{Name: "user", Kind: cli.String},
	{Name: "groups", Kind: cli.String},
	{Name: "rlimit", Kind: cli.Repeated},
	{Name: "umask", Kind: cli.String},
	{Name: "no-new-privs", Kind: cli.Bool},
	{Name: "seccomp", Kind: cli.String},
	{Name: "new-session", Kind: cli.Bool},
	{Name: "tty", Short: "t", Kind: cli.Bool},
}

// userRoot is the directory whose etc/passwd and etc/group --user and
// --groups names are looked up in: the command's root, --rootfs when given
// (the filesystem concern parses first), else the host's.
func userRoot(cfg *config) string {
	if cfg.fs != nil && cfg.fs.Root != "" {
		return cfg.fs.Root
	}
	return "/"
}

func parseSecurity(cfg *config, flags cli.Flags) error {
	given := false
	for _, d := range securityFlags {
		given = given || flags.Has(d.Name)
	}
	if !given {
		return nil // nothing allocated, nothing for the child to do
	}
	p := &clone.Privilege{}
	cfg.spec.Privilege = p
	for _, v := range flags.All("rlimit") {
		r, err := security.ParseRlimit(v)
		if err != nil {
			return fmt.Errorf("--rlimit %s: %v", cli.Quote(v), err)
		}
		for _, o := range p.Rlimits {
			if o.Resource == r.Resource {
				return fmt.Errorf("--rlimit %s: %s is limited twice; give each resource once", cli.Quote(v), security.RlimitName(r.Resource))
			}
		}
		p.Rlimits = append(p.Rlimits, r)
	}
	if flags.Has("umask") {
		v := flags.Get("umask", "")
		m, err := strconv.ParseUint(v, 8, 32)
		if err != nil || m > 0o777 {
			return fmt.Errorf("--umask %s: give an octal mode from 0 to 0777, e.g. 027", cli.Quote(v))
		}
		u := uint32(m)
		p.Umask = &u
	}
	p.Setsid = flags.Has("new-session")
	if flags.Has("tty") {
		if !tty.IsTerminal(0) {
			return errors.New("--tty: stdin is not a terminal, so there is nothing to connect the command's terminal to; drop -t, or run rawns from a terminal")
		}
		cfg.tty = true
		p.Setsid, p.Setctty, p.Ctty = true, true, 0
	}

	if flags.Has("user") {
		groups, given := []string(nil), flags.Has("groups")
		if g := flags.Get("groups", ""); g != "" {
			groups = strings.Split(g, ",")
		}
		cred, err := security.User(userRoot(cfg), flags.Get("user", ""), groups, given)
		if err != nil {
			if given {
				return fmt.Errorf("--user/--groups: %v", err)
			}
			return fmt.Errorf("--user: %v", err)
		}
		p.Cred = cred
	} else if flags.Has("groups") {
		return errors.New("--groups sets the supplementary groups of a --user; give --user too")
	}

	// The capabilities the command keeps: nil (the caller's) unless a
	// capability flag is given.
	var keep security.CapSet
	var err error
	if flags.Has("caps") || flags.Has("cap-drop") || flags.Has("cap-add") {
		var base security.CapSet
		switch v := flags.Get("caps", ""); v {
		case "":
			if base, err = security.CurrentCaps(); err != nil {
				return fmt.Errorf("--cap-drop/--cap-add: reading rawns's own capabilities: %v", err)
			}
		case "docker":
			base = security.DockerDefault
		case "all":
			base = security.AllCaps()
		case "none":
		default:
			return fmt.Errorf("--caps %s: unknown set; use docker, all or none", cli.Quote(v))
		}
		var drop, add security.CapSet
		var dropAll, addAll bool
		for _, f := range []struct {
			name string
			set  *security.CapSet
			all  *bool
		}{{"cap-drop", &drop, &dropAll}, {"cap-add", &add, &addAll}} {
			for _, v := range flags.All(f.name) {
				s, all, err := security.ParseCaps(v)
				if err != nil {
					return fmt.Errorf("--%s %s: %v", f.name, cli.Quote(v), err)
				}
				*f.set |= s
				*f.all = *f.all || all
			}
		}
		keep = security.Resolve(base, drop, dropAll, add, addAll)
		ambient := add
		if addAll {
			ambient = keep
		}
		uid := uint32(0)
		if p.Cred != nil {
			uid = p.Cred.UID
		}
		if cfg.spec.Namespaces&clone.NewUser == 0 {
			if err := capsHeld(flags, keep); err != nil {
				return err
			}
		}
		sets := security.Sets(keep, ambient, uid)
		p.Caps = &sets
	}
	p.NoNewPrivs = flags.Has("no-new-privs")

	if flags.Has("seccomp") {
		if err := parseSeccomp(cfg, flags.Get("seccomp", ""), keep); err != nil {
			return err
		}
	}
	return nil
}

// capsHeld refuses, before the clone, capabilities the command is to keep
// that rawns does not hold itself (security.HeldCaps), naming them and the
// flag that asked (issue 25: --cap-add ALL by a root started without some
// failed in the child as "capset: operation not permitted"). A command in a
// new user namespace holds every capability of it, and is not checked.
func capsHeld(flags cli.Flags, keep security.CapSet) error {
	held, err := security.HeldCaps()
	if err != nil {
		return nil // the child's capset(2) says what is wrong then
	}
	missing := keep &^ held
	if missing == 0 {
		return nil
	}
	label, fix := "", "add --cap-drop "+missing.String()
	for _, v := range flags.All("cap-add") {
		if s, all, _ := security.ParseCaps(v); all || s&missing != 0 {
			label = "--cap-add " + v
			if !all {
				fix = "leave " + missing.String() + " out of --cap-add"
			}
			break
		}
	}
	if label == "" && flags.Has("caps") {
		label = "--caps " + flags.Get("caps", "")
	}
	if label == "" {
		label = "--cap-drop/--cap-add" // rawns's own effective set, out of its bounding set
	}
	them := "it"
	if missing&(missing-1) != 0 {
		them = "them"
	}
	return fmt.Errorf("%s: rawns itself lacks %s (not in its permitted and bounding sets), so the command cannot be given %s; %s, or start rawns with %s", label, missing, them, fix, them)
}

// parseSeccomp compiles --seccomp's profile for this machine, once, in the
// parent. keep is the capability set the command keeps (when p.Caps is
// set), against which docker's per-capability rules are read.
func parseSeccomp(cfg *config, v string, keep security.CapSet) error {
	p := cfg.spec.Privilege
	var prof *seccomp.Profile
	switch v {
	case "unconfined":
		return nil
	case "default":
		prof = seccomp.Default()
	case "":
		return errors.New("--seccomp: give default, unconfined or a profile file")
	default:
		data, err := os.ReadFile(v)
		if err != nil {
			return fmt.Errorf("--seccomp %s: %v; give default, unconfined or a profile file", cli.Quote(v), errors.Unwrap(err))
		}
		if prof, err = seccomp.ParseProfile(data); err != nil {
			return fmt.Errorf("--seccomp %s: %v", cli.Quote(v), err)
		}
	}
	// The capabilities the command holds when the filter goes in: the
	// sets asked for, or rawns's own, which a uid change from root clears.
	bounding, effective := keep, keep
	if p.Caps == nil {
		cur, err := security.CurrentCaps()
		if err != nil {
			return fmt.Errorf("--seccomp: reading rawns's own capabilities: %v", err)
		}
		bounding, effective = cur, cur
		if p.Cred != nil && p.Cred.UID != 0 && unix.Geteuid() == 0 {
			effective = 0
		}
	}
	prog, err := seccomp.Compile(prof, seccomp.Native(), seccomp.Options{Caps: bounding})
	if err != nil {
		return fmt.Errorf("--seccomp %s: %v", cli.Quote(v), err)
	}
	p.Seccomp = prog
	// seccomp(2) takes a filter only with no_new_privs or CAP_SYS_ADMIN.
	// Without CAP_SYS_ADMIN kept, no_new_privs it is, as bubblewrap always
	// sets it: the filter then goes in last and need not allow rawns's own
	// steps (clone.Privilege; without no_new_privs it would go in before
	// the capability steps, and have to allow them).
	if effective&(1<<unix.CAP_SYS_ADMIN) == 0 {
		p.NoNewPrivs = true
	}
	return nil
}

// privilegeFlag names the flag behind a failed privilege stage of the
// child, with a hint, for the one line rawns prints.
func privilegeFlag(ce *clone.ChildError) (flag, hint string) {
	switch ce.Stage {
	case clone.StageRlimit:
		flag = "--rlimit"
		if ce.Errno == unix.EPERM {
			hint = " (raising a hard limit needs CAP_SYS_RESOURCE, and nofile cannot exceed /proc/sys/fs/nr_open)"
		}
	case clone.StageUmask:
		flag = "--umask"
	case clone.StageSetsid:
		flag = "--new-session"
	case clone.StageCtty:
		flag = "--tty"
	case clone.StageBounding, clone.StageCapset, clone.StageAmbient:
		flag = "--cap-drop/--cap-add"
		if ce.Errno == unix.EPERM {
			hint = " (rawns lacks CAP_SETPCAP or a capability asked for)"
		}
	case clone.StageKeepCaps, clone.StageSetgroups, clone.StageSetresgid, clone.StageSetresuid:
		flag = "--user"
		if ce.Errno == unix.EPERM || ce.Errno == unix.EINVAL {
			hint = " (rawns needs CAP_SETUID and CAP_SETGID, and in a user namespace the ids must be mapped)"
		}
	case clone.StageNoNewPrivs:
		flag = "--no-new-privs"
	case clone.StageSeccomp, clone.StageSeccompEarly:
		flag = "--seccomp"
	}
	return flag, hint
}
