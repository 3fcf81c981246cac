package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/cgroup"
	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/oci"
)

// CreateOptions are what create takes besides the bundle's config.
type CreateOptions struct {
	ID     string
	Bundle string // absolute
	// Config is the bundle's config.json, decoded, and ConfigData its
	// bytes, kept in the state for exec; Plan is Config in rawns's
	// terms (oci.Convert).
	Config     *specs.Spec
	ConfigData []byte
	Plan       *oci.Plan
	// PidFile, if set, receives the container's host pid before Create
	// returns.
	PidFile string
	// ConsoleSocket is the path of a Unix socket to send the console's
	// pty master to (process.terminal).
	ConsoleSocket string
	// PreserveFDs passes fds 3 to 3+N-1 to the container.
	PreserveFDs int
	// Foreground is run's form: the container's process is this
	// process's child and starts at once; the caller waits for it.
	Foreground bool
}

// Create makes the container: its directory (the id's claim), its cgroup
// with the limits written, and its process, in its namespaces, root and
// cgroup; it runs the hooks up to createContainer and writes the pid
// file. On any error everything made so far is undone: no directory,
// cgroup, mount or process is left.
func (s *Store) Create(o *CreateOptions) (c *Container, proc *clone.Process, err error) {
	if err := CheckID(o.ID); err != nil {
		return nil, nil, err
	}
	pl := o.Plan
	switch {
	case !o.Foreground:
		return nil, nil, errors.New("create needs the start gate of rawns's child, which is not there yet; use run (create and start at once)")
	case o.PreserveFDs > 0:
		return nil, nil, errors.New("--preserve-fds needs rawns's child to pass fds above 2, which it does not do yet")
	case pl.Terminal && o.ConsoleSocket == "":
		return nil, nil, errors.New("process.terminal is true: give --console-socket, the socket to send the console's master to")
	case !pl.Terminal && o.ConsoleSocket != "":
		return nil, nil, errors.New("--console-socket is given but process.terminal is false; set terminal, or drop the flag")
	}
	if h := pl.Hooks; len(h.Prestart)+len(h.CreateRuntime)+len(h.CreateContainer)+len(h.StartContainer) > 0 { //nolint:staticcheck
		return nil, nil, errors.New("hooks before the start (prestart, createRuntime, createContainer, startContainer) need the start gate of rawns's child, which is not there yet")
	}
	if err := s.makeRoot(); err != nil {
		return nil, nil, err
	}
	dir := s.dir(o.ID)
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, nil, fmt.Errorf("container %q: %w", o.ID, ErrExist)
		}
		return nil, nil, fmt.Errorf("--root %s: cannot create the container's state directory: %v", s.Root, unwrapPathErr(err))
	}
	c = &Container{Dir: dir}
	var cg *cgroup.Cgroup
	defer func() {
		if err == nil {
			return
		}
		if proc != nil {
			proc.Signal(unix.SIGKILL)
			proc.Wait()
			proc = nil
		}
		if cg != nil {
			cg.Close()
		}
		if o.PidFile != "" {
			os.Remove(o.PidFile)
		}
		c.remove()
		c.Release()
		c = nil
	}()
	if c.lock, err = lockDir(dir, true); err != nil {
		return nil, nil, err
	}

	// The cgroup, with its limits, before the process exists; the
	// process is born in it (cgroup.Start).
	name, parent := o.ID, ""
	if p := pl.Cgroup.Path; p != "" {
		name, parent = filepath.Base(p), filepath.Dir(p)
		if parent == "." {
			parent = ""
		}
	}
	cg, err = cgroup.New(cgroup.Options{
		Parent: parent, Name: name, Resources: pl.Cgroup.Resources,
		Optional: []string{"memory", "pids", "cpu", "cpuacct", "freezer"},
	})
	if err != nil {
		return nil, nil, cgroupError(err)
	}

	spec := pl.Spec // a copy: what belongs to this start goes in here
	if o.ConsoleSocket != "" {
		fd, err := dialConsole(o.ConsoleSocket)
		if err != nil {
			return nil, nil, err
		}
		defer unix.Close(fd)
		spec.ConsoleSocket = int32(fd)
	}
	proc, _, err = cg.Start(&spec)
	if err != nil {
		proc = nil
		return nil, nil, pl.StartError(err)
	}
	start, _, err := procStat(proc.Pid)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the container's process %d: %v", proc.Pid, err)
	}
	c.State = State{
		OCIVersion: o.Config.Version, ID: o.ID, Pid: proc.Pid, PidStart: start,
		Bundle: o.Bundle, Rootfs: pl.Spec.Root, Created: time.Now().UTC(),
		Annotations: o.Config.Annotations,
		Cgroup:      cg.Name, CgroupDirs: cg.Dirs(), FreezeFile: cg.FreezeFile(),
	}
	if h := &pl.Hooks; len(h.StartContainer)+len(h.Poststart)+len(h.Poststop) > 0 {
		c.State.Hooks = &specs.Hooks{StartContainer: h.StartContainer, Poststart: h.Poststart, Poststop: h.Poststop}
	}
	if err = writeAtomic(filepath.Join(dir, configFile), o.ConfigData, 0o600); err != nil {
		return nil, nil, err
	}
	if err = c.save(); err != nil {
		return nil, nil, err
	}
	if o.PidFile != "" {
		if err = WritePidFile(o.PidFile, proc.Pid); err != nil {
			return nil, nil, fmt.Errorf("--pid-file %s: %v", o.PidFile, unwrapPathErr(err))
		}
	}
	return c, proc, nil
}

// dialConsole connects to the console socket that an engine (conmon, the
// containerd shim) listens on; the container's child sends the pty master
// over it (clone.Spec.ConsoleSocket).
func dialConsole(path string) (int, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("--console-socket %s: socket: %v", path, err)
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("--console-socket %s: connect: %v; give the path of a listening Unix socket", path, err)
	}
	return fd, nil
}

// cgroupError words a cgroup error for config.json.
func cgroupError(err error) error {
	var ce *cgroup.Error
	if errors.As(err, &ce) {
		path := "linux.resources"
		switch ce.Limit {
		case "memory":
			path = "linux.resources.memory.limit"
		case "memory-swap":
			path = "linux.resources.memory.swap"
		case "pids":
			path = "linux.resources.pids.limit"
		case "cpus":
			path = "linux.resources.cpu.quota"
		case "cpu-weight":
			path = "linux.resources.cpu.shares"
		case "cpuset-cpus":
			path = "linux.resources.cpu.cpus"
		case "cgroup-parent":
			path = "linux.cgroupsPath"
		}
		return &oci.Error{Path: path, Err: ce.Err}
	}
	return err
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %v", pe.Path, pe.Err)
	}
	return err
}
