//go:build linux && (amd64 || arm64)

package clone_test

import (
	"os"
	"os/exec"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// TestMain doubles as the helper of TestStartOnMainThread: called with
// RAWNS_TEST_START_ON_MAIN=1 it calls Start from the main goroutine, which
// runs on the main thread before anything blocked, and exits 0 if the
// spawner was not used, 3 if it was, 4 if it was not on the main thread.
// init keeps TestStartOnMainThread's helper on the main thread: locked in
// an init function, the main goroutine runs main, and so TestMain, there
// (runtime.LockOSThread); locked only in TestMain, it may already have
// moved to another thread, as it did once under -race on arm64.
func init() {
	if os.Getenv("RAWNS_TEST_START_ON_MAIN") == "1" {
		runtime.LockOSThread()
	}
}

func TestMain(m *testing.M) {
	if os.Getenv("RAWNS_TEST_START_ON_MAIN") == "1" {
		if unix.Gettid() != unix.Getpid() {
			os.Exit(4)
		}
		p, err := clone.Start(&clone.Spec{Path: "/bin/true", Namespaces: clone.NewPID})
		if err != nil {
			os.Exit(5)
		}
		p.Wait()
		if clone.SpawnerStarted() {
			os.Exit(3)
		}
		// And from another thread, the spawner.
		done := make(chan bool)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			if unix.Gettid() == unix.Getpid() {
				done <- false
				return
			}
			p, err := clone.Start(&clone.Spec{Path: "/bin/true", Namespaces: clone.NewPID})
			if err == nil {
				p.Wait()
			}
			done <- err == nil && clone.SpawnerStarted()
		}()
		if !<-done {
			os.Exit(6)
		}
		os.Exit(0)
	}
	os.Exit(testutil.Run(m))
}

// TestStartOnMainThread: Start clones on the caller's thread when that is
// the main thread, which lives as long as the process (no hand-off to the
// spawner), and hands off from any other thread.
func TestStartOnMainThread(t *testing.T) {
	testutil.RequireRoot(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run", "^$")
	cmd.Env = append(os.Environ(), "RAWNS_TEST_START_ON_MAIN=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("helper: %v (3: the spawner was used from the main thread; 4: not on the main thread; 6: not from another thread)\n%s", err, out)
	}
}
