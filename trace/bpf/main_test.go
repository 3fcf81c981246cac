package bpf

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// TestMain doubles as a helper process, selected by RAWNS_TRACE_HELPER:
//
//	watch ARGS   run WatchMain(ARGS) and exit with its code
//	load DIR     time LoadExecTracer in this fresh process (minimal BTF
//	             cache in DIR, "" for none), print "load-ns N", exit
func TestMain(m *testing.M) {
	switch os.Getenv("RAWNS_TRACE_HELPER") {
	case "":
		os.Exit(m.Run())
	case "watch":
		os.Exit(WatchMain(helperArgs(), os.Stdout, os.Stderr))
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
