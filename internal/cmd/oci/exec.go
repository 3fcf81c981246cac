package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/rawns/rawns/container"
	"github.com/rawns/rawns/internal/cli"
	"github.com/rawns/rawns/internal/sigrelay"
)

var execVerb = verb{
	name:  "exec",
	usage: "run a process in a running container (--process F, or COMMAND...)",
	run:   runExec,
}

var execFlags = []cli.Def{
	{Name: "process", Short: "p", Kind: cli.String},
	{Name: "console-socket", Kind: cli.String},
	{Name: "cwd", Kind: cli.String},
	{Name: "env", Short: "e", Kind: cli.Repeated},
	{Name: "tty", Short: "t", Kind: cli.Bool},
	{Name: "user", Short: "u", Kind: cli.String},
	{Name: "additional-gids", Short: "g", Kind: cli.Repeated},
	{Name: "detach", Short: "d", Kind: cli.Bool},
	{Name: "pid-file", Kind: cli.String},
	{Name: "process-label", Kind: cli.String},
	{Name: "apparmor", Kind: cli.String},
	{Name: "no-new-privs", Kind: cli.Bool},
	{Name: "cap", Short: "c", Kind: cli.Repeated},
	{Name: "preserve-fds", Kind: cli.String},
	{Name: "cgroup", Kind: cli.Repeated},
	{Name: "ignore-paused", Kind: cli.Bool},
}

// runExec is runc's exec: the process of --process (a process.json, what
// conmon and the containerd shim pass), or the container's own process
// with COMMAND as its args and the flags applied. Without --detach it
// waits and exits with the process's exit code (128+N for signal N),
// relaying signals to it.
func runExec(g *globals, args []string) error {
	if _, err := sigrelay.Catch(relayed...); err != nil {
		return err
	}
	flags, rest, err := parse("exec", execFlags, args, -1, "")
	if err != nil {
		return err
	}
	if len(rest) < 1 {
		return errors.New("exec: takes ID and a COMMAND, or --process FILE and ID")
	}
	if g.systemdCgroup {
		return errors.New("--systemd-cgroup: rawns manages cgroups through cgroupfs, not systemd; drop the flag")
	}
	for _, f := range []string{"process-label", "apparmor", "cgroup"} {
		if flags.Has(f) {
			why := "rawns applies no SELinux label or AppArmor profile"
			if f == "cgroup" {
				why = "the process goes into the container's own cgroup"
			}
			return fmt.Errorf("exec --%s: not supported (%s); drop the flag", f, why)
		}
	}
	id := rest[0]
	c, err := g.load(id, false)
	if err != nil {
		return err
	}
	o := &container.ExecOptions{
		ConsoleSocket: flags.Get("console-socket", ""), PidFile: flags.Get("pid-file", ""),
		Detach: flags.Has("detach"), IgnorePaused: flags.Has("ignore-paused"),
	}
	if v := flags.Get("preserve-fds", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			c.Release()
			return fmt.Errorf("exec --preserve-fds %s: give a number of fds (0 or more)", cli.Quote(v))
		}
		o.PreserveFDs = n
	}
	if o.Process, err = execProcess(c, flags, rest[1:]); err != nil {
		c.Release()
		return err
	}
	proc, err := c.Exec(o)
	c.Release()
	if err != nil {
		return err
	}
	if o.Detach {
		proc.Release()
		return nil
	}
	if fd := proc.PidFD(); fd >= 0 {
		if err := sigrelay.Target(fd, proc.Pid); err != nil {
			g.warn(fmt.Sprintf("signals will not be relayed to the process: %v", err))
		}
	}
	st, err := proc.Wait()
	sigrelay.Stop()
	if err != nil {
		return err
	}
	if code := st.ExitCode(); code != 0 {
		return &exitError{code}
	}
	return nil
}

// execProcess reads --process, or builds the process from the container's
// own and the flags, as runc does.
func execProcess(c *container.Container, flags cli.Flags, command []string) (*specs.Process, error) {
	if f := flags.Get("process", ""); f != "" {
		if len(command) > 0 {
			return nil, fmt.Errorf("exec: --process %s gives the command; drop %s", f, cli.Quote(command[0]))
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("exec --process %s: %v", f, unwrap(err))
		}
		var p specs.Process
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("exec --process %s: %v", f, err)
		}
		return &p, nil
	}
	if len(command) == 0 {
		return nil, errors.New("exec: no command; give one after the ID, or --process FILE")
	}
	cfg, err := c.Config()
	if err != nil {
		return nil, err
	}
	p := specs.Process{}
	if cfg.Process != nil {
		p = *cfg.Process
	}
	p.Args = command
	p.Terminal = flags.Has("tty")
	p.ConsoleSize = nil
	if v := flags.Get("cwd", ""); v != "" {
		p.Cwd = v
	}
	for _, kv := range flags.All("env") {
		k, _, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("exec --env %s: give KEY=VALUE", cli.Quote(kv))
		}
		env := p.Env[:0:0]
		for _, e := range p.Env {
			if ek, _, _ := strings.Cut(e, "="); ek != k {
				env = append(env, e)
			}
		}
		p.Env = append(env, kv)
	}
	if v := flags.Get("user", ""); v != "" {
		u, g, hasG := strings.Cut(v, ":")
		uid, err := strconv.ParseUint(u, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("exec --user %s: give UID[:GID] as numbers", cli.Quote(v))
		}
		p.User.UID, p.User.GID = uint32(uid), 0
		if hasG {
			gid, err := strconv.ParseUint(g, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("exec --user %s: give UID[:GID] as numbers", cli.Quote(v))
			}
			p.User.GID = uint32(gid)
		}
		p.User.AdditionalGids = nil
	}
	for _, v := range flags.All("additional-gids") {
		gid, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("exec --additional-gids %s: give a number", cli.Quote(v))
		}
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(gid))
	}
	if flags.Has("no-new-privs") {
		p.NoNewPrivileges = true
	}
	if caps := flags.All("cap"); len(caps) > 0 {
		lc := specs.LinuxCapabilities{}
		if p.Capabilities != nil {
			lc = *p.Capabilities
		}
		// Into the bounding, effective and permitted sets: inheritable
		// stays as the container's (CVE-2022-29162).
		for _, cp := range caps {
			lc.Bounding = append(lc.Bounding, cp)
			lc.Effective = append(lc.Effective, cp)
			lc.Permitted = append(lc.Permitted, cp)
		}
		p.Capabilities = &lc
	}
	return &p, nil
}
