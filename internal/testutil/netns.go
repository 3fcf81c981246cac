package testutil

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// InOwnNetns is for a TestMain whose tests make links, tables and sysctls:
// as root, the first call runs the test binary again in a network and
// mount namespace of its own (env=1 marks the inner run) and exits with
// its code, so that what the tests make lives there and vanishes with it.
// It returns in the inner run, and for a non-root caller (whose tests
// skip).
func InOwnNetns(env string) {
	if os.Getenv(env) == "1" || os.Geteuid() != 0 {
		return
	}
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), env+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		os.Exit(ee.ExitCode())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "running the tests in namespaces of their own:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// WaitGone waits, for at most 10 s, until gone reports true: the kernel
// frees a network namespace, and the links in it, asynchronously.
func WaitGone(t testing.TB, what string, gone func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !gone(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s is still there after 10 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
