package cve

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// consoleSocket listens on a unix socket for the pty master a runtime
// sends with --console-socket (SCM_RIGHTS), and returns its path and a
// function that waits for the master.
func consoleSocket(t *testing.T, dir string) (string, func() (*os.File, error)) {
	path := filepath.Join(dir, "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		f   *os.File
		err error
	}
	ch := make(chan got, 1)
	go func() {
		defer l.Close()
		l.SetDeadline(time.Now().Add(60 * time.Second))
		c, err := l.AcceptUnix()
		if err != nil {
			ch <- got{err: err}
			return
		}
		defer c.Close()
		buf, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(4))
		_, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
		if err != nil {
			ch <- got{err: err}
			return
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			ch <- got{err: fmt.Errorf("console socket: %d control messages, %v", len(msgs), err)}
			return
		}
		fds, err := unix.ParseUnixRights(&msgs[0])
		if err != nil || len(fds) != 1 {
			ch <- got{err: fmt.Errorf("console socket: %d fds, %v", len(fds), err)}
			return
		}
		ch <- got{f: os.NewFile(uintptr(fds[0]), "pty-master")}
	}()
	return path, func() (*os.File, error) {
		select {
		case g := <-ch:
			return g.f, g.err
		case <-time.After(70 * time.Second):
			return nil, fmt.Errorf("no pty master on the console socket")
		}
	}
}

// CVE-2025-52565: runc bind-mounts the container's pty slave over
// /dev/console, and did not check what was at either end: with a symlink
// there, the mount (and so the container's writes to its console) went to
// the symlink's target. In a root whose dev/console is a symlink to a
// host file or a procfs file (and dev/ptmx a link to pts/ptmx, as the
// runtime-spec wants it), the console must be the pty and the target must
// stay what it was.
func TestCVE_2025_52565_ConsoleOverSymlink(t *testing.T) {
	forEachRuntime(t, "CVE-2025-52565", func(t *testing.T, r *runner) error {
		var holes []string
		for _, lt := range linkTargets {
			b, canary := canaryBundle(t, r, "console", lt.target, func(s *specs.Spec) {
				s.Process.Terminal = true
				s.Mounts = append(s.Mounts, specs.Mount{Destination: "/dev/pts", Type: "devpts", Source: "devpts",
					Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}})
				// The process itself writes nothing to /dev/console: a
				// runtime that never made it the pty would have it write
				// where the image's link points, with rights it has
				// anyway; the test looks at what the runtime did.
				s.Process.Args = []string{"/bin/sh", "-c", "exec >/tmp/result 2>&1; " +
					"echo console=$(stat -L -c %t:%F /dev/console); echo target=$(stat -L -c %F " + lt.target + ")"}
			})
			sock, master := consoleSocket(t, r.dir)
			id, _, err := r.create(b, "--console-socket", sock)
			os.Remove(sock)
			if err != nil {
				t.Logf("%s: refused: %v", lt.name, err)
				if err := canaryChanged(t, canary); err != nil {
					holes = append(holes, lt.name+": "+err.Error())
				}
				continue
			}
			m, err := master()
			if err != nil {
				t.Fatal(err)
			}
			go func() { // drain the console, so the container never blocks on it
				buf := make([]byte, 4096)
				for {
					if _, err := m.Read(buf); err != nil {
						return
					}
				}
			}()
			if res := r.do("start", id); res.err != nil {
				t.Fatalf("start: %v", res)
			}
			if err := r.waitStopped(id); err != nil {
				t.Fatal(err)
			}
			m.Close()
			if err := canaryChanged(t, canary); err != nil {
				holes = append(holes, lt.name+": "+err.Error())
			}
			report, _ := os.ReadFile(filepath.Join(b, "rootfs/tmp/result"))
			rep := string(report)
			if !strings.Contains(rep, "console=") || !strings.Contains(rep, "target=") {
				t.Fatalf("%s: no report from the container: %q", lt.name, rep)
			}
			// A pty slave is major 136 (0x88), a character device.
			if !strings.Contains(rep, "console=88:character special file") {
				holes = append(holes, fmt.Sprintf("%s: /dev/console is not the pty: %q", lt.name, rep))
			}
			if strings.Contains(rep, "target=character special file") {
				holes = append(holes, fmt.Sprintf("%s: the pty is mounted over %s: %q", lt.name, lt.target, rep))
			}
		}
		if len(holes) > 0 {
			return fmt.Errorf("%s", strings.Join(holes, "; "))
		}
		return nil
	})
}
