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
	// process's child, dies with it (PR_SET_PDEATHSIG), and the caller
	// waits for it. Otherwise (create, run --detach) nothing ties it to
	// this process: the engine's subreaper reaps it.
	Foreground bool
	// Gate makes the container wait at the start gate (a FIFO in its
	// directory) until Start: create's form, and run's when hooks must
	// run between create and start. Without it the program runs at once.
	Gate bool
	// GateShared lets the gated process wait on this process's memory
	// rather than a copy of it (clone.Spec.GateShared: no page tables
	// copied, no copy-on-write faults), where clone can. The caller
	// promises to keep the container locked (never Release it) until
	// this process exits, so that nothing joins the container while the
	// two share memory: create's form, which exits at once.
	GateShared bool
}

// preStartHooks counts the hooks that run before the container's program.
func preStartHooks(h *specs.Hooks) int {
	return len(h.Prestart) + len(h.CreateRuntime) + len(h.CreateContainer) + len(h.StartContainer) //nolint:staticcheck // prestart: deprecated, still run
}

// NeedsGate reports whether run must create with the gate: hooks run
// between the container's set-up and its program.
func NeedsGate(pl *oci.Plan) bool { return preStartHooks(&pl.Hooks) > 0 }

// Create makes the container: its directory (the id's claim), its cgroup
// with the limits written, and its process, in its final namespaces, root
// and cgroup, its console sent, waiting at the start gate (Gate) with no
// code of the user's run; the prestart and createRuntime hooks run, and
// the pid file is written. On any error everything made so far is
// undone: no directory, cgroup, mount or process is left.
//
// The returned container is locked; the caller releases it. proc is the
// container's process as this process's child: Foreground callers wait
// for it, the others drop it (Process.Release), and the process lives on.
func (s *Store) Create(o *CreateOptions) (_ *Container, _ *clone.Process, err error) {
	if err := CheckID(o.ID); err != nil {
		return nil, nil, err
	}
	pl := o.Plan
	switch {
	case !o.Foreground && !o.Gate:
		return nil, nil, errors.New("a container that outlives this process must wait at the start gate")
	case preStartHooks(&pl.Hooks) > 0 && !o.Gate:
		return nil, nil, errors.New("hooks before the start need the start gate")
	case pl.Terminal && o.ConsoleSocket == "":
		return nil, nil, errors.New("process.terminal is true: give --console-socket, the socket to send the console's master to")
	case !pl.Terminal && o.ConsoleSocket != "":
		return nil, nil, errors.New("--console-socket is given but process.terminal is false; set terminal, or drop the flag")
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
	// On an error, undo what was made (the results are nil then; these
	// are the things themselves).
	c := &Container{Dir: dir}
	var cg *cgroup.Cgroup
	var proc *clone.Process
	var hostRoot *rootMount // what was at the root before, without a mount namespace
	wrotePid := false
	defer func() {
		if err == nil {
			return
		}
		if proc != nil {
			proc.Signal(unix.SIGKILL)
			proc.Wait()
		}
		if hostRoot != nil {
			unmountRootChanged(pl.Spec.Root, hostRoot)
		}
		if cg != nil {
			cg.Remove()
		}
		if wrotePid {
			os.Remove(o.PidFile)
		}
		c.remove()
		c.Release()
	}()
	// config.json, the lock: made, locked, then written (no one reads it
	// before this lock is released), before the clone: after a fork-style
	// one every page written costs a copy-on-write fault.
	if c.lock, err = lockFile(filepath.Join(dir, lockFileName), true, true); err != nil {
		return nil, nil, err
	}
	if err = c.lock.write(o.ConfigData); err != nil {
		return nil, nil, fmt.Errorf("writing %s: %v", filepath.Join(dir, configFile), err)
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
		// For update and stats later, where that costs no migration.
		Optional: []string{"memory", "pids", "cpu", "cpuset"},
		Layout:   pl.Layout,
	})
	if err != nil {
		return nil, nil, cgroupError(err)
	}
	s.layout = cg.Layout()

	spec := pl.Spec // a copy: what belongs to this start goes in here
	spec.NoParentDeathSignal = !o.Foreground
	// linux.namespaces[].path: an fd of each, entered by the child with
	// setns(2) (clone checks that each is the kind it claims).
	for _, j := range pl.Joins {
		fd, err := unix.Open(j.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, nil, &oci.Error{Path: j.JSONPath, Err: fmt.Errorf("%s: %v; give the namespace file of a running process (/proc/PID/ns/...) or a bind mount of one", j.Path, err)}
		}
		defer unix.Close(fd)
		// NS_GET_NSTYPE (nsfs, Linux 4.11): the kind the file is.
		if kind, err := unix.IoctlRetInt(fd, 0xb703); err != nil || clone.Namespaces(kind) != j.Kind {
			what := "not a namespace file"
			if err == nil {
				what = "a " + clone.Namespaces(kind).String() + " namespace"
			}
			return nil, nil, &oci.Error{Path: j.JSONPath, Err: fmt.Errorf("%s is %s, not a %s namespace", j.Path, what, j.Kind)}
		}
		spec.Join = append(spec.Join, clone.Join{Kinds: j.Kind, FD: fd})
	}
	if o.PreserveFDs > 0 {
		// Fds 3 to 3+N-1 of this process, as the engine passed them
		// (conmon, the shim), become the program's 3 to 3+N-1.
		for i := 0; i < o.PreserveFDs; i++ {
			spec.ExtraFDs = append(spec.ExtraFDs, 3+i)
		}
	}
	if o.Gate {
		// The gate: a FIFO that the child reads one byte from once it is
		// set up (clone.Spec.GateFD). Opened O_RDWR, which never blocks,
		// and the child holds a writer itself, so it never reads EOF while
		// it waits; Start opens it O_WRONLY|O_NONBLOCK and writes.
		gate := filepath.Join(dir, gateFile)
		if err = unix.Mkfifo(gate, 0o600); err != nil {
			return nil, nil, fmt.Errorf("making the start gate %s: %v", gate, err)
		}
		fd, err := unix.Open(gate, unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("opening the start gate %s: %v", gate, err)
		}
		defer unix.Close(fd)
		spec.GateFD = fd
		spec.GateShared = o.GateShared && !o.Foreground
	}
	if o.ConsoleSocket != "" {
		fd, err := dialConsole(o.ConsoleSocket)
		if err != nil {
			return nil, nil, err
		}
		defer unix.Close(fd)
		spec.ConsoleSocket = int32(fd)
	}
	if spec.HostMountNS {
		id, unique, err := mountID(spec.Root)
		if err != nil {
			return nil, nil, &oci.Error{Path: "root.path", Err: err}
		}
		hostRoot = &rootMount{ID: id, Unique: unique}
	}
	// tmpcopyup: each tmpfs with something to copy is made here, filled,
	// and handed to the child detached (its copy cannot be made there).
	copyUps, err := pl.MakeCopyUps(&spec)
	if err != nil {
		return nil, nil, err
	}
	for _, fd := range copyUps {
		defer unix.Close(fd)
	}
	// CVE-2019-5736: the child execs the program through the exec shim,
	// so that nothing of this binary is the container's from then on
	// (clone.OpenExecShim).
	if spec.ShimFD, err = clone.OpenExecShim(); err != nil {
		return nil, nil, err
	}
	defer unix.Close(spec.ShimFD)
	proc, _, err = cg.Start(&spec)
	if err != nil {
		proc = nil // nothing to kill: Start reaped it
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
		CgroupParents: cg.MadeParents(),
	}
	if hostRoot != nil {
		id, unique, err := mountID(spec.Root)
		if err != nil {
			return nil, nil, &oci.Error{Path: "root.path", Err: err}
		}
		if id != hostRoot.ID || unique != hostRoot.Unique {
			c.State.RootMount = &rootMount{ID: id, Unique: unique}
		}
	}
	if h := &pl.Hooks; preStartHooks(h)+len(h.Poststart)+len(h.Poststop) > 0 {
		hooks := *h
		c.State.Hooks = &hooks
	}
	if err = c.save(); err != nil {
		return nil, nil, err
	}
	// runtime.md, lifecycle steps 3 and 4: the container's environment
	// is made, its program waits; a failure stops the container.
	for _, kind := range [...]string{"prestart", "createRuntime"} {
		if err = c.runHooks(kind, Created); err != nil {
			return nil, nil, err
		}
	}
	// Step 5: in the container's namespaces.
	if err = c.runJoinedHooks("createContainer", Created); err != nil {
		return nil, nil, err
	}
	if o.PidFile != "" {
		if err = WritePidFile(o.PidFile, proc.Pid); err != nil {
			return nil, nil, fmt.Errorf("--pid-file %s: %v", o.PidFile, unwrapPathErr(err))
		}
		wrotePid = true
	}
	return c, proc, nil
}

// Start lets a created container's program run: one byte through the
// start gate, which its process waits on, then the gate is removed (the
// status reads running from then on). The caller holds the container
// locked (exclusive) and runs the poststart hooks after (Started).
func (c *Container) Start() error {
	switch st := c.Status(); st {
	case Created:
	case Stopped:
		return fmt.Errorf("cannot start container %s: it has stopped", c.State.ID)
	default:
		return fmt.Errorf("cannot start container %s: it is %s already, not created", c.State.ID, st)
	}
	// runtime.md step 7, before the program: in the container's
	// namespaces; a failure stops the container.
	if err := c.runJoinedHooks("startContainer", Created); err != nil {
		c.signalInit(unix.SIGKILL)
		return err
	}
	gate := filepath.Join(c.Dir, gateFile)
	fd, err := unix.Open(gate, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if err == unix.ENXIO {
			// Nobody reads: the process is gone since Status looked.
			return fmt.Errorf("cannot start container %s: it has stopped", c.State.ID)
		}
		return fmt.Errorf("opening the start gate %s: %v", gate, err)
	}
	_, err = unix.Write(fd, []byte{0})
	unix.Close(fd)
	if err != nil {
		return fmt.Errorf("writing to the start gate %s: %v", gate, err)
	}
	if err := os.Remove(gate); err != nil {
		return err
	}
	return nil
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

// cgroupPaths are the places in config.json of the fields package cgroup
// names in its errors.
var cgroupPaths = [...]string{
	cgroup.FieldParent:      "linux.cgroupsPath",
	cgroup.FieldName:        "linux.cgroupsPath",
	cgroup.FieldMemoryLimit: "linux.resources.memory.limit",
	cgroup.FieldMemorySwap:  "linux.resources.memory.swap",
	cgroup.FieldPidsLimit:   "linux.resources.pids.limit",
	cgroup.FieldCPUQuota:    "linux.resources.cpu.quota",
	cgroup.FieldCPUPeriod:   "linux.resources.cpu.period",
	cgroup.FieldCPUShares:   "linux.resources.cpu.shares",
	cgroup.FieldCPUWeight:   "linux.resources.cpu.shares",
	cgroup.FieldCPUCpus:     "linux.resources.cpu.cpus",
	cgroup.FieldCPUMems:     "linux.resources.cpu.mems",
	cgroup.FieldDevices:     "linux.resources.devices",
}

// cgroupError words a cgroup error for config.json.
func cgroupError(err error) error {
	var ce *cgroup.Error
	if errors.As(err, &ce) {
		path := "linux.resources"
		if f := int(ce.Field); f > 0 && f < len(cgroupPaths) && cgroupPaths[f] != "" {
			path = cgroupPaths[f]
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
