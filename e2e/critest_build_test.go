//go:build e2e

package e2e

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// critestVersion is the cri-tools release whose critest checks the CRI: the
// newest the Go module proxy serves that still speaks containerd 1.6's CRI
// v1 (cri-tools' own CI ran it against containerd 1.6 and 1.7).
const critestVersion = "v1.34.0"

// critestBuild is the host stage's background build of critest.
type critestBuild struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// startCritestBuild builds critest and ginkgo (e2e/build-critest.sh, cached
// in bin/critest-VERSION/) in the background when the tests that need it will run, and
// writes "ok PATH SECONDS" or "error ..." to w when it ends.
func startCritestBuild(tmp string, w *os.File) *critestBuild {
	b := &critestBuild{done: make(chan struct{})}
	if pat := flag.Lookup("test.run").Value.String(); pat != "" {
		if re, err := regexp.Compile(pat); err == nil && !re.MatchString("TestCRI") {
			fmt.Fprintln(w, "error: not built: -run does not select TestCRI")
			w.Close()
			close(b.done)
			return b
		}
	}
	if err := buildTestImageTools(tmp); err != nil {
		fmt.Fprintln(w, "error:", err)
		w.Close()
		close(b.done)
		return b
	}
	out := filepath.Join(repoRoot(), "bin", "critest-"+critestVersion)
	logPath := filepath.Join(tmp, "critest-build.log")
	b.cmd = exec.Command(filepath.Join(repoRoot(), "e2e", "build-critest.sh"), critestVersion, out)
	b.cmd.Dir = repoRoot()
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	log, err := os.Create(logPath)
	if err == nil {
		b.cmd.Stdout, b.cmd.Stderr = log, log
	}
	t0 := time.Now()
	if err := b.cmd.Start(); err != nil {
		fmt.Fprintln(w, "error:", err)
		w.Close()
		close(b.done)
		return b
	}
	go func() {
		err := b.cmd.Wait()
		if log != nil {
			log.Close()
		}
		if err != nil {
			fmt.Fprintf(w, "error: e2e/build-critest.sh: %v; its log:\n%s\n", err, tail(logPath, 30))
		} else {
			fmt.Fprintf(w, "ok %s %.1f\n", filepath.Join(out, "critest"), time.Since(t0).Seconds())
		}
		w.Close()
		close(b.done)
	}()
	return b
}

// buildTestImageTools builds the pause, webserver and nonewprivs of the CRI
// images (criimages_test.go), static, into TMP/testimages: a second or two.
func buildTestImageTools(tmp string) error {
	for _, prog := range []string{"pause", "webserver", "nonewprivs"} {
		c := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(tmp, "testimages", prog), "./e2e/testimages/"+prog)
		c.Dir = repoRoot()
		c.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := c.CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./e2e/testimages/%s: %v\n%s", prog, err, out)
		}
	}
	return nil
}

// stop kills a build still running (the tests ended first) and waits.
func (b *critestBuild) stop() {
	if b.cmd != nil && b.cmd.Process != nil {
		select {
		case <-b.done:
		default:
			syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	<-b.done
}

var critestOnce struct {
	sync.Once
	path string
	err  error
}

// critestBinary waits for the host stage's build and returns its path.
func critestBinary() (string, error) {
	critestOnce.Do(func() {
		t0 := time.Now()
		b, err := io.ReadAll(sb.critestPipe)
		sb.critestPipe.Close()
		msg := strings.TrimSpace(string(b))
		switch {
		case err != nil:
			critestOnce.err = err
		case strings.HasPrefix(msg, "ok "):
			f := strings.Fields(msg)
			critestOnce.path = f[1]
			fmt.Printf("e2e: critest %s ready (build %ss, waited %.1fs for it)\n", critestVersion, f[2], time.Since(t0).Seconds())
		case msg == "":
			critestOnce.err = fmt.Errorf("critest build: no outcome from the host stage")
		default:
			critestOnce.err = fmt.Errorf("critest build: %s", msg)
		}
	})
	return critestOnce.path, critestOnce.err
}
