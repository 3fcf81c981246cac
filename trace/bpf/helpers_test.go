package bpf

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rawns/rawns/trace"
)

// held is a namespaced child started with os/exec, blocked on its stdin
// until release: /proc/PID/ns can be read without racing its exit.
type held struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// spawnHeld starts `sh -c script` in new namespaces given by flags. The
// script is expected to `read x` before doing anything that ends it. With
// CLONE_NEWUSER the child is mapped to root in its user namespace, so it
// keeps its capabilities across exec.
func spawnHeld(t testing.TB, flags uintptr, script string) *held {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags, Pdeathsig: syscall.SIGKILL}
	if flags&syscall.CLONE_NEWUSER != 0 {
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
	}
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start with flags %s: %v", trace.CloneFlagsString(uint64(flags)), err)
	}
	h := &held{cmd: cmd, stdin: in}
	t.Cleanup(func() {
		if h.cmd.ProcessState == nil {
			h.cmd.Process.Kill()
			h.stdin.Close()
			h.cmd.Wait()
		}
	})
	return h
}

func (h *held) pid() int { return h.cmd.Process.Pid }

// release lets the child go on past its `read` and waits for it.
func (h *held) release(t testing.TB) {
	t.Helper()
	if _, err := io.WriteString(h.stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	h.stdin.Close()
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
}

// unrelatedLoop is a process outside the test's process tree (reparented
// away from it before it starts) that execs a uniquely named /bin/true in a
// loop, to check the in-kernel filter.
type unrelatedLoop struct {
	pid   int
	path  string // the unique name it execs
	execs atomic.Int64
	out   *os.File
	in    *os.File
	done  chan struct{}
}

func startUnrelatedLoop(t testing.TB) *unrelatedLoop {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "unrelated-true")
	if err := os.Symlink("/bin/true", path); err != nil {
		t.Fatal(err)
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// The outer sh starts the loop in the background and exits at once, so
	// the loop is reparented (to init or a subreaper) before it is told to go.
	// A background job's stdin is /dev/null, so the go signal comes on fd 3.
	script := `/bin/sh -c 'read go <&3; exec 3<&-; while :; do ` + path + `; echo .; done' & echo $!`
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Stdout, cmd.Stderr = outW, os.Stderr
	cmd.ExtraFiles = []*os.File{inR}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	inR.Close()
	outW.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(outR)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	l := &unrelatedLoop{pid: pid, path: path, out: outR, in: inW, done: make(chan struct{})}
	t.Cleanup(l.stop)
	if ppid := parentOf(t, pid); ppid == os.Getpid() {
		t.Fatalf("loop %d is still our child", pid)
	}
	go func() {
		defer close(l.done)
		for {
			if _, err := br.ReadString('\n'); err != nil {
				return
			}
			l.execs.Add(1)
		}
	}()
	if _, err := io.WriteString(inW, "go\n"); err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *unrelatedLoop) stop() {
	if l.pid > 0 {
		syscall.Kill(l.pid, syscall.SIGKILL)
		l.pid = 0
		l.in.Close()
		<-l.done // EOF once the loop (the last writer) is dead
		l.out.Close()
	}
}

func parentOf(t testing.TB, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
