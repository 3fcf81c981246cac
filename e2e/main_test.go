//go:build e2e

package e2e

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The test binary runs as three processes, told apart by stageEnv:
//
//	host  (no stage)  on the host: makes the temporary directory, snapshots
//	                  what the engines could leave on the host, starts init
//	                  in new namespaces, and checks the host after it is gone.
//	init  ("init")    PID 1 of the new PID namespace: sets the mounts up,
//	                  starts run, reaps every orphan the engines leave
//	                  (conmon and the shims daemonize), and reports any
//	                  process or mount still there when run ends.
//	run   ("run")     the tests themselves (m.Run).
//
// A PID namespace makes the end certain: when init exits, the kernel kills
// whatever is left in it (pid_namespaces(7)). The checks run before that,
// so a leak is reported, not hidden.
const (
	stageEnv     = "RAWNS_E2E_STAGE"
	tmpEnv       = "RAWNS_E2E_TMP"
	startEnv     = "RAWNS_E2E_START" // Unix nanoseconds when the host stage began
	testSliceEnv = "RAWNS_E2E_TESTSLICE"
)

// sandboxFlags are the namespaces the engines run in. A network namespace
// holds their bridges, veths and iptables/nft rules; a mount namespace
// their overlay, shm, netns and bind mounts; a PID namespace their
// processes; UTS and IPC for the hostnames and queues they may set.
const sandboxFlags = unix.CLONE_NEWNS | unix.CLONE_NEWNET | unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC

func TestMain(m *testing.M) {
	flag.Parse()
	switch os.Getenv(stageEnv) {
	case "":
		os.Exit(hostStage())
	case "init":
		os.Exit(initStage())
	case "run":
		os.Exit(runStage(m))
	default:
		fmt.Fprintf(os.Stderr, "e2e: unknown %s=%q\n", stageEnv, os.Getenv(stageEnv))
		os.Exit(2)
	}
}

// hostStage is the process go test started.
func hostStage() int {
	start := time.Now()
	if os.Geteuid() != 0 {
		if os.Getenv("RAWNS_REQUIRE_ROOT") == "1" {
			fmt.Fprintln(os.Stderr, "e2e: the engines need root, and RAWNS_REQUIRE_ROOT=1 forbids skipping")
			return 1
		}
		fmt.Println("e2e: skipped: the engines need root (set RAWNS_REQUIRE_ROOT=1 to make this a failure)")
		return 0
	}
	if missing := missingTools(); len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "e2e: missing %s: `make e2e` installs them (e2e/deps.sh)\n", strings.Join(missing, ", "))
		return 1
	}
	tmp, err := os.MkdirTemp("", "rawns-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	before, err := snapshotHost(tmp)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: snapshot of the host:", err)
		return 1
	}
	// critest is built here, on the host, while the engines' tests run in
	// the sandbox (whose network namespace cannot reach the Go module
	// proxy); the CRI test reads the outcome from fd 3.
	buildR, buildW, err := os.Pipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	build := startCritestBuild(tmp, buildW)
	cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
	cmd.Env = append(os.Environ(), stageEnv+"=init", tmpEnv+"="+tmp,
		fmt.Sprintf("%s=%d", startEnv, start.UnixNano()))
	// critest's pods go to /test.slice (cri_test.go): the run removes it at
	// the end only if it made it.
	if _, err := os.Stat("/sys/fs/cgroup/pids/test.slice"); err != nil {
		cmd.Env = append(cmd.Env, testSliceEnv+"=new")
	}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{buildR}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: sandboxFlags, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: starting the sandbox:", err)
		build.stop()
		os.RemoveAll(tmp)
		return 1
	}
	buildR.Close()
	ns := sandboxNamespaces(cmd.Process.Pid)
	// go test's own signals (a timeout, ^C) go on to the sandbox's init,
	// which passes them to the tests.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	code := 0
	if err := cmd.Wait(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			fmt.Fprintln(os.Stderr, "e2e:", err)
		}
		code = 1
	}
	signal.Stop(sigs)
	build.stop()
	t0 := time.Now()
	leaks := checkHost(before, tmp, ns)
	for _, l := range leaks {
		fmt.Fprintln(os.Stderr, "e2e: LEAK:", l)
	}
	if len(leaks) > 0 {
		code = 1
		fmt.Fprintf(os.Stderr, "e2e: %d things of the run are left on the host\n", len(leaks))
	}
	if err := removeRunDir(tmp, code != 0); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: LEAK: the run's directory:", err)
		code = 1
	} else if len(leaks) == 0 {
		fmt.Printf("e2e: nothing of the run is left on the host: no process, mount, cgroup, network namespace, link, iptables rule or state directory (checked in %.1fs)\n", time.Since(t0).Seconds())
	}
	fmt.Printf("e2e: total %.0fs\n", time.Since(start).Seconds())
	return code
}

// initStage is PID 1 of the sandbox.
func initStage() int {
	tmp := os.Getenv(tmpEnv)
	if err := setupSandbox(tmp); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: sandbox:", err)
		return 1
	}
	baseline, err := readMounts()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
	cmd.Env = append(os.Environ(), stageEnv+"=run")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	build := os.NewFile(3, "critest build")
	cmd.ExtraFiles = []*os.File{build}
	err = cmd.Start()
	build.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	code := reapUntil(cmd.Process.Pid)

	// What the tests and engines left in the sandbox. The tests stop every
	// engine they start; anything still running or mounted is a leak.
	var leaks []string
	for _, p := range processesExcept(1) {
		leaks = append(leaks, "process "+p+" outlived the tests")
	}
	after, _ := readMounts()
	for _, mnt := range newMounts(baseline, after) {
		leaks = append(leaks, "mount "+mnt+" outlived the engines")
	}
	for _, l := range leaks {
		fmt.Fprintln(os.Stderr, "e2e: LEAK in the sandbox:", l)
	}
	if len(leaks) > 0 {
		code = 1
		syscall.Kill(-1, syscall.SIGKILL)
		reapAll()
		// The killed containers' cgroups would outlive the sandbox: remove
		// them (already reported, by the lines above or by the tests).
		time.Sleep(500 * time.Millisecond)
		cgroupTreeLeaks("/"+filepath.Base(tmp), func(string) bool { return true })
		if os.Getenv(testSliceEnv) == "new" {
			cgroupTreeLeaks("/test.slice", func(string) bool { return true })
		}
	}
	return code
}

// reapUntil waits for every child and orphan of the sandbox until pid
// exits, and returns pid's exit code (128+N if a signal killed it).
func reapUntil(pid int) int {
	for {
		var ws unix.WaitStatus
		p, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e: wait4:", err)
			return 1
		}
		if p != pid {
			continue
		}
		if ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ws.ExitStatus()
	}
}

// reapAll reaps until no child is left.
func reapAll() {
	for {
		var ws unix.WaitStatus
		_, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return
		}
	}
}

// runStage runs the tests, then stops the engines they started.
func runStage(m *testing.M) int {
	sb = newSandbox(os.Getenv(tmpEnv))
	sb.critestPipe = os.NewFile(3, "critest build")
	code := m.Run()
	if !sb.teardown() {
		code = 1
	}
	sb.printStages()
	return code
}

// missingTools lists what the suite needs that is not installed.
func missingTools() []string {
	var missing []string
	for _, p := range []string{
		"/usr/bin/podman", "/usr/bin/conmon", "/usr/bin/containerd", "/usr/bin/ctr",
		"/usr/bin/containerd-shim-runc-v2", "/usr/sbin/dockerd", "/usr/bin/docker",
		"/usr/bin/docker-registry", "/usr/sbin/runc", "/usr/bin/crun", "/usr/lib/cni/bridge",
		"/usr/lib/cni/host-local", "/usr/lib/cni/portmap", "/usr/lib/cni/loopback",
		"/usr/sbin/iptables", "/usr/bin/tini",
	} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	if _, err := os.Stat(filepath.Join(repoRoot(), "bin/rootfs/bin/busybox")); err != nil {
		missing = append(missing, "bin/rootfs (make rootfs)")
	}
	return missing
}

// repoRoot is the module's top directory: go test runs in the package's.
func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Dir(wd)
}
