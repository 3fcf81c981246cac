package run

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/testutil"
)

// TestRunTTYOwnDevpts: `rawns run -t --rootfs R --dev /dev` gives the
// command a terminal of its own devpts instance, as runc's console socket
// does: tty says /dev/pts/0, its /dev/pts lists that alone, every process
// of the run has fd 0 on the container's devpts and none on the host's,
// the window size is there from its first instruction, input reaches it,
// a Ctrl-C reaches it once, and rawns exits with its
// status, its terminal restored. With --init too: PID 1 opens the console,
// the command inherits it; also in a user namespace, where PID 1 runs on
// rawns's memory.
func TestRunTTYOwnDevpts(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	bin := rawnsBin(t)
	root := testutil.BusyboxRoot(t)
	var host unix.Stat_t
	if err := unix.Stat("/dev/pts", &host); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		init bool
		ns   []string // a user namespace: --init's PID 1 shares rawns's memory
	}{{"plain", false, nil}, {"init", true, nil}, {"init-userns", true, []string{"--ns", "user,pid,uts,mnt", "--map-root-user"}}} {
		init := c.init
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"run", "-t"}, c.ns...)
			if init {
				args = append(args, "--init")
			}
			args = append(args, "--rootfs", root, "--dev", "/dev", "--", "/bin/sh", "-c",
				`echo "size $(busybox stty size)"; tty; echo /dev/pts/*; trap 'echo "INT $((n=n+1))"' INT; echo ready; read x; echo "got $x"; while [ "${n:-0}" = 0 ]; do sleep 0.05; done; sleep 0.2; exit 4`)
			master, before, text, cmd := testutil.OnPTY(t, bin, args...)
			testutil.WaitText(t, text, "ready")
			if tm, _ := unix.IoctlGetTermios(int(master.Fd()), unix.TCGETS); tm.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != 0 {
				t.Errorf("rawns's terminal is not in raw mode while the command runs: lflag %#x", tm.Lflag)
			}
			procs := testutil.Descendants(cmd.Process.Pid)
			if want := map[bool]int{false: 1, true: 2}[init]; len(procs) != want {
				t.Errorf("%d processes below rawns (%v), want %d", len(procs), procs, want)
			}
			for _, pid := range procs {
				var fd0, pts unix.Stat_t
				if err := unix.Stat(fmt.Sprintf("/proc/%d/fd/0", pid), &fd0); err != nil {
					t.Fatal(err)
				}
				if err := unix.Stat(fmt.Sprintf("/proc/%d/root/dev/pts", pid), &pts); err != nil {
					t.Fatal(err)
				}
				if fd0.Dev == host.Dev || fd0.Dev != pts.Dev {
					t.Errorf("pid %d: fd 0 on dev %d; the host's /dev/pts is %d, the container's %d", pid, fd0.Dev, host.Dev, pts.Dev)
				}
			}
			master.Write([]byte("hello\r"))
			// The whole line: a ^C echoed before its CR LF would split it.
			testutil.WaitText(t, text, "got hello\r\n")
			master.Write([]byte{3}) // ^C: one SIGINT for the command, from its own terminal
			if code := testutil.ExitCode(t, cmd); code != 4 {
				t.Errorf("exit %d, want the command's 4:\n%s", code, text())
			}
			testutil.Drained(t, master) // the last bytes through the master
			got := text()
			for _, want := range []string{"size 24 80\r\n/dev/pts/0\r\n/dev/pts/0 /dev/pts/ptmx\r\n", "got hello\r\n"} {
				if !strings.Contains(got, want) {
					t.Errorf("no %q on the terminal:\n%q", want, got)
				}
			}
			if n := strings.Count(got, "INT "); n != 1 {
				t.Errorf("one Ctrl-C reached the command %d times, want 1:\n%q", n, got)
			}
			testutil.CheckRestored(t, master, before)
		})
	}
}

// TestRunTTYConsoleError: a console the child cannot open (a tmpfs over
// the /dev that --dev made) is one line naming --tty, the step and the
// errno, exit 125, the terminal as it was, nothing started.
func TestRunTTYConsoleError(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	bin := rawnsBin(t)
	root := testutil.BusyboxRoot(t)
	master, before, text, cmd := testutil.OnPTY(t, bin, "run", "-t", "--rootfs", root, "--dev", "/dev", "--tmpfs", "/dev", "--", "/bin/echo", "ran")
	if code := testutil.ExitCode(t, cmd); code != 125 {
		t.Errorf("exit %d, want 125", code)
	}
	time.Sleep(50 * time.Millisecond)
	got := text()
	want := "rawns run: --tty: child: console: open /dev/ptmx: no such file or directory (the command's /dev has no ptmx"
	if !strings.HasPrefix(got, want) || strings.Count(got, "\n") != 1 || strings.Contains(got, "ran") {
		t.Errorf("the terminal shows %q; want one line starting %q", got, want)
	}
	testutil.CheckRestored(t, master, before)
}
