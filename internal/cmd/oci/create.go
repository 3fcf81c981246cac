package oci

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/container"
	"github.com/rawns/rawns/internal/cli"
	"github.com/rawns/rawns/internal/procfs"
	ocispec "github.com/rawns/rawns/oci"
)

var createVerb = verb{
	name:  "create",
	usage: "create a container from a bundle; it waits for start",
	run:   runCreate,
}

// createFlags are runc create's; run adds its own.
var createFlags = []cli.Def{
	{Name: "bundle", Short: "b", Kind: cli.String},
	{Name: "console-socket", Kind: cli.String},
	{Name: "pid-file", Kind: cli.String},
	{Name: "no-pivot", Kind: cli.Bool},
	{Name: "no-new-keyring", Kind: cli.Bool},
	{Name: "preserve-fds", Kind: cli.String},
}

func runCreate(g *globals, args []string) error {
	flags, rest, err := parse("create", createFlags, args, 1, "ID")
	if err != nil {
		return err
	}
	o, err := g.createOptions(flags, rest[0])
	if err != nil {
		return err
	}
	o.Gate, o.GateShared = true, true
	_, proc, err := g.store().Create(o)
	if err != nil {
		return err
	}
	// The container's process lives on without this one: the engine's
	// subreaper (conmon, the shim) reaps it. It may wait at its gate on
	// this process's memory (GateShared), so the container's lock is not
	// released here: this process's exit drops it once no thread of it
	// uses that memory any more (do_exit: exit_mm, then exit_files, which
	// drops the record lock), so no exec can join the container before.
	proc.Release()
	return nil
}

// createOptions reads the bundle and the flags shared by create and run.
func (g *globals) createOptions(flags cli.Flags, id string) (*container.CreateOptions, error) {
	if g.systemdCgroup {
		return nil, errors.New("--systemd-cgroup: rawns manages cgroups through cgroupfs, not systemd; drop the flag (podman: cgroup_manager = \"cgroupfs\"; containerd: SystemdCgroup = false)")
	}
	if err := container.CheckID(id); err != nil {
		return nil, err
	}
	if flags.Has("no-pivot") {
		return nil, errors.New("--no-pivot: rawns always uses pivot_root(2), since chroot(2) leaves the host's tree one escape away; drop the flag (a root on ramfs cannot be a container's root here)")
	}
	o := &container.CreateOptions{ID: id, PidFile: flags.Get("pid-file", ""), ConsoleSocket: flags.Get("console-socket", "")}
	if v := flags.Get("preserve-fds", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("--preserve-fds %s: give a number of fds (0 or more)", cli.Quote(v))
		}
		o.PreserveFDs = n
	}
	bundle := flags.Get("bundle", "")
	if bundle == "" {
		bundle = "."
	}
	abs, err := filepath.Abs(bundle)
	if err != nil {
		return nil, fmt.Errorf("--bundle %s: %v", bundle, err)
	}
	o.Bundle = abs
	// Raw system calls (procfs.Read), not os.ReadFile: an os.File's
	// first use starts the runtime's poller, in every create and run.
	// The buffer is the file's size and one byte (to see EOF), as
	// os.ReadFile sizes it: a larger one would be a fresh page or two.
	name := filepath.Join(abs, ocispec.ConfigFile)
	size := 512
	var st unix.Stat_t
	if unix.Stat(name, &st) == nil && st.Size > 0 && st.Size < 1<<30 {
		size = int(st.Size) + 1
	}
	if o.ConfigData, err = procfs.Read(name, make([]byte, size)); err != nil {
		var errno syscall.Errno
		if errors.As(err, &errno) {
			err = errno // worded as unwrap words os's path errors
		}
		if _, serr := os.Stat(abs); serr != nil {
			return nil, fmt.Errorf("--bundle %s: %v; give the bundle's directory", bundle, unwrap(serr))
		}
		return nil, fmt.Errorf("--bundle %s: %v; a bundle holds config.json (rawns-oci spec writes one)", bundle, unwrap(err))
	}
	if o.Config, err = ocispec.Parse(name, o.ConfigData); err != nil {
		return nil, err
	}
	if o.Plan, err = ocispec.Convert(o.Config, ocispec.Options{Bundle: abs}); err != nil {
		return nil, err
	}
	for _, w := range o.Plan.Warnings {
		g.warn(w)
	}
	return o, nil
}
