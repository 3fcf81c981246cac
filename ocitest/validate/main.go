// Command oci-validate runs the OCI runtime conformance suite, the
// validation programs of github.com/opencontainers/runtime-tools v0.9.0
// (built by build-suite.sh beside this file), against one or more
// runtimes in the same run, and prints a per-test table with totals.
// `make oci-validate` builds both and runs it; docs/oci.md "Conformance"
// holds the table it writes with -doc.
//
// Each validation program creates containers through the command named by
// $RUNTIME, runs the suite's runtimetest inside them, and prints TAP. A
// test counts as passed when it printed at least one "ok" line and no
// "not ok" line and exited 0 (a program that dies before its first line,
// as the hooks tests do with every runtime here, has failed; so has one
// that prints its ok lines and then fails the test with util.Fatal, as
// process_capabilities_fail does when the runtime accepted CAP_TEST).
//
// What the harness adds around each program, and why:
//   - a mount namespace of its own, with / made private: linux_ns_itype
//     makes a container without a mount namespace, so the runtime's mounts
//     for it land in the caller's; run bare, they stayed on the host.
//   - a state directory of its own per run (a two-line wrapper passes
//     --root to the runtime), so that what a test leaves behind is found
//     and deleted exactly, and runs in parallel never meet.
//   - TMPDIR of its own per run: the bundles the suite unpacks go there
//     and are removed after the run.
//   - for crun on a hybrid cgroup layout (cgroup v1 controllers with
//     cgroup2 on /sys/fs/cgroup/unified, this development host's), an
//     empty tmpfs over /sys/fs/cgroup/unified inside that mount namespace:
//     crun 1.8 refuses the hybrid layout ("cgroups in hybrid mode not
//     supported") and works on the pure v1 view.
//
// The tests that use cgroups (linux_cgroups_*, delete_resources,
// delete_only_create_resources) name the same cgroup paths (/cgrouptest,
// testdir/cgrouptest) for every runtime, so they run one at a time in a
// lane of their own; the rest run in parallel.
// Results vary from run to run (runtime-tools#724, mostly the suite's
// one-second status polling racing a container's exit): a failed test is
// run again, up to -retries times (three more for killsig and poststart,
// whose own races a fast runtime loses more often: racy in run.go), and a
// test that passed only on a rerun is marked so in the table.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == hideUnifiedArg {
		hideUnifiedAndExec(os.Args[2:])
		return
	}
	os.Exit(Main(os.Args[1:]))
}

// Main is the command without os.Exit, for its tests.
func Main(args []string) int {
	fs := flag.NewFlagSet("oci-validate", flag.ContinueOnError)
	var (
		suite    = fs.String("suite", "bin/runtime-tools", "`DIR` build-suite.sh built the suite into")
		jobs     = fs.Int("j", 4, "programs run at once (the cgroup tests always one at a time)")
		retries  = fs.Int("retries", 2, "times a failed test is run again before it counts as failed, when another runtime did better on it or explain.go has no word for it")
		only     = fs.String("run", "", "run only the tests whose names match this `REGEXP`")
		timeout  = fs.Duration("timeout", 2*time.Minute, "time one validation program may take")
		jsonOut  = fs.String("json", "", "write the results to `FILE` as JSON")
		doc      = fs.String("doc", "", "rewrite the generated part of `FILE`'s Conformance section (docs/oci.md) with this run's table")
		superset = fs.String("superset", "", "fail unless runtime `NAME` passes every test another runtime of the run passes, and every test it fails is explained")
		keep     = fs.Bool("keep", false, "keep each run's work directory (bundles, state) under DIR/work")
		verbose  = fs.Bool("v", false, "print each run as it ends")
		from     = fs.String("from", "", "run nothing: print (and with -doc write) the table of an earlier run's -json `FILE` (a VM's, say)")
		rts      runtimeList
	)
	fs.Var(&rts, "runtime", "`NAME=PATH` of a runtime to test (repeatable); a bare NAME is looked up in $PATH")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *from != "" {
		return fromJSON(*from, *doc, *superset)
	}
	if len(rts) == 0 {
		fmt.Fprintln(os.Stderr, "oci-validate: no runtime to test: give -runtime NAME=PATH (e.g. -runtime rawns=bin/rawns-oci -runtime runc)")
		return 2
	}
	if *jobs < 1 || *retries < 0 {
		fmt.Fprintln(os.Stderr, "oci-validate: -j must be at least 1 and -retries at least 0")
		return 2
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "oci-validate: needs root (the suite creates containers, mounts and cgroups)")
		return 1
	}
	dir, err := filepath.Abs(*suite)
	if err != nil {
		fmt.Fprintln(os.Stderr, "oci-validate:", err)
		return 1
	}
	tests, err := listTests(dir, *only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "oci-validate:", err)
		return 1
	}
	host := describeHost()
	for i := range rts {
		if err := rts[i].resolve(host); err != nil {
			fmt.Fprintln(os.Stderr, "oci-validate:", err)
			return 1
		}
	}
	fmt.Fprintf(os.Stderr, "oci-validate: %d tests x %d runtimes (%s), %d at once, on %s\n",
		len(tests), len(rts), rts.names(), *jobs, host)

	start := time.Now()
	h := &harness{suite: dir, timeout: *timeout, keep: *keep, verbose: *verbose,
		strict: map[string]bool{*superset: *superset != ""}, leaks: map[string]int{}}
	// What an interrupted earlier run left at the suite's fixed cgroup
	// paths would fail the cgroup tests: remove it first.
	if old := findCgroups(nil, true); len(old) > 0 {
		fmt.Fprintf(os.Stderr, "oci-validate: removing cgroups an earlier run left: %v\n", old)
		if stuck := removeCgroups(old); len(stuck) > 0 {
			fmt.Fprintf(os.Stderr, "oci-validate: cannot remove %v\n", stuck)
			return 1
		}
	}
	res := h.runAll(tests, rts, *jobs, *retries)
	took := time.Since(start).Round(time.Second)

	rep := &report{Host: host, Runtimes: rts, Tests: tests, Results: res, Took: took, When: time.Now().UTC()}
	rep.printText(os.Stdout)
	fmt.Fprintf(os.Stderr, "oci-validate: took %v; logs in %s\n", took, filepath.Join(dir, "logs"))

	status := 0
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "\t")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "oci-validate:", err)
			status = 1
		}
	}
	if *doc != "" {
		if err := rep.writeDoc(*doc); err != nil {
			fmt.Fprintln(os.Stderr, "oci-validate:", err)
			status = 1
		}
	}
	for _, rt := range rts {
		if n := h.leaks[rt.Name]; n > 0 {
			fmt.Fprintf(os.Stderr, "oci-validate: %d runs of %s left containers or cgroups behind (removed by the harness; -v lists them)\n", n, rt.Name)
			if h.strict[rt.Name] {
				status = 1
			}
		}
	}
	if *superset != "" {
		if problems := rep.supersetProblems(*superset); len(problems) > 0 {
			for _, p := range problems {
				fmt.Fprintln(os.Stderr, "oci-validate:", p)
			}
			status = 1
		}
	}
	return status
}

// runtimeList is the -runtime flag: NAME=PATH, repeatable.
type runtimeList []Runtime

// Runtime is one runtime under test.
type Runtime struct {
	Name    string `json:"name"`
	Path    string `json:"path"`
	Version string `json:"version"`
	// HideUnified: the runs cover /sys/fs/cgroup/unified (crun on a hybrid
	// cgroup layout, see the package doc).
	HideUnified bool `json:"hideUnified,omitempty"`
}

func (l *runtimeList) String() string { return l.names() }

func (l *runtimeList) names() string {
	var s []string
	for _, r := range *l {
		s = append(s, r.Name)
	}
	return strings.Join(s, ", ")
}

func (l *runtimeList) Set(v string) error {
	name, path, ok := strings.Cut(v, "=")
	if !ok {
		path = v
		name = filepath.Base(v)
	}
	if name == "" || path == "" || strings.ContainsAny(name, "/ ") {
		return fmt.Errorf("%q: want NAME=PATH, e.g. rawns=bin/rawns-oci", v)
	}
	for _, r := range *l {
		if r.Name == name {
			return fmt.Errorf("runtime %q given twice", name)
		}
	}
	*l = append(*l, Runtime{Name: name, Path: path})
	return nil
}

// listTests returns the suite's validation programs, sorted, those
// matching only if it is not empty.
func listTests(dir, only string) ([]string, error) {
	for _, f := range []string{"runtimetest", "rootfs-" + runtime.GOARCH + ".tar.gz"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return nil, fmt.Errorf("the suite in %s is not built (%v): run ocitest/validate/build-suite.sh %s, or make oci-validate", dir, err, dir)
		}
	}
	ents, err := os.ReadDir(filepath.Join(dir, "validation"))
	if err != nil {
		return nil, err
	}
	match, err := matcher(only)
	if err != nil {
		return nil, fmt.Errorf("-run %q: %v", only, err)
	}
	var tests []string
	for _, e := range ents {
		if e.Type().IsRegular() && match(e.Name()) {
			tests = append(tests, e.Name())
		}
	}
	if len(tests) == 0 {
		return nil, fmt.Errorf("no validation program in %s matches -run %q", dir, only)
	}
	return tests, nil
}

// fromJSON prints the table of an earlier run's JSON report, writes it to
// doc when given, and checks -superset against it.
func fromJSON(path, doc, superset string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "oci-validate:", err)
		return 1
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		fmt.Fprintf(os.Stderr, "oci-validate: %s: %v\n", path, err)
		return 1
	}
	rep.printText(os.Stdout)
	if doc != "" {
		if err := rep.writeDoc(doc); err != nil {
			fmt.Fprintln(os.Stderr, "oci-validate:", err)
			return 1
		}
	}
	if superset != "" {
		if p := rep.supersetProblems(superset); len(p) > 0 {
			for _, x := range p {
				fmt.Fprintln(os.Stderr, "oci-validate:", x)
			}
			return 1
		}
	}
	return 0
}
