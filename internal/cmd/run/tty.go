package run

import (
	"fmt"
	"os"
	"time"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/tty"
)

// ttySession is -t: the command's pty, and rawns's own terminal in raw
// mode while the command runs.
type ttySession struct {
	pty  *tty.Pty
	raw  *tty.Raw
	copy *tty.Copier
}

// startTTY opens the pty, gives the child its slave as stdio, copies the
// window size and puts rawns's terminal (stdin) in raw mode. The caller
// defers close, which restores the terminal on every path.
func startTTY(s *clone.Spec) (*ttySession, error) {
	p, err := tty.Open()
	if err != nil {
		return nil, fmt.Errorf("--tty: %v", err)
	}
	fd := int(p.Slave.Fd())
	s.Stdio = []int{fd, fd, fd}
	t := &ttySession{pty: p}
	p.CopySize(0) // a terminal without a size (a serial line) is fine
	if t.raw, err = tty.MakeRaw(0); err != nil {
		t.close()
		return nil, fmt.Errorf("--tty: putting the terminal in raw mode: %v", err)
	}
	return t, nil
}

// started runs once the child has the slave: rawns's copy goes, so that
// the master reads EIO when the command and its children are gone.
func (t *ttySession) started() {
	t.pty.CloseSlave()
	t.copy = t.pty.Copy(os.Stdin, os.Stdout)
}

// resize copies rawns's window size to the command's terminal; on
// SIGWINCH.
func (t *ttySession) resize() { t.pty.CopySize(0) }

// close waits a little for the command's last output, then restores the
// terminal and closes the pty.
func (t *ttySession) close() {
	if t.copy != nil {
		t.copy.Drain(500 * time.Millisecond)
	}
	if t.raw != nil {
		t.raw.Restore()
	}
	t.pty.CloseSlave()
	t.pty.Master.Close()
}
