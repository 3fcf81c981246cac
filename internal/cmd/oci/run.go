package oci

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/container"
	"github.com/rawns/rawns/internal/cli"
	"github.com/rawns/rawns/internal/sigrelay"
)

var runVerb = verb{
	name:  "run",
	usage: "create and start a container, wait for it, and delete it",
	run:   runRun,
}

var runFlags = append(append([]cli.Def(nil), createFlags...),
	cli.Def{Name: "detach", Short: "d", Kind: cli.Bool},
	cli.Def{Name: "keep", Kind: cli.Bool},
	cli.Def{Name: "no-subreaper", Kind: cli.Bool},
)

// relayed are the signals run passes on to the container's process, as
// runc's run forwards what it receives.
var relayed = []unix.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH, unix.SIGCONT, unix.SIGALRM}

// runRun is runc's run: create, start, wait for the container's process,
// and delete the container (unless --keep), exiting with the process's
// exit code (128+N when signal N killed it).
func runRun(g *globals, args []string) error {
	// From here a signal sent to rawns-oci is held, and relayed to the
	// container's process once it exists (internal/sigrelay).
	if _, err := sigrelay.Catch(relayed...); err != nil {
		return err
	}
	flags, rest, err := parse("run", runFlags, args, 1, "ID")
	if err != nil {
		return err
	}
	o, err := g.createOptions(flags, rest[0])
	if err != nil {
		return err
	}
	detach := flags.Has("detach")
	o.Foreground = !detach
	// The gate only where something must happen between the set-up and
	// the program (hooks), or where this process does not stay: without
	// it the clone stays vfork-style, and nothing waits on a FIFO.
	o.Gate = detach || container.NeedsGate(o.Plan)
	st := g.store()
	c, proc, err := st.Create(o)
	if err != nil {
		return err
	}
	if o.Gate {
		if err := c.Start(); err != nil {
			c.Delete(true)
			c.Release()
			if !detach {
				proc.Wait()
			}
			return err
		}
	}
	if detach {
		c.Release()
		proc.Release()
		for _, w := range c.Started() {
			g.warn(w)
		}
		return nil
	}
	// Unlocked while the process runs, for the other commands; the file
	// kept, to lock this container again after (Relock).
	c.Unlock()
	if fd := proc.PidFD(); fd >= 0 {
		if err := sigrelay.Target(fd, proc.Pid); err != nil {
			g.warn(fmt.Sprintf("signals will not be relayed to the container: %v", err))
		}
	}
	for _, w := range c.Started() {
		g.warn(w)
	}
	status, werr := proc.Wait()
	sigrelay.Stop()
	if !flags.Has("keep") {
		if err := st.Relock(c); err == nil {
			warnings, err := c.Delete(true)
			for _, w := range warnings {
				g.warn(w)
			}
			if err != nil {
				g.warn(err.Error())
			}
		}
	}
	c.Release()
	if werr != nil {
		return werr
	}
	if code := status.ExitCode(); code != 0 {
		return &exitError{code}
	}
	return nil
}
