package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/cli"
	"github.com/rawns/rawns/internal/sigrelay"
	"golang.org/x/sys/unix"
)

const runUsage = `Usage: rawns run [flags] [--] COMMAND [ARG...]

Runs COMMAND in new namespaces, created by a raw clone(2)/clone3(2) and
execve(2). With a PID namespace the command is PID 1 inside it. The exit
status is the command's; 128+N if it was killed by signal N; 125 if rawns
failed (nothing started); 126 if COMMAND cannot be executed; 127 if it is not
found.

Namespaces:
  --ns LIST            kinds to create, comma-separated, from pid, uts, mnt,
                       ipc, net, user, cgroup, time, or all (default pid,uts)
  --hostname NAME      hostname inside the new UTS namespace, 1-64 bytes
                       (default container; needs uts)
  --mount-proc         mount a fresh /proc inside (adds mnt; needs pid)
  --propagation MODE   private (default), slave, shared or unchanged: how /
                       propagates mounts in the new mount namespace (needs mnt)
  --map-root-user      map the caller's uid and gid to 0 inside (needs user)
  --map-user UID       map the caller's uid to UID inside; or INSIDE:OUTSIDE[:COUNT]
  --map-group GID      map the caller's gid to GID inside; or INSIDE:OUTSIDE[:COUNT]
  --monotonic SECONDS  offset of CLOCK_MONOTONIC in the new time namespace
  --boottime SECONDS   offset of CLOCK_BOOTTIME (and of /proc/uptime) there;
                       both need time in --ns
  --init               run a small rawns init as PID 1 that reaps zombies and
                       forwards signals; the command runs as its child (needs pid)

Process:
  --env KEY=VALUE      set a variable (repeatable); --env KEY copies it from rawns
  --unsetenv KEY       remove a variable (repeatable)
  --clearenv           start from an empty environment instead of rawns's own
  --chdir DIR          working directory of the command

Mechanism and output:
  --clone STYLE        vfork (default when possible), fork, or auto
  --trace[=FORMAT]     verify from the kernel side, with eBPF, that the child's
                       namespaces are what was asked for; FORMAT text (default)
                       or json; a mismatch makes rawns exit 124. Needs root or
                       CAP_BPF+CAP_PERFMON
  -v, --verbose        report on stderr what the parent sees: both pids, the
                       hostname, each namespace's inode, and the exit status
  -h, --help           this help

Signals SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH sent
to rawns are forwarded to the command. If rawns dies, the command is killed.

Examples:
  rawns run -- sh -c 'echo "pid $$ on $(hostname)"'     # pid 1 on container
  rawns run -v --hostname web1 -- hostname
  rawns run --ns pid,mnt --mount-proc -- ps -e          # only the command
  rawns run --ns all --init -- sh                       # everything new
  rawns run --ns user,pid,uts,mnt --map-root-user --mount-proc -- id -u   # rootless
`

var runFlags = []cli.Def{
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
	{Name: "env", Kind: cli.Repeated},
	{Name: "unsetenv", Kind: cli.Repeated},
	{Name: "clearenv", Kind: cli.Bool},
	{Name: "chdir", Kind: cli.String},
	{Name: "clone", Kind: cli.String},
	{Name: "trace", Kind: cli.Optional},
	{Name: "verbose", Short: "v", Kind: cli.Bool},
	{Name: "help", Short: "h", Kind: cli.Bool},
}

// runConfig is a parsed and checked `rawns run` command line.
type runConfig struct {
	spec    clone.Spec
	verbose bool
	init    bool
	trace   string   // "" for no --trace, else "text" or "json"
	command []string // as given, before the PATH search
}

// parseRun turns the arguments of `rawns run` into a spec. Its errors are
// one line that names the flag or value at fault and the fix.
func parseRun(args []string) (*runConfig, error) {
	flags, command, err := cli.Parse(runFlags, args)
	if err != nil {
		return nil, err
	}
	if flags.Has("help") {
		return nil, errHelp
	}
	if len(command) == 0 {
		return nil, errors.New("no command given; put the command after the flags, e.g. rawns run -- sh")
	}
	cfg := &runConfig{verbose: flags.Has("verbose"), init: flags.Has("init"), command: command}
	if flags.Has("trace") {
		cfg.trace = flags.Get("trace", "")
		if cfg.trace == "" {
			cfg.trace = "text"
		}
	}
	s := &cfg.spec

	if s.Namespaces, err = clone.ParseNamespaces(flags.Get("ns", "pid,uts")); err != nil {
		return nil, fmt.Errorf("--ns: %v", err)
	}
	if flags.Has("mount-proc") {
		if s.Namespaces&clone.NewPID == 0 {
			return nil, errors.New("--mount-proc without a PID namespace would show the host's processes; add pid to --ns")
		}
		s.Namespaces |= clone.NewMount
		s.MountProc = true
	}
	if flags.Has("hostname") {
		s.Hostname = flags.Get("hostname", "")
		if s.Namespaces&clone.NewUTS == 0 {
			return nil, fmt.Errorf("--hostname %q needs a new UTS namespace, or the host's hostname would change; add uts to --ns", s.Hostname)
		}
		if err := clone.ValidateHostname(s.Hostname); err != nil {
			return nil, fmt.Errorf("--hostname: %v", err)
		}
	} else if s.Namespaces&clone.NewUTS != 0 {
		s.Hostname = "container"
	}
	if flags.Has("propagation") {
		if s.Namespaces&clone.NewMount == 0 {
			return nil, errors.New("--propagation needs a new mount namespace; add mnt to --ns")
		}
		if s.Propagation, err = clone.ParsePropagation(flags.Get("propagation", "")); err != nil {
			return nil, fmt.Errorf("--propagation: %v", err)
		}
	}
	if err := parseMaps(flags, s); err != nil {
		return nil, err
	}
	for _, c := range []struct {
		flag string
		dst  *time.Duration
	}{{"monotonic", &s.MonotonicOffset}, {"boottime", &s.BoottimeOffset}} {
		if !flags.Has(c.flag) {
			continue
		}
		v := flags.Get(c.flag, "")
		if s.Namespaces&clone.NewTime == 0 {
			return nil, fmt.Errorf("--%s %q needs a new time namespace; add time to --ns", c.flag, v)
		}
		secs, err := strconv.ParseFloat(v, 64)
		// The kernel refuses offsets beyond KTIME_SEC_MAX/2 seconds (146
		// years), and a time.Duration cannot hold much more: larger values
		// overflowed into a wrong offset (found by FuzzParseRun).
		if err != nil || math.IsNaN(secs) || math.Abs(secs) > 4611686018 {
			return nil, fmt.Errorf("--%s %q: give an offset in seconds within ±4611686018 (146 years), e.g. 86400 or -1.5", c.flag, v)
		}
		*c.dst = time.Duration(secs * float64(time.Second))
	}
	if cfg.init && s.Namespaces&clone.NewPID == 0 {
		return nil, errors.New("--init makes rawns's init PID 1 of a new PID namespace; add pid to --ns")
	}
	if flags.Has("clone") {
		if s.Mode, err = clone.ParseMode(flags.Get("clone", "")); err != nil {
			return nil, fmt.Errorf("--clone: %v", err)
		}
	}
	if flags.Has("chdir") {
		if s.Dir = flags.Get("chdir", ""); s.Dir == "" {
			return nil, errors.New("--chdir: empty directory; give a path")
		}
	}
	if s.Env, err = buildEnv(flags); err != nil {
		return nil, err
	}
	for i, a := range command {
		if strings.IndexByte(a, 0) >= 0 {
			return nil, fmt.Errorf("argument %d %q contains a NUL byte, which execve(2) cannot pass", i, a)
		}
	}
	if s.Mode == clone.ModeVfork && (s.UIDMap != nil || s.GIDMap != nil) {
		return nil, errors.New("--clone vfork: the parent must write the user namespace's maps before the child execs, which a vfork-style clone forbids; use --clone fork or auto")
	}
	return cfg, nil
}

var errHelp = errors.New("help requested")

// buildEnv applies --clearenv, --env and --unsetenv, in that order, to
// rawns's own environment. A later --env for the same key wins.
func buildEnv(flags cli.Flags) ([]string, error) {
	var env []string
	if !flags.Has("clearenv") {
		env = os.Environ()
	}
	set := func(kv string) {
		k, _, _ := strings.Cut(kv, "=")
		env = removeKey(env, k)
		env = append(env, kv)
	}
	for _, e := range flags["env"] {
		k, _, hasValue := strings.Cut(e, "=")
		if k == "" {
			return nil, fmt.Errorf("--env %q: empty variable name; use --env KEY=VALUE", e)
		}
		if strings.IndexByte(e, 0) >= 0 {
			return nil, fmt.Errorf("--env %q contains a NUL byte", e)
		}
		if !hasValue {
			v, ok := os.LookupEnv(k)
			if !ok {
				return nil, fmt.Errorf("--env %q: rawns has no such variable, so nothing to copy; use --env KEY=VALUE", k)
			}
			e = k + "=" + v
		}
		set(e)
	}
	for _, k := range flags["unsetenv"] {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, fmt.Errorf("--unsetenv %q: give a variable name without = or NUL", k)
		}
		env = removeKey(env, k)
	}
	if env == nil {
		env = []string{}
	}
	return env, nil
}

func removeKey(env []string, key string) []string {
	out := env[:0]
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != key {
			out = append(out, kv)
		}
	}
	return out
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
	if s.Namespaces&clone.NewUser == 0 {
		return errors.New("--map-root-user, --map-user and --map-group need a new user namespace; add user to --ns")
	}
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
		if err != nil || n == 1<<32-1 {
			return nil, fmt.Errorf("%s %q: %q is not a %s (0 to 4294967294)", flag, v, p, what)
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

// forwardedSignals reach the command when sent to rawns.
var forwardedSignals = []unix.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH}

func runMain(args []string, stdout, stderr io.Writer) int {
	// Catch the signals to forward before anything else: from here on a
	// signal sent to rawns is held until the command exists, then
	// relayed to it (internal/sigrelay: seven rt_sigaction calls; the
	// os/signal subscription it replaces cost ~0.8 ms). A signal rawns
	// was started with ignored (nohup's SIGHUP, SIGINT of a background
	// job) stays ignored, and the command inherits that
	// (torture/TestSignalDispositions).
	if _, err := sigrelay.Catch(forwardedSignals...); err != nil {
		fmt.Fprintf(stderr, "rawns run: %v\n", err)
		return exitFailed
	}
	cfg, err := parseRun(args)
	if err == errHelp {
		fmt.Fprint(stdout, runUsage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "rawns run: %v\n", err)
		return exitFailed
	}
	return run(cfg, stderr)
}

// run starts the command, forwards signals to it, waits, and returns the
// exit code rawns must exit with.
func run(cfg *runConfig, stderr io.Writer) int {
	s := &cfg.spec
	// The command's own PATH, as execvp(3) in the child would use it.
	path, err := clone.LookPath(cfg.command[0], clone.EnvPath(s.Env))
	if err != nil {
		return reportStartError(stderr, cfg, err)
	}
	s.Path, s.Args = path, cfg.command
	if cfg.init {
		if err := wrapInInit(cfg); err != nil {
			fmt.Fprintf(stderr, "rawns run: --init: %v\n", err)
			return exitFailed
		}
	}

	// --trace loads its eBPF program before the clone, so the exec cannot
	// be missed; without it, BPF is never touched.
	var tr *runTrace
	if cfg.trace != "" {
		if tr, err = startTrace(cfg, cfg.trace); err != nil {
			fmt.Fprintf(stderr, "rawns run: --trace: %v\n", err)
			return exitFailed
		}
	}
	var v *verboseReport
	if cfg.verbose {
		v = newVerboseReport(cfg)
	}

	// The clone is made right here, from the main thread, without a
	// hand-off to another thread (clone.PinThread says why that is enough).
	clone.PinThread()
	proc, err := clone.StartHere(s)
	if err != nil {
		if tr != nil {
			tr.close()
		}
		return reportStartError(stderr, cfg, err)
	}
	// Relay the signals held so far, and every later one. Without a
	// pidfd (Linux before 5.2) there is nothing safe to signal: a pid
	// may be recycled once reaped.
	if fd := proc.PidFD(); fd >= 0 {
		if err := sigrelay.Target(fd, proc.Pid); err != nil {
			fmt.Fprintf(stderr, "rawns run: signals will not be forwarded: %v\n", err)
		}
	} else {
		fmt.Fprintln(stderr, "rawns run: this kernel gives no pidfd; signals sent to rawns are not forwarded")
	}
	if v != nil {
		v.started(stderr, proc)
	}
	traceOK := true
	if tr != nil {
		traceOK = tr.report(stderr, cfg, proc)
	}
	st, err := proc.Wait()
	sigrelay.Stop()
	if err != nil {
		fmt.Fprintf(stderr, "rawns run: %v\n", err)
		return exitFailed
	}
	if v != nil {
		fmt.Fprintf(stderr, "rawns: container exited with %v\n", st)
	}
	if !traceOK {
		return exitTraceMismatch
	}
	return st.ExitCode()
}

// reportStartError prints why nothing runs and picks the exit code:
// 127 not found, 126 cannot invoke, 125 anything else.
func reportStartError(stderr io.Writer, cfg *runConfig, err error) int {
	name := cfg.command[0]
	var ce *clone.ChildError
	switch {
	case errors.Is(err, clone.ErrNotFound):
		fmt.Fprintf(stderr, "rawns run: %v; give a path, or fix PATH (--env PATH=...)\n", err)
		return exitNotFound
	case errors.Is(err, clone.ErrNotExecutable):
		fmt.Fprintf(stderr, "rawns run: %s: found on PATH but not executable (a directory, or no x permission)\n", name)
		return exitCannotInvoke
	case errors.As(err, &ce) && ce.Stage == clone.StageExec:
		hint := ""
		switch ce.Errno {
		case syscall.ENOENT:
			hint = " (the file, or the interpreter named on its #! line, does not exist)"
		case syscall.EACCES:
			hint = " (no execute permission, a directory, or a noexec mount)"
		case syscall.ENOEXEC:
			hint = " (not a binary this kernel runs, and no #! line)"
		case syscall.E2BIG:
			hint = " (the arguments and environment exceed the kernel's limit; see getconf ARG_MAX)"
		}
		fmt.Fprintf(stderr, "rawns run: cannot execute %s: %v%s\n", ce.Subject, ce.Errno, hint)
		if ce.Errno == syscall.ENOENT || ce.Errno == syscall.ENOTDIR || ce.Errno == syscall.ELOOP {
			return exitNotFound
		}
		return exitCannotInvoke
	case errors.As(err, &ce) && ce.Stage == clone.StageNone && ce.Signal != 0:
		fmt.Fprintf(stderr, "rawns run: the child was killed by signal %d (%v) before it could execute %s; nothing ran (a seccomp filter that kills, or the OOM killer?)\n", int(ce.Signal), ce.Signal, name)
		return exitFailed
	case errors.As(err, &ce) && ce.Stage == clone.StageChdir:
		fmt.Fprintf(stderr, "rawns run: --chdir %s: %v; give an existing directory\n", ce.Subject, ce.Errno)
		return exitFailed
	}
	fmt.Fprintf(stderr, "rawns run: %v\n", err)
	return exitFailed
}
