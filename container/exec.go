package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/kernel"
	"github.com/rawns/rawns/oci"
)

// ExecOptions are what exec runs in a container and how.
type ExecOptions struct {
	// Process is the process to run: process.json, or the container's
	// own process changed by exec's flags.
	Process *specs.Process
	// ConsoleSocket is the socket to send the pty master to
	// (Process.Terminal).
	ConsoleSocket string
	// PidFile, if set, receives the process's host pid.
	PidFile string
	// Detach: the process outlives this one (no parent-death signal);
	// otherwise the caller waits for it.
	Detach bool
	// PreserveFDs passes fds 3 to 3+N-1 on.
	PreserveFDs int
	// IgnorePaused runs the process in a paused container (it is frozen
	// at once, with the rest).
	IgnorePaused bool
}

// Config reads the config.json create kept for the container, through
// the lock's fd (config.json is the lock, state.go).
func (c *Container) Config() (*specs.Spec, error) {
	name := filepath.Join(c.Dir, configFile)
	data, err := c.lock.read()
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: name, Err: err}
	}
	return oci.Parse(name, data)
}

// Exec starts a process inside the running (or created) container: the
// same raw clone as the container's own process, with "join" instead of
// "create" (clone.Spec.Join): every namespace of the container's process
// entered through its pidfd (one setns(2), Linux 5.8+; an nsfs fd per
// kind before), born in the container's cgroup, narrowed as
// Process asks (capabilities, user, rlimits, no_new_privs) and by the
// container's seccomp profile. Its working directory is resolved inside
// the container's root (CVE-2024-21626). The caller holds the container
// locked (shared is enough).
func (c *Container) Exec(o *ExecOptions) (*clone.Process, error) {
	switch st := c.Status(); {
	case st == Stopped:
		return nil, fmt.Errorf("cannot exec in container %s: it is stopped", c.State.ID)
	case st == Paused && !o.IgnorePaused:
		return nil, fmt.Errorf("cannot exec in container %s: it is paused (resume it, or exec --ignore-paused)", c.State.ID)
	}
	cfg, err := c.Config()
	if err != nil {
		return nil, err
	}
	pid := strconv.Itoa(c.State.Pid)
	pl, err := oci.ConvertExec(cfg, o.Process, "/proc/"+pid+"/root")
	if err != nil {
		return nil, err
	}
	switch {
	case pl.Terminal && o.ConsoleSocket == "":
		return nil, errors.New("terminal is true: give --console-socket, the socket to send the console's master to")
	case !pl.Terminal && o.ConsoleSocket != "":
		return nil, errors.New("--console-socket is given but terminal is false; set terminal (--tty), or drop the flag")
	}
	spec := pl.Spec
	spec.NoParentDeathSignal = o.Detach
	closeJoin, err := c.joinSpec(&spec)
	if err != nil {
		return nil, err
	}
	defer closeJoin()
	for i := 0; i < o.PreserveFDs; i++ {
		spec.ExtraFDs = append(spec.ExtraFDs, 3+i)
	}
	if o.ConsoleSocket != "" {
		fd, err := dialConsole(o.ConsoleSocket)
		if err != nil {
			return nil, err
		}
		defer unix.Close(fd)
		spec.ConsoleSocket = int32(fd)
	}
	// CVE-2019-5736, as at create (clone.OpenExecShim).
	if spec.ShimFD, err = clone.OpenExecShim(); err != nil {
		return nil, err
	}
	defer unix.Close(spec.ShimFD)
	var proc *clone.Process
	cg, err := c.cgroup()
	if err != nil {
		return nil, err
	}
	if cg != nil {
		if err := cg.Join(); err != nil {
			return nil, err
		}
		proc, _, err = cg.Start(&spec)
		cg.Release()
	} else {
		clone.PinThread()
		proc, err = clone.StartHere(&spec)
	}
	if err != nil {
		return nil, pl.StartError(err)
	}
	if o.PidFile != "" {
		if err := WritePidFile(o.PidFile, proc.Pid); err != nil {
			if !o.Detach {
				proc.Signal(unix.SIGKILL)
				proc.Wait()
			}
			return nil, fmt.Errorf("--pid-file %s: %v", o.PidFile, unwrapPathErr(err))
		}
	}
	return proc, nil
}

// joinSpec makes s enter every namespace of the container's process that
// this process is not in: through a pidfd opened first and checked
// against the start time after (a reused pid is never joined), in one
// setns(2) from Linux 5.8, else through an nsfs fd of each kind. The
// returned func closes the fds once the clone is made.
func (c *Container) joinSpec(s *clone.Spec) (func(), error) {
	pidfd, err := unix.PidfdOpen(c.State.Pid, 0)
	if err != nil {
		if err == unix.ESRCH {
			return nil, ErrNotRunning
		}
		return nil, fmt.Errorf("pidfd_open %d: %w", c.State.Pid, err)
	}
	fds := []int{pidfd}
	closeAll := func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	if c.State.RootMount != nil {
		// No mount namespace of its own (clone.Spec.HostMountNS): its
		// root is a chroot in this one, which no setns enters; the child
		// chroots into the process's root (clone.Spec.ChrootFD), opened
		// before the liveness check below.
		fd, err := unix.Open("/proc/"+strconv.Itoa(c.State.Pid)+"/root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			closeAll()
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
				return nil, ErrNotRunning
			}
			return nil, fmt.Errorf("opening the container's root: %v", err)
		}
		fds = append(fds, fd)
		s.ChrootFD = fd
	}
	if !c.alive() {
		closeAll()
		return nil, ErrNotRunning
	}
	proc := "/proc/" + strconv.Itoa(c.State.Pid) + "/ns/"
	var kinds clone.Namespaces
	for _, k := range clone.Kinds {
		mine, err1 := os.Readlink("/proc/self/ns/" + k.Name)
		its, err2 := os.Readlink(proc + k.Name)
		if err2 != nil {
			if errors.Is(err2, os.ErrNotExist) && errors.Is(err1, os.ErrNotExist) {
				continue // a kind this kernel lacks
			}
			closeAll()
			return nil, fmt.Errorf("reading the container's %s namespace: %v", k.Name, err2)
		}
		if its != mine {
			kinds |= k.Flag
		}
	}
	s.Namespaces = 0
	if kinds == 0 {
		return closeAll, nil
	}
	if kernel.AtLeast(5, 8) {
		s.Join = []clone.Join{{Kinds: kinds, FD: pidfd}}
		return closeAll, nil
	}
	for _, k := range clone.Kinds {
		if kinds&k.Flag == 0 {
			continue
		}
		fd, err := unix.Open(proc+k.Name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("opening the container's %s namespace: %v", k.Name, err)
		}
		fds = append(fds, fd)
		s.Join = append(s.Join, clone.Join{Kinds: k.Flag, FD: fd})
	}
	// The fds name the process the pidfd names: it still runs.
	if !c.alive() {
		closeAll()
		return nil, ErrNotRunning
	}
	return closeAll, nil
}

// runJoinedHooks runs the hooks of kind (createContainer,
// startContainer) as config.md asks: the path resolved in the runtime's
// namespaces (opened here, run with execveat(2) from its fd) and the
// process in the container's namespaces and cgroup (clone.Spec.Join), with
// the runtime's privileges, the state on its stdin, killed at its timeout.
// The first failure is the error, named by its JSON path.
func (c *Container) runJoinedHooks(kind string, st Status) error {
	if c.State.Hooks == nil {
		return nil
	}
	hooks := oci.HookList(c.State.Hooks, kind)
	if len(hooks) == 0 {
		return nil
	}
	state := c.hookState(st)
	for i := range hooks {
		if err := c.runJoinedHook(&hooks[i], state); err != nil {
			return fmt.Errorf("hooks.%s[%d]: %s: %w", kind, i, hooks[i].Path, err)
		}
	}
	return nil
}

func (c *Container) runJoinedHook(h *specs.Hook, state []byte) error {
	// O_RDONLY rather than O_PATH: execveat(2) of an O_PATH fd fails on
	// some kernels (5.10), and the hook is the runtime's own file.
	exe, err := unix.Open(h.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(exe)
	in, err := stdinPipe(state)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.CreateTemp("", "rawns-hook-*")
	if err != nil {
		return err
	}
	os.Remove(out.Name())
	defer out.Close()
	args := h.Args
	if len(args) == 0 {
		args = []string{h.Path}
	}
	env := h.Env
	if env == nil {
		env = []string{}
	}
	spec := clone.Spec{
		Path: h.Path, ExecFD: exe, Args: args, Env: env, Dir: "/",
		Stdio: []int{int(in.Fd()), int(out.Fd()), int(out.Fd())},
	}
	closeJoin, err := c.joinSpec(&spec)
	if err != nil {
		return err
	}
	defer closeJoin()
	var proc *clone.Process
	cg, err := c.cgroup()
	if err != nil {
		return err
	}
	if cg != nil {
		if err := cg.Join(); err != nil {
			return err
		}
		proc, _, err = cg.Start(&spec)
		cg.Release()
	} else {
		clone.PinThread()
		proc, err = clone.StartHere(&spec)
	}
	if err != nil {
		return err
	}
	status, err := waitTimeout(proc, h.Timeout)
	if err != nil {
		return err
	}
	if code := status.ExitCode(); code != 0 {
		o := make([]byte, 512)
		n, _ := out.ReadAt(o, 0)
		if s := strings.TrimSpace(string(o[:n])); s != "" {
			return fmt.Errorf("%v: %q", status, s)
		}
		return fmt.Errorf("%v", status)
	}
	return nil
}

// stdinPipe is a pipe whose read end holds data (the state JSON, far
// below a pipe's buffer) and then EOF.
func stdinPipe(data []byte) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	_, err = w.Write(data)
	w.Close()
	if err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// waitTimeout waits for proc, killing it after timeout seconds (nil: no
// limit).
func waitTimeout(proc *clone.Process, timeout *int) (clone.ExitStatus, error) {
	if timeout == nil {
		return proc.Wait()
	}
	type res struct {
		st  clone.ExitStatus
		err error
	}
	done := make(chan res, 1)
	go func() {
		st, err := proc.Wait()
		done <- res{st, err}
	}()
	select {
	case r := <-done:
		return r.st, r.err
	case <-time.After(time.Duration(*timeout) * time.Second):
		proc.Signal(unix.SIGKILL)
		<-done
		return clone.ExitStatus{}, fmt.Errorf("timed out after %ds and was killed", *timeout)
	}
}
