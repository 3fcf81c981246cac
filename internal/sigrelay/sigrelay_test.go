//go:build linux && (amd64 || arm64)

package sigrelay

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// relayChild starts a shell that reports the signals it traps, and returns
// it once the traps are in place, with a pidfd for it. It is in this
// process's process group unless ownGroup.
func relayChild(t *testing.T, ownGroup ...bool) (*exec.Cmd, *bufio.Reader, int) {
	t.Helper()
	cmd := exec.Command("sh", "-c", `for s in USR1 USR2 TERM; do trap "echo got $s" $s; done; echo ready; while :; do sleep 0.02; done`)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: len(ownGroup) > 0 && ownGroup[0]}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	r := bufio.NewReader(out)
	if line := readLine(t, r); line != "ready" {
		t.Fatalf("child said %q, want ready", line)
	}
	fd, err := unix.PidfdOpen(cmd.Process.Pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return cmd, r, fd
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	type res struct {
		s   string
		err error
	}
	c := make(chan res, 1)
	go func() {
		s, err := r.ReadString('\n')
		c <- res{strings.TrimSpace(s), err}
	}()
	select {
	case x := <-c:
		if x.err != nil && x.err != io.EOF {
			t.Fatal(x.err)
		}
		return x.s
	case <-time.After(20 * time.Second):
		t.Fatal("no line from the child in 20 s: the signal was not relayed")
	}
	return ""
}

func catch(t *testing.T, sigs ...unix.Signal) {
	t.Helper()
	got, err := Catch(sigs...)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Signals(), sigs) {
		t.Fatalf("Catch(%v) caught %v", sigs, got)
	}
	t.Cleanup(func() {
		if err := Restore(); err != nil {
			t.Error(err)
		}
	})
}

func waitHeld(t *testing.T, sig unix.Signal) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !Held().Has(sig) {
		if time.Now().After(deadline) {
			t.Fatalf("%v sent to self is not held: held %v", sig, Held())
		}
		time.Sleep(time.Millisecond)
	}
}

// A signal that arrives before there is a target is held and relayed by
// Target; later ones are relayed by the handler itself.
func TestHeldThenRelayed(t *testing.T) {
	catch(t, unix.SIGUSR1, unix.SIGUSR2, unix.SIGTERM)
	unix.Kill(os.Getpid(), unix.SIGUSR1)
	waitHeld(t, unix.SIGUSR1)

	cmd, out, fd := relayChild(t)
	if err := Target(fd, cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if line := readLine(t, out); line != "got USR1" {
		t.Fatalf("after Target the child said %q, want the held SIGUSR1 (got USR1)", line)
	}
	for _, s := range []struct {
		sig  unix.Signal
		name string
	}{{unix.SIGUSR2, "USR2"}, {unix.SIGTERM, "TERM"}} {
		unix.Kill(os.Getpid(), s.sig)
		if line := readLine(t, out); line != "got "+s.name {
			t.Fatalf("sent %v to self; the child said %q, want got %s", s.sig, line, s.name)
		}
	}
	// The caller's pidfd is its own: the relay duplicated it.
	unix.Close(fd)
	unix.Kill(os.Getpid(), unix.SIGUSR2)
	if line := readLine(t, out); line != "got USR2" {
		t.Fatalf("after closing the caller's pidfd the child said %q, want got USR2", line)
	}
	Stop()
	// Dropped: the process lives on (the runtime's default for SIGTERM
	// would kill it) and the child hears nothing.
	unix.Kill(os.Getpid(), unix.SIGTERM)
	unix.Kill(os.Getpid(), unix.SIGUSR1)
	time.Sleep(100 * time.Millisecond)
	unix.Kill(cmd.Process.Pid, unix.SIGUSR2)
	if line := readLine(t, out); line != "got USR2" {
		t.Fatalf("after Stop the child said %q; signals sent after Stop must be dropped", line)
	}
}

// Restore gives the signals back to the runtime: os/signal sees them again.
func TestRestore(t *testing.T) {
	if _, err := Catch(unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if _, err := Catch(unix.SIGUSR2); err != ErrBusy {
		t.Fatalf("second Catch: %v, want ErrBusy", err)
	}
	if err := Restore(); err != nil {
		t.Fatal(err)
	}
	var act sigaction
	if err := rtSigaction(unix.SIGUSR1, nil, &act); err != nil {
		t.Fatal(err)
	}
	if act.handler == handlerPC() {
		t.Fatal("SIGUSR1 still has the relay's handler after Restore")
	}
	if err := Target(0, 1); err == nil {
		t.Fatal("Target after Restore succeeded")
	}
}

func TestCatchRejects(t *testing.T) {
	for _, sig := range []unix.Signal{0, unix.SIGKILL, unix.SIGSTOP, unix.SIGSEGV, unix.SIGURG, unix.SIGCHLD, unix.SIGPROF, 32, 64} {
		if _, err := Catch(sig); err == nil {
			Restore()
			t.Errorf("Catch(%d) succeeded", int(sig))
		}
	}
	if ncaught != 0 {
		t.Fatal("a refused Catch left handlers installed")
	}
}

// A signal ignored at start stays ignored and is not caught, so that the
// child inherits the ignore. The test binary runs itself under a shell
// that ignores SIGHUP, as nohup does.
func TestIgnoredAtStartStaysIgnored(t *testing.T) {
	if os.Getenv("SIGRELAY_HELPER") == "ignored" {
		got, err := Catch(unix.SIGHUP, unix.SIGUSR1)
		if err != nil {
			t.Fatal(err)
		}
		if got != 1<<unix.SIGUSR1 {
			t.Fatalf("caught %v, want only SIGUSR1 (SIGHUP was ignored at start)", got)
		}
		var act sigaction
		rtSigaction(unix.SIGHUP, nil, &act)
		if act.handler != sigIgn {
			t.Fatalf("SIGHUP handler %#x after Catch, want SIG_IGN", act.handler)
		}
		Restore()
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", `trap "" HUP; exec "$0" -test.run '^TestIgnoredAtStartStaysIgnored$' -test.v`, exe)
	cmd.Env = append(os.Environ(), "SIGRELAY_HELPER=ignored")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("helper: %v\n%s", err, out)
	}
}

// The handler runs on whatever thread the kernel picks, the runtime's own
// included, while goroutines allocate and the garbage collector runs: a
// flood of signals held, relayed and dropped must leave the process
// healthy, and the last one must arrive.
func TestFloodWhileRuntimeBusy(t *testing.T) {
	catch(t, unix.SIGUSR1, unix.SIGUSR2)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var keep [][]byte
			for {
				select {
				case <-stop:
					return
				default:
				}
				keep = append(keep, make([]byte, 4096))
				if len(keep) > 256 {
					keep = nil
					runtime.GC()
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()

	for i := 0; i < 2000; i++ {
		unix.Kill(os.Getpid(), unix.SIGUSR1)
	}
	waitHeld(t, unix.SIGUSR1)
	cmd, out, fd := relayChild(t)
	if err := Target(fd, cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if line := readLine(t, out); line != "got USR1" {
		t.Fatalf("child said %q, want got USR1", line)
	}
	for i := 0; i < 2000; i++ {
		unix.Kill(os.Getpid(), unix.SIGUSR1)
	}
	unix.Kill(os.Getpid(), unix.SIGUSR2)
	for {
		line := readLine(t, out)
		if line == "got USR2" {
			break
		}
		if line != "got USR1" {
			t.Fatalf("child said %q", line)
		}
	}
	Stop()
	for i := 0; i < 2000; i++ {
		unix.Kill(os.Getpid(), unix.SIGUSR2)
	}
}

// A signal the kernel sent (the terminal's Ctrl-C goes to the whole
// foreground process group) is not relayed to a target in our own process
// group, which got its own copy; it is relayed to a target in another
// group, and held like any other before there is a target.
func TestKernelSignals(t *testing.T) {
	catch(t, unix.SIGUSR1, unix.SIGUSR2)

	// Same group: dropped. SIGUSR2 from kill(2) (SI_USER) still goes, and
	// is the first thing the child reports.
	_, out, fd := relayChild(t)
	if err := Target(fd, ownPID(t, fd)); err != nil {
		t.Fatal(err)
	}
	sendAsKernel(t, unix.SIGUSR1)
	time.Sleep(100 * time.Millisecond)
	unix.Kill(os.Getpid(), unix.SIGUSR2)
	if line := readLine(t, out); line != "got USR2" {
		t.Fatalf("same process group: the child said %q first, want got USR2 (the kernel's SIGUSR1 must not be relayed)", line)
	}
	Stop()
	Restore()

	// Another group: relayed; and held before Target.
	catch(t, unix.SIGUSR1, unix.SIGUSR2)
	sendAsKernel(t, unix.SIGUSR2)
	waitHeld(t, unix.SIGUSR2)
	_, out, fd = relayChild(t, true)
	if err := Target(fd, ownPID(t, fd)); err != nil {
		t.Fatal(err)
	}
	if line := readLine(t, out); line != "got USR2" {
		t.Fatalf("held kernel signal: the child said %q, want got USR2", line)
	}
	sendAsKernel(t, unix.SIGUSR1)
	if line := readLine(t, out); line != "got USR1" {
		t.Fatalf("another process group: the child said %q, want got USR1", line)
	}
}

// ownPID returns the pid behind a pidfd (the Pid line of its fdinfo).
func ownPID(t *testing.T, fd int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Pid:"); ok {
			pid, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
	}
	t.Fatalf("no Pid in fdinfo of %d", fd)
	return 0
}

// Notify reports every signal that reaches the relay while there is a
// target, one byte each: the held ones at Target, the relayed ones, and a
// kernel signal that is not relayed (the command got its own copy); after
// Stop, none.
func TestNotify(t *testing.T) {
	catch(t, unix.SIGUSR1, unix.SIGUSR2)
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	reports := func(want int) []byte {
		t.Helper()
		var got []byte
		deadline := time.Now().Add(10 * time.Second)
		for len(got) < want && time.Now().Before(deadline) {
			buf := make([]byte, 16)
			if n, _ := unix.Read(p[0], buf); n > 0 {
				got = append(got, buf[:n]...)
			} else {
				time.Sleep(time.Millisecond)
			}
		}
		return got
	}
	unix.Kill(os.Getpid(), unix.SIGUSR1)
	waitHeld(t, unix.SIGUSR1)
	Notify(p[1])
	_, out, fd := relayChild(t)
	if err := Target(fd, ownPID(t, fd)); err != nil {
		t.Fatal(err)
	}
	if got := reports(1); string(got) != "\x0a" {
		t.Fatalf("held SIGUSR1: reports %v, want [10]", got)
	}
	readLine(t, out) // got USR1
	unix.Kill(os.Getpid(), unix.SIGUSR2)
	if got := reports(1); string(got) != "\x0c" {
		t.Fatalf("relayed SIGUSR2: reports %v, want [12]", got)
	}
	readLine(t, out)
	sendAsKernel(t, unix.SIGUSR1) // same group: not relayed, but reported
	if got := reports(1); string(got) != "\x0a" {
		t.Fatalf("kernel SIGUSR1: reports %v, want [10]", got)
	}
	Stop()
	unix.Kill(os.Getpid(), unix.SIGUSR2)
	time.Sleep(50 * time.Millisecond)
	if n, _ := unix.Read(p[0], make([]byte, 16)); n > 0 {
		t.Errorf("a signal after Stop was reported")
	}
}
