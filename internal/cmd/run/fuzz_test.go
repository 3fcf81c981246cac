package run

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/cli"
)

// Fuzz targets for the command line of `rawns run`. Their seeds
// run as ordinary tests; `go test -fuzz=FuzzParseRun .` explores (make
// fuzz). The rule: no input panics, and every input ends in a spec that
// clone.Spec.Validate accepts, or in a one-line error.

// argSep separates the arguments of a fuzz input: a byte no test needs
// inside an argument, so that NUL and newlines can be fuzzed in them.
const argSep = "\x1f"

var parseSeeds = [][]string{
	{"--", "true"},
	{"true"},
	{},
	{"--"},
	{"-v", "--ns", "all", "--init", "--", "sh", "-c", "exit 3"},
	{"--ns", "pid,uts", "--hostname", strings.Repeat("h", 64), "--", "hostname"},
	{"--hostname", strings.Repeat("h", 65), "--", "true"},
	{"--hostname=", "true"},
	{"--ns", "pid", "--hostname", "x", "true"},
	{"--ns", "pid,,uts", "true"},
	{"--ns=user,pid,mnt", "--map-root-user", "--mount-proc", "--", "id"},
	{"--ns", "user", "--map-user", "0:0:1", "--map-group", "1000", "id"},
	{"--ns", "user", "--map-user", "4294967295", "id"},
	{"--ns", "user", "--map-root-user", "--clone", "vfork", "id"},
	{"--ns", "time", "--monotonic", "-1.5", "--boottime", "86400", "true"},
	{"--ns", "time", "--monotonic", "1e11", "true"},
	{"--ns", "time", "--boottime", "NaN", "true"},
	{"--ns", "time", "--boottime", "-Inf", "true"},
	{"--monotonic", "5", "true"},
	{"--env", "A=1", "--env", "A", "--unsetenv", "B", "--clearenv", "env"},
	{"--env", "=x", "true"},
	{"--env", "A\nB", "true"},
	{"--env", "A=\x00", "true"},
	{"--unsetenv", "A=B", "true"},
	{"--chdir", "", "true"},
	{"--chdir", "/tmp", "--", "./x"},
	{"--chdir", "a\x00b", "true"},
	{"--clone", "spoon", "true"},
	{"--propagation", "slave", "--ns", "mnt", "true"},
	{"--mount-proc=1", "true"},
	{"--init", "--init", "true"},
	{"--bogus", "true"},
	{"-x", "true"},
	{"---ns", "pid", "true"},
	{"-", "x"},
	{"--trace", "true"},
	{"--trace=json", "true"},
	{"--", "a\x00b"},
	{"--", "sh\n", "-c"},
	{"--help"},
	{"--ns"},
	// Privilege (security.go).
	{"--cap-drop", "ALL", "--cap-add", "net_raw,CAP_CHOWN", "true"},
	{"--caps", "docker", "--cap-drop", "net_rav", "true"},
	{"--caps", "none", "--cap-add", "ALL", "--user", "1000:1000", "--groups", "", "id"},
	{"--user", "nobody", "--groups", "0,nogroup", "id"},
	{"--user", ":", "true"},
	{"--groups", "1", "true"},
	{"--rlimit", "nofile=10:5", "true"},
	{"--rlimit", "nofile=1:unlimited", "--rlimit", "core=0", "--umask", "077", "true"},
	{"--umask", "8", "true"},
	{"--seccomp", "default", "--cap-drop", "ALL", "--no-new-privs", "--new-session", "true"},
	{"--seccomp", "unconfined", "true"},
	{"--seccomp", "", "true"},
	{"--seccomp", "/nonexistent.json", "true"},
	{"-t", "true"},
}

func FuzzParseRun(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add(strings.Join(s, argSep))
	}
	f.Fuzz(func(t *testing.T, in string) {
		var args []string
		if in != "" {
			args = strings.Split(in, argSep)
		}
		cfg, err := parse(args)
		if err == errHelp {
			return
		}
		if err != nil {
			if msg := err.Error(); msg == "" || strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("parse(%q): error %q is not one non-empty line", args, msg)
			}
			return
		}
		checkConfig(t, args, cfg)
	})
}

// checkConfig checks what parse accepted: the spec is consistent, and
// Validate accepts it once the command is resolved (a NUL byte, which no
// real argv can hold, may be left for Validate to refuse).
func checkConfig(t *testing.T, args []string, cfg *config) {
	t.Helper()
	s := cfg.spec
	if len(cfg.command) == 0 {
		t.Fatalf("parse(%q): accepted without a command", args)
	}
	if s.Hostname != "" && (s.Namespaces&clone.NewUTS == 0 || len(s.Hostname) > clone.MaxHostname) {
		t.Fatalf("parse(%q): hostname %q with namespaces %v", args, s.Hostname, s.Namespaces)
	}
	if s.Namespaces&clone.NewUTS != 0 && s.Hostname == "" {
		t.Fatalf("parse(%q): a new UTS namespace without a hostname", args)
	}
	if s.MountProc && (s.Namespaces&clone.NewMount == 0 || s.Namespaces&clone.NewPID == 0) {
		t.Fatalf("parse(%q): --mount-proc with namespaces %v", args, s.Namespaces)
	}
	if cfg.init && s.Namespaces&clone.NewPID == 0 {
		t.Fatalf("parse(%q): --init without a PID namespace", args)
	}
	// Clock offsets: what was asked, in sign and size (no overflow).
	flags, _, err := cli.Parse(runFlags(), args)
	if err != nil {
		t.Fatalf("parse(%q) accepted what parseFlags refuses: %v", args, err)
	}
	for _, c := range []struct {
		flag string
		got  time.Duration
	}{{"monotonic", s.MonotonicOffset}, {"boottime", s.BoottimeOffset}} {
		if !flags.Has(c.flag) {
			continue
		}
		want, _ := strconv.ParseFloat(flags.Get(c.flag, ""), 64)
		if diff := math.Abs(c.got.Seconds() - want); diff > 1e-6*math.Max(1, math.Abs(want)) {
			t.Fatalf("parse(%q): --%s %v became an offset of %v", args, c.flag, want, c.got)
		}
	}
	s.Path = "/bin/true"
	s.Args = cfg.command
	if err := s.Validate(); err != nil {
		if strings.Contains(strings.Join(args, ""), "\x00") && strings.Contains(err.Error(), "NUL") {
			return
		}
		t.Fatalf("parse(%q) accepted a spec that Validate refuses: %v", args, err)
	}
}

// runFlags returns the flags of every concern as one list.
func runFlags() []cli.Def {
	var defs []cli.Def
	for _, c := range concerns {
		defs = append(defs, c.flags...)
	}
	return defs
}

func FuzzParseFlags(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add(strings.Join(s, argSep))
	}
	f.Fuzz(func(t *testing.T, in string) {
		var args []string
		if in != "" {
			args = strings.Split(in, argSep)
		}
		flags, command, err := cli.Parse(runFlags(), args)
		if err != nil {
			if msg := err.Error(); msg == "" || strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("cli.Parse(%q): error %q is not one non-empty line", args, msg)
			}
			return
		}
		// The command is what follows the flags, as given.
		if len(command) > len(args) || strings.Join(command, argSep) != strings.Join(args[len(args)-len(command):], argSep) {
			t.Fatalf("cli.Parse(%q): command %q is not a suffix of the arguments", args, command)
		}
		defs := runFlags()
		seen := map[string]int{}
		for _, f := range flags.List() {
			var def *cli.Def
			for i := range defs {
				if defs[i].Name == f.Name {
					def = &defs[i]
				}
			}
			if def == nil {
				t.Fatalf("cli.Parse(%q): unknown flag %q accepted", args, f.Name)
			}
			want := map[cli.Kind][]int{cli.Bool: {0}, cli.String: {1}, cli.Repeated: {1}, cli.Optional: {0, 1}, cli.Pair: {2}}[def.Kind]
			if n := len(f.Values); n != want[0] && n != want[len(want)-1] {
				t.Fatalf("cli.Parse(%q): --%s has %d values", args, f.Name, n)
			}
			if seen[f.Name]++; seen[f.Name] > 1 && def.Kind != cli.Repeated && def.Kind != cli.Pair {
				t.Fatalf("cli.Parse(%q): --%s accepted twice", args, f.Name)
			}
		}
	})
}

// TestParseRunNUL: NUL bytes cannot reach rawns through argv (the kernel
// ends each argument at the first NUL), so the CLI tests cannot pass one;
// here the parser and the spec are given them directly. Each is refused
// with a one-line error naming the value, by parse or by Validate.
func TestParseRunNUL(t *testing.T) {
	cases := []struct {
		args []string
		want string // in the error of parse, or of Validate after it
	}{
		{[]string{"--", "a\x00b"}, `"a\x00b" contains a NUL byte`},
		{[]string{"--", "sh", "-c", "echo\x00"}, `argument 2 "echo\x00" contains a NUL byte`},
		{[]string{"--env", "A=1\x002", "true"}, `--env "A=1\x002" contains a NUL byte`},
		{[]string{"--env", "A\x00", "true"}, `A\x00`},
		{[]string{"--unsetenv", "A\x00", "true"}, `--unsetenv "A\x00"`},
		{[]string{"--hostname", "h\x00", "true"}, `hostname "h\x00" contains a NUL byte`},
		{[]string{"--ns", "pid\x00", "true"}, `unknown namespace "pid\x00"`},
		{[]string{"--clone", "fork\x00", "true"}, `unknown clone style "fork\x00"`},
		{[]string{"--ns", "user", "--map-user", "0\x00", "true"}, `"0\x00"`},
		{[]string{"--chdir", "/tmp\x00", "true"}, `working directory "/tmp\x00" contains a NUL byte`},
		{[]string{"--\x00", "true"}, `unknown flag`},
	}
	for _, c := range cases {
		cfg, err := parse(c.args)
		if err == nil {
			cfg.spec.Path, cfg.spec.Args = "/bin/true", cfg.command
			err = cfg.spec.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.ContainsAny(err.Error(), "\n\x00") {
			t.Errorf("parse(%q): %v; want one line containing %q, with the NUL escaped", c.args, err, c.want)
		}
	}
}
