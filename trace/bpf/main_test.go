package bpf

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/testutil"
)

// TestMain doubles as a helper process, selected by RAWNS_TRACE_HELPER:
//
//	watch ARGS   run WatchMain(ARGS) and exit with its code
//	load DIR     time LoadExecTracer in this fresh process (minimal BTF
//	             cache in DIR, "" for none), print "load-ns N", exit
//	setns-flood  RAWNS_TRACE_HELPER_N setns(2) calls into this process's
//	             own UTS namespace (each one a watcher event), exit 0
func TestMain(m *testing.M) {
	switch os.Getenv("RAWNS_TRACE_HELPER") {
	case "":
		os.Exit(testutil.Run(m))
	case "watch":
		os.Exit(WatchMain(helperArgs(), os.Stdout, os.Stderr))
	case "setns-flood":
		n, _ := strconv.Atoi(os.Getenv("RAWNS_TRACE_HELPER_N"))
		runtime.LockOSThread()
		fd, err := unix.Open("/proc/self/ns/uts", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		for i := 0; err == nil && i < n; i++ {
			err = unix.Setns(fd, unix.CLONE_NEWUTS)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "setns-flood:", err)
			os.Exit(1)
		}
		os.Exit(0)
	case "load":
		t0 := time.Now()
		tr, err := loadExecTracer(os.Getpid(), loadOpts{first: hookBTF, btfCacheDir: os.Getenv("RAWNS_TRACE_HELPER_DIR")})
		d := time.Since(t0)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		tr.Close()
		fmt.Printf("load-ns %d %s\n", d.Nanoseconds(), tr.Hook())
		os.Exit(0)
	}
	os.Exit(2)
}

// helperArgs returns the arguments after "--" on the command line.
func helperArgs() []string {
	for i, a := range os.Args {
		if a == "--" {
			return os.Args[i+1:]
		}
	}
	return nil
}
