//go:build linux && (amd64 || arm64)

package clone_test

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
	"github.com/rawns/rawns/tty"
)

// devMounts is a /dev with a devpts instance of its own, as rawns run's
// --dev /dev makes it: a tmpfs, devpts newinstance on pts, ptmx a link
// into it.
var devMounts = []clone.Mount{
	{Kind: clone.MountFS, Type: "tmpfs", Target: "/dev", Data: "mode=0755", Flags: unix.MS_NOSUID | unix.MS_NODEV},
	{Kind: clone.MountFS, Type: "devpts", Target: "/dev/pts", Data: "newinstance,ptmxmode=0666,mode=620", Flags: unix.MS_NOSUID | unix.MS_NOEXEC},
	{Kind: clone.MountSymlink, Source: "pts/ptmx", Target: "/dev/ptmx"},
}

// consoleSpec is script in a busybox root with its own /proc and mounts,
// on a console sent over sock.
func consoleSpec(root string, mounts []clone.Mount, sock *os.File, script string) *clone.Spec {
	s := inRoot(root, script)
	s.Mounts = append([]clone.Mount{procMount}, mounts...)
	s.Privilege = &clone.Privilege{Setsid: true, Setctty: true}
	s.ConsoleSocket = int32(sock.Fd())
	return s
}

// TestConsoleFromOwnDevpts: with ConsoleSocket the command's terminal is a
// pty of the devpts instance in its root: the master the parent receives
// is pts 0 of that instance (not of the host's /dev/pts), the command's
// fd 0 lies on its own /dev/pts, which lists it, and what the parent
// writes to the master the command reads, as its controlling terminal.
// Under every clone style, and with Init, where PID 1 opens the console
// and the command inherits it.
func TestConsoleFromOwnDevpts(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	root := testutil.BusyboxRoot(t)
	var host unix.Stat_t
	if err := unix.Stat("/dev/pts", &host); err != nil {
		t.Fatal(err)
	}
	type style struct {
		name    string
		mode    clone.Mode
		syscall clone.Syscall
		init    bool
		user    bool // a user namespace: a PID 1 of Init shares rawns's memory
	}
	var styles []style
	for _, s := range testutil.CloneStyles {
		styles = append(styles, style{s.Name, s.Mode, s.Syscall, false, false})
	}
	styles = append(styles, style{"init-clone3", clone.ModeFork, clone.SyscallClone3, true, false}, style{"init-clone", clone.ModeFork, clone.SyscallClone, true, false},
		style{"init-shared", clone.ModeAuto, clone.SyscallClone3, true, true}, style{"userns", clone.ModeAuto, clone.SyscallAuto, false, true})
	for _, s := range styles {
		t.Run(s.name, func(t *testing.T) {
			parent, child, err := tty.SocketPair()
			if err != nil {
				t.Fatal(err)
			}
			defer parent.Close()
			// The command's own view: its fd 0, the device of its fd 0
			// and of its /dev/pts, the entries there, its controlling
			// terminal; then a line from the parent.
			spec := consoleSpec(root, devMounts, child, `readlink /proc/self/fd/0; stat -L -c %d /proc/self/fd/0; stat -c %d /dev/pts; echo /dev/pts/*; tty; read -r a b c d e f g rest </proc/self/stat; echo "tty_nr $g"; busybox stty size; echo ready; read x; echo "got $x"; exit 3`)
			spec.Mode, spec.Syscall, spec.Init = s.mode, s.syscall, s.init
			spec.ConsoleSize = clone.Winsize{Rows: 33, Cols: 99}
			if s.user {
				spec.Namespaces |= clone.NewUser
				spec.UIDMap = []clone.IDMap{{Inside: 0, Outside: 0, Count: 1}}
				spec.GIDMap = []clone.IDMap{{Inside: 0, Outside: 0, Count: 1}}
			}
			p, err := clone.Start(spec)
			child.Close()
			if err != nil {
				t.Fatal(err)
			}
			if shared := clone.InitStackBase(p) != 0; shared != (s.init && s.user) {
				t.Errorf("PID 1 on a stack of its own in rawns's memory: %v, want %v", shared, s.init && s.user)
			}
			pty, err := tty.ReceiveMaster(parent)
			if err != nil {
				p.Wait()
				t.Fatal(err)
			}
			defer pty.Master.Close()
			if n, err := pty.Index(); err != nil || n != 0 {
				t.Errorf("the master is pty %d (%v); want 0, the first of a fresh instance", n, err)
			}
			var m unix.Stat_t
			unix.Fstat(int(pty.Master.Fd()), &m)
			if m.Dev == host.Dev {
				t.Errorf("the master lies on the host's /dev/pts (dev %d)", host.Dev)
			}
			var text testutil.SyncBuffer
			eio := make(chan struct{})
			go func() {
				defer close(eio)
				buf := make([]byte, 4096)
				for {
					n, err := pty.Master.Read(buf)
					text.Write(buf[:n])
					if err != nil { // EIO: the slave is closed everywhere
						return
					}
				}
			}()
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(text.String(), "ready") && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			pty.Master.Write([]byte("hello\n"))
			st, err := p.Wait()
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-eio:
			case <-time.After(10 * time.Second):
				t.Fatal("the master did not read EIO after the command exited")
			}
			got := strings.ReplaceAll(text.String(), "\r\n", "\n")
			lines := strings.Split(got, "\n")
			if st.ExitCode() != 3 || len(lines) < 8 {
				t.Fatalf("exit %v; the terminal showed:\n%s", st, got)
			}
			ownDev := strconv.FormatUint(m.Dev, 10)
			if lines[0] != "/dev/pts/0" || lines[1] != ownDev || lines[2] != ownDev || lines[3] != "/dev/pts/0 /dev/pts/ptmx" || lines[4] != "/dev/pts/0" {
				t.Errorf("want /dev/pts/0 of the command's own devpts (dev %s, the master's), listed there alone, as its tty; the terminal showed:\n%s", ownDev, got)
			}
			// Field 7 of /proc/self/stat, tty_nr: a controlling terminal.
			if lines[5] == "tty_nr 0" || !strings.HasPrefix(lines[5], "tty_nr ") {
				t.Errorf("the console is not the command's controlling terminal:\n%s", got)
			}
			// The size was there before the command ran: the parent set
			// none.
			if lines[6] != "33 99" {
				t.Errorf("the console's size is %q, want ConsoleSize's 33 99", lines[6])
			}
			if !strings.Contains(got, "got hello\n") {
				t.Errorf("the command did not read what the parent wrote:\n%s", got)
			}
		})
	}
	testutil.AssertNoChildren(t)
}

// TestConsoleErrors: each failure of the console step reports its stage
// and errno, and leaves nothing behind: no fd in the parent, nothing in
// the socket, no child. A root whose /dev has no ptmx (--rootfs without
// --dev) fails to open; a socket whose peer is gone fails to send, with
// EPIPE rather than a SIGPIPE that would kill the child without a word.
func TestConsoleErrors(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	root := testutil.BusyboxRoot(t)
	before := strings.Join(testutil.FDs(os.Getpid()), ",")
	for _, c := range []struct {
		name   string
		mounts []clone.Mount
		peer   bool // close the parent's end before the start
		stage  clone.Stage
		errno  syscall.Errno
	}{
		{"no ptmx", nil, false, clone.StageConsoleOpen, unix.ENOENT},
		{"peer gone", devMounts, true, clone.StageConsoleSend, unix.EPIPE},
	} {
		styles := append([]struct {
			Name    string
			Mode    clone.Mode
			Syscall clone.Syscall
		}{{"init", clone.ModeFork, clone.SyscallAuto}}, testutil.CloneStyles...)
		for _, s := range styles {
			parent, child, err := tty.SocketPair()
			if err != nil {
				t.Fatal(err)
			}
			if c.peer {
				parent.Close()
			}
			spec := consoleSpec(root, c.mounts, child, "echo ran")
			spec.Mode, spec.Syscall, spec.Init = s.Mode, s.Syscall, s.Name == "init"
			_, err = clone.Start(spec)
			child.Close()
			var ce *clone.ChildError
			if !errors.As(err, &ce) || ce.Stage != c.stage || ce.Errno != c.errno || ce.Syscall != "" {
				t.Errorf("%s, %s: %v (%#v); want stage %q with %v", c.name, s.Name, err, ce, c.stage, c.errno)
			} else if !strings.Contains(err.Error(), "child: console: ") {
				t.Errorf("%s: %q does not name the console", c.name, err)
			}
			if !c.peer {
				if pty, err := tty.ReceiveMaster(parent); err == nil {
					pty.Master.Close()
					t.Errorf("%s, %s: a master came over the socket after a failure", c.name, s.Name)
				}
				parent.Close()
			}
		}
	}
	if after := strings.Join(testutil.FDs(os.Getpid()), ","); after != before {
		t.Errorf("fds leaked: before %s, after %s", before, after)
	}
	testutil.AssertNoChildren(t)
}

// TestConsoleValidate: the console needs a socket above stdio, no Stdio
// of its own, and the session and controlling terminal it becomes.
func TestConsoleValidate(t *testing.T) {
	parent, child, err := tty.SocketPair()
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Close()
	defer child.Close()
	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	priv := &clone.Privilege{Setsid: true, Setctty: true}
	for _, c := range []struct {
		spec clone.Spec
		want string
	}{
		{clone.Spec{ConsoleSocket: 2, Privilege: priv}, "ConsoleSocket 2: give a socket fd of 3 or more"},
		{clone.Spec{ConsoleSocket: -1, Privilege: priv}, "ConsoleSocket -1: give a socket fd of 3 or more"},
		{clone.Spec{ConsoleSocket: int32(f.Fd()), Privilege: priv}, "is not a socket"},
		{clone.Spec{ConsoleSocket: int32(child.Fd()), Privilege: priv, Stdio: []int{0, 1, 2}}, "leave Stdio nil"},
		{clone.Spec{ConsoleSocket: int32(child.Fd())}, "needs Privilege.Setsid and Setctty"},
		{clone.Spec{ConsoleSocket: int32(child.Fd()), Privilege: &clone.Privilege{Setsid: true}}, "needs Privilege.Setsid and Setctty"},
		{clone.Spec{ConsoleSize: clone.Winsize{Rows: 1, Cols: 1}}, "give ConsoleSocket too"},
	} {
		c.spec.Path = "/bin/true"
		if err := c.spec.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(ConsoleSocket %d) = %v, want %q", c.spec.ConsoleSocket, err, c.want)
		}
	}
	ok := clone.Spec{Path: "/bin/true", ConsoleSocket: int32(child.Fd()), Privilege: priv}
	if err := ok.Validate(); err != nil {
		t.Errorf("a valid console: %v", err)
	}
}
