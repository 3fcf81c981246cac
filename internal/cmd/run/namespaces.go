package run

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/cli"
	"github.com/rawns/rawns/security"
)

// namespacesConcern: which namespaces, and what is set up in them.
var namespacesConcern = concern{
	title: "Namespaces",
	help: `  --ns LIST            kinds to create, comma-separated, from pid, uts, mnt,
                       ipc, net, user, cgroup, time, or all (default pid,uts)
  --hostname NAME      hostname inside the new UTS namespace, 1-64 bytes
                       (default container; needs uts)
  --mount-proc         mount a fresh /proc inside (adds mnt; needs pid)
  --propagation MODE   private (default), slave, shared or unchanged: how /
                       propagates mounts in the new mount namespace (needs mnt)
  --map-root-user      map the caller's uid and gid to 0 inside (adds user)
  --map-user UID       map the caller's uid to UID (or a name) inside; or
                       INSIDE:OUTSIDE[:COUNT]
                       (adds user)
  --map-group GID      map the caller's gid to GID (or a name) inside; or
                       INSIDE:OUTSIDE[:COUNT]
                       (adds user)
  --monotonic SECONDS  offset of CLOCK_MONOTONIC in the new time namespace
  --boottime SECONDS   offset of CLOCK_BOOTTIME (and of /proc/uptime) there;
                       both need time in --ns
  --init               PID 1 is a small init that reaps zombies and forwards
                       signals; the command runs as its child (needs pid)
`,
	flags: []cli.Def{
		{Name: "ns", Kind: cli.String},
		{Name: "hostname", Kind: cli.String},
		{Name: "mount-proc", Kind: cli.Bool},
		{Name: "propagation", Kind: cli.String},
		{Name: "map-root-user", Kind: cli.Bool},
		{Name: "map-user", Kind: cli.String},
		{Name: "map-group", Kind: cli.String},
		{Name: "monotonic", Kind: cli.String},
		{Name: "boottime", Kind: cli.String},
		{Name: "init", Kind: cli.Bool},
	},
	parse: parseNamespaces,
}

func parseNamespaces(cfg *config, flags cli.Flags) error {
	s := &cfg.spec
	var err error
	if s.Namespaces, err = clone.ParseNamespaces(flags.Get("ns", "pid,uts")); err != nil {
		return fmt.Errorf("--ns: %v", err)
	}
	if flags.Has("mount-proc") {
		if s.Namespaces&clone.NewPID == 0 {
			return errors.New("--mount-proc without a PID namespace would show the host's processes; add pid to --ns")
		}
		s.Namespaces |= clone.NewMount
		s.MountProc = true
	}
	if flags.Has("hostname") {
		s.Hostname = flags.Get("hostname", "")
		if err := clone.ValidateHostname(s.Hostname); err != nil {
			return fmt.Errorf("--hostname: %v", err)
		}
	} else if s.Namespaces&clone.NewUTS != 0 {
		s.Hostname = "container"
	}
	if flags.Has("propagation") {
		// That it has a mount namespace to apply to is checked once every
		// concern has run: the filesystem flags add mnt (config.go).
		if s.Propagation, err = clone.ParsePropagation(flags.Get("propagation", "")); err != nil {
			return fmt.Errorf("--propagation: %v", err)
		}
	}
	if err := parseMaps(flags, s); err != nil {
		return err
	}
	for _, c := range []struct {
		flag  string
		dst   *time.Duration
		clock int32
		name  string
	}{{"monotonic", &s.MonotonicOffset, unix.CLOCK_MONOTONIC, "CLOCK_MONOTONIC"}, {"boottime", &s.BoottimeOffset, unix.CLOCK_BOOTTIME, "CLOCK_BOOTTIME"}} {
		if !flags.Has(c.flag) {
			continue
		}
		v := flags.Get(c.flag, "")
		secs, err := strconv.ParseFloat(v, 64)
		// The kernel refuses offsets beyond KTIME_SEC_MAX/2 seconds (146
		// years), and a time.Duration cannot hold much more: larger values
		// overflowed into a wrong offset (found by FuzzParseRun).
		if err != nil || math.IsNaN(secs) || math.Abs(secs) > 4611686018 {
			return fmt.Errorf("--%s %q: give an offset in seconds within ±4611686018 (146 years), e.g. 86400 or -1.5", c.flag, v)
		}
		*c.dst = time.Duration(secs * float64(time.Second))
		// The kernel also refuses an offset that would put the clock
		// below zero, or past KTIME_SEC_MAX/2, as it reads now
		// (kernel/time/namespace.c, proc_timens_set_offset: ERANGE).
		var now unix.Timespec
		if unix.ClockGettime(c.clock, &now) == nil {
			if at := float64(now.Sec) + secs; at < 0 {
				return fmt.Errorf("--%s %s: %s reads %d s now, and the kernel refuses to set it below zero; give an offset of at least -%d", c.flag, v, c.name, now.Sec, now.Sec)
			} else if at > 4611686018 {
				return fmt.Errorf("--%s %s: %s would pass 4611686018 s (146 years), the kernel's limit; give an offset of at most %d", c.flag, v, c.name, 4611686018-now.Sec)
			}
		}
		if *c.dst == 0 && s.Namespaces&clone.NewTime == 0 {
			// An offset of 0 sets nothing, so Validate has nothing to
			// refuse; the flag still asked for a time namespace.
			return fmt.Errorf("--%s %q needs a new time namespace; add time to --ns", c.flag, v)
		}
	}
	cfg.init = flags.Has("init")
	if cfg.init && s.Namespaces&clone.NewPID == 0 {
		return errors.New("--init makes rawns's init PID 1 of a new PID namespace; add pid to --ns")
	}
	return nil
}

// parseMaps handles --map-root-user, --map-user and --map-group the way
// unshare(1) does: the caller's own id maps to the given id inside. An
// explicit INSIDE:OUTSIDE[:COUNT] is allowed too; an unprivileged caller may
// map only its own id, once (user_namespaces(7)).
func parseMaps(flags cli.Flags, s *clone.Spec) error {
	root := flags.Has("map-root-user")
	if !root && !flags.Has("map-user") && !flags.Has("map-group") {
		return nil
	}
	// As unshare's do, they imply a new user namespace: they mean nothing
	// without one.
	s.Namespaces |= clone.NewUser
	if root && (flags.Has("map-user") || flags.Has("map-group")) {
		return errors.New("--map-root-user already maps uid and gid 0; drop --map-user/--map-group, or drop --map-root-user")
	}
	uid, gid := uint32(os.Geteuid()), uint32(os.Getegid())
	privileged := uid == 0
	if root {
		s.UIDMap = []clone.IDMap{{Inside: 0, Outside: uid, Count: 1}}
		s.GIDMap = []clone.IDMap{{Inside: 0, Outside: gid, Count: 1}}
		return nil
	}
	var err error
	if flags.Has("map-user") {
		if s.UIDMap, err = parseIDMap("--map-user", "uid", flags.Get("map-user", ""), uid, privileged); err != nil {
			return err
		}
	}
	if flags.Has("map-group") {
		if s.GIDMap, err = parseIDMap("--map-group", "gid", flags.Get("map-group", ""), gid, privileged); err != nil {
			return err
		}
	}
	return nil
}

func parseIDMap(flag, what, v string, own uint32, privileged bool) ([]clone.IDMap, error) {
	parts := strings.Split(v, ":")
	if len(parts) > 3 {
		return nil, fmt.Errorf("%s %q: give ID, or INSIDE:OUTSIDE[:COUNT]", flag, v)
	}
	nums := make([]uint32, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil && i == 0 && len(parts) == 1 && p != "" {
			// A name, as unshare(1) takes it: the host's passwd or group.
			db := "passwd"
			if what == "gid" {
				db = "group"
			}
			id, lerr := security.NameID("/", db, p)
			if lerr != nil {
				return nil, fmt.Errorf("%s %s: %v; give a number, or a name that /etc/%s lists", flag, cli.Quote(v), lerr, db)
			}
			n, err = uint64(id), nil
		}
		if err != nil || n == 1<<32-1 {
			return nil, fmt.Errorf("%s %q: %q is not a %s (0 to 4294967294) or a name", flag, v, p, what)
		}
		nums[i] = uint32(n)
	}
	m := clone.IDMap{Inside: nums[0], Outside: own, Count: 1}
	if len(nums) >= 2 {
		m.Outside = nums[1]
	}
	if len(nums) == 3 {
		if nums[2] == 0 {
			return nil, fmt.Errorf("%s %q: a count of 0 maps nothing", flag, v)
		}
		m.Count = nums[2]
	}
	if !privileged && (m.Outside != own || m.Count != 1) {
		return nil, fmt.Errorf("%s %q: without privilege you may map only your own %s %d, once; run as root or use %s %d:%d", flag, v, what, own, flag, m.Inside, own)
	}
	return []clone.IDMap{m}, nil
}
