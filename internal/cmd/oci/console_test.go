package oci

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestConsoleSocket: with process.terminal and --console-socket, the
// master of a pty of the container's own devpts arrives on the socket
// before create returns (as conmon and the containerd shim wait for it),
// sized as consoleSize; the program has it as its terminal, and it is
// /dev/console too (the pty slave bound there: major 136, minor 0).
func TestConsoleSocket(t *testing.T) {
	e := newEnv(t, func(s *specs.Spec) {
		s.Process.Terminal = true
		s.Process.ConsoleSize = &specs.Box{Height: 31, Width: 97}
		s.Process.Args = []string{"sh", "-c", "tty; stty size; echo console=$(stat -c %t:%T /dev/console); ls /dev/pts; exit 3"}
	})
	sockPath := filepath.Join(t.TempDir(), "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sockPath, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// Nothing accepts while create runs: create's connect completes in the
	// listener's backlog and its message waits in the socket, so what is
	// there when create returns was sent before it returned. (Reading it in
	// a goroutine and looking with select/default raced with that
	// goroutine on a slow VM.)
	id := newID("console")
	if r, _ := e.create(t, id, "--console-socket", sockPath); r.code != 0 {
		t.Fatalf("create: %+v", r)
	}
	master := receiveMaster(t, l)
	defer master.Close()
	if _, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN); err != nil {
		t.Fatalf("the fd received is not a pty master: %v", err)
	}
	if r := e.run(t, "start", id); r.code != 0 {
		t.Fatalf("start: %+v", r)
	}
	var out strings.Builder
	buf := make([]byte, 4096)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "ptmx") && time.Now().Before(deadline) {
		master.SetReadDeadline(time.Now().Add(time.Second))
		n, _ := master.Read(buf)
		out.Write(buf[:n])
	}
	o := strings.ReplaceAll(out.String(), "\r", "")
	if !strings.Contains(o, "/dev/pts/0\n") || !strings.Contains(o, "31 97\n") || !strings.Contains(o, "console=88:0\n") || !strings.Contains(o, "ptmx") {
		t.Errorf("output on the terminal:\n%s\nwant tty /dev/pts/0, size 31 97, /dev/console 88:0 (the pty), and /dev/pts listing 0 and ptmx", o)
	}
	e.waitStatus(t, id, "stopped")
	if r := e.run(t, "delete", id); r.code != 0 {
		t.Errorf("delete: %+v", r)
	}
	// terminal without a console socket, and a socket without terminal.
	if r, _ := e.create(t, newID("console2")); r.code != 1 || !strings.Contains(r.stderr, "process.terminal is true: give --console-socket") {
		t.Errorf("terminal without --console-socket: %+v", r)
	}
}

// receiveMaster takes the one fd of the one message already queued on l:
// the pty master create sent (SCM_RIGHTS, as conmon and the shim read it).
// One non-blocking accept4(2) and one recvmsg(2) with MSG_DONTWAIT: a
// message that comes only after create returned is a failure, not a wait.
func receiveMaster(t *testing.T, l *net.UnixListener) *os.File {
	t.Helper()
	rc, err := l.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	conn, acceptErr := -1, error(nil)
	if err := rc.Control(func(fd uintptr) {
		conn, _, acceptErr = unix.Accept4(int(fd), unix.SOCK_CLOEXEC)
	}); err != nil {
		t.Fatal(err)
	}
	if acceptErr != nil {
		t.Fatalf("no connection on the console socket when create returned: accept4: %v", acceptErr)
	}
	defer unix.Close(conn)
	buf, oob := make([]byte, 64), make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(conn, buf, oob, unix.MSG_DONTWAIT|unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		t.Fatalf("no message on the console socket when create returned: recvmsg: %v", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		t.Fatalf("the console socket's message carries %d control messages (%v), want 1", len(msgs), err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		t.Fatalf("the console socket's message carries %d fds (%v), want the pty master", len(fds), err)
	}
	return os.NewFile(uintptr(fds[0]), "master")
}
