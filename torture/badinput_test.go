//go:build linux && (amd64 || arm64)

package torture_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rawns/rawns/internal/testutil"
)

// TestBadInput: a table of command lines that must be refused. Each case
// asserts the exit code, one line on stderr that names the bad value,
// nothing on stdout, that the command (touch MARKER) never ran, and that
// the host is unchanged. A few boundary cases that must succeed are in the
// table too, so that the table can tell "refused" from "broken".
func TestBadInput(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	tmp := t.TempDir()
	marker := filepath.Join(tmp, "ran")
	// A directory with an executable script named like a command, for the
	// relative-path cases.
	bindir := filepath.Join(tmp, "bin")
	os.Mkdir(bindir, 0o755)
	os.WriteFile(filepath.Join(bindir, "mark"), []byte("#!/bin/sh\ntouch \"$1\"\n"), 0o755)
	touch := []string{"touch", marker}
	h64, h65 := strings.Repeat("h", 64), strings.Repeat("h", 65)
	huge := strings.Repeat("x", 100<<10)
	cases := []struct {
		name string
		args []string // after "run"; nil command means touch MARKER after "--"
		cmd  []string
		dir  string
		code int
		want []string // substrings of the one stderr line; for code 0, none
	}{
		{"no command", []string{"--ns", "pid"}, []string{}, "", 125, []string{"no command given"}},
		{"-- and no command", nil, []string{}, "", 125, []string{"no command given"}},
		{"missing -- before a dashed command", nil, []string{"-touch"}, "", 125, []string{"unknown flag -touch", "put -- before a command"}},
		{"unknown long flag", []string{"--bogus"}, nil, "", 125, []string{"unknown flag --bogus"}},
		{"unknown short flag", []string{"-x"}, nil, "", 125, []string{"unknown flag -x"}},
		{"long flag with one dash", []string{"-ns", "pid"}, nil, "", 125, []string{"unknown flag -ns"}},
		{"duplicated --hostname", []string{"--hostname", "a", "--hostname", "b"}, nil, "", 125, []string{"--hostname given twice"}},
		{"duplicated --ns", []string{"--ns", "pid,uts", "--ns=pid,uts"}, nil, "", 125, []string{"--ns given twice"}},
		{"duplicated bool flag", []string{"--init", "--init"}, nil, "", 125, []string{"--init given twice"}},
		{"bool flag with a value", []string{"--mount-proc=yes"}, nil, "", 125, []string{"--mount-proc takes no value", `"yes"`}},
		{"flag without its value", []string{"--hostname"}, []string{}, "", 125, []string{"--hostname needs a value"}},
		{"empty hostname", []string{"--hostname", ""}, nil, "", 125, []string{"empty hostname"}},
		{"empty hostname with =", []string{"--hostname="}, nil, "", 125, []string{"empty hostname"}},
		{"hostname of 65 bytes", []string{"--hostname", h65}, nil, "", 125, []string{h65, "65 bytes", "at most 64"}},
		{"hostname of 66 bytes in 33 characters", []string{"--hostname", strings.Repeat("é", 33)}, nil, "", 125, []string{strings.Repeat("é", 33), "66 bytes"}},
		{"huge hostname", []string{"--hostname", huge}, nil, "", 125, []string{"102400 bytes"}},
		{"hostname without uts", []string{"--ns", "pid", "--hostname", "web"}, nil, "", 125, []string{`"web"`, "add uts to --ns"}},
		{"empty --ns", []string{"--ns", ""}, nil, "", 125, []string{"empty namespace list"}},
		{"unknown namespace", []string{"--ns", "pid,bogus"}, nil, "", 125, []string{`"bogus"`}},
		{"huge --ns", []string{"--ns", huge}, nil, "", 125, []string{"unknown namespace", `"xxxxxxxx`}},
		{"empty item in --ns", []string{"--ns", "pid,,uts"}, nil, "", 125, []string{`"pid,,uts"`, "empty item"}},
		{"duplicate namespace", []string{"--ns", "pid,uts,pid"}, nil, "", 125, []string{`"pid" given twice`}},
		{"unknown clone style", []string{"--clone", "spoon"}, nil, "", 125, []string{`"spoon"`}},
		{"empty clone style", []string{"--clone", ""}, nil, "", 125, []string{`unknown clone style ""`}},
		{"unknown propagation", []string{"--ns", "mnt", "--propagation", "weird"}, nil, "", 125, []string{`"weird"`}},
		{"propagation without mnt", []string{"--propagation", "private"}, nil, "", 125, []string{"--propagation needs a new mount namespace"}},
		{"mount-proc without pid", []string{"--ns", "uts", "--mount-proc"}, nil, "", 125, []string{"--mount-proc", "add pid to --ns"}},
		{"init without pid", []string{"--ns", "uts", "--init"}, nil, "", 125, []string{"--init", "add pid to --ns"}},
		{"bwrap's --unshare-all", []string{"--unshare-all"}, nil, "", 125, []string{"unknown flag --unshare-all: use --ns all"}},
		{"map-root-user and map-user", []string{"--ns", "user,pid", "--map-root-user", "--map-user", "0"}, nil, "", 125, []string{"--map-root-user already maps"}},
		{"vfork with id maps", []string{"--ns", "user,pid", "--map-root-user", "--clone", "vfork"}, nil, "", 125, []string{"--clone vfork", "use --clone fork or auto"}},
		{"map-user neither a number nor a name", []string{"--ns", "user", "--map-user", "abc"}, nil, "", 125, []string{`"abc" not found in /etc/passwd`, "give a number"}},
		{"map-user count 0", []string{"--ns", "user", "--map-user", "0:0:0"}, nil, "", 125, []string{`"0:0:0"`, "count of 0"}},
		{"map-group with 4 fields", []string{"--ns", "user", "--map-group", "1:2:3:4"}, nil, "", 125, []string{`"1:2:3:4"`}},
		{"map-user 2^32-1", []string{"--ns", "user", "--map-user", "4294967295"}, nil, "", 125, []string{`"4294967295" is not a uid`}},
		{"monotonic without time", []string{"--monotonic", "5"}, nil, "", 125, []string{`--monotonic "5"`, "add time to --ns"}},
		{"monotonic not a number", []string{"--ns", "time", "--monotonic", "abc"}, nil, "", 125, []string{`--monotonic "abc"`}},
		{"boottime NaN", []string{"--ns", "time", "--boottime", "NaN"}, nil, "", 125, []string{`--boottime "NaN"`}},
		{"boottime 1e300", []string{"--ns", "time", "--boottime", "1e300"}, nil, "", 125, []string{`--boottime "1e300"`}},
		{"boottime beyond what a Duration holds", []string{"--ns", "time", "--boottime", "1e11"}, nil, "", 125, []string{`--boottime "1e11"`}},
		{"env with an empty name", []string{"--env", "=x"}, nil, "", 125, []string{`"=x"`, "empty variable name"}},
		{"env copy of an unset variable", []string{"--env", "RAWNS_TORTURE_UNSET"}, nil, "", 125, []string{`--env "RAWNS_TORTURE_UNSET"`, "nothing to copy"}},
		{"env name with a newline", []string{"--env", "A\nB"}, nil, "", 125, []string{`"A\nB"`}},
		{"unsetenv with =", []string{"--unsetenv", "A=B"}, nil, "", 125, []string{`"A=B"`}},
		{"empty unsetenv", []string{"--unsetenv", ""}, nil, "", 125, []string{`--unsetenv ""`}},
		{"empty chdir", []string{"--chdir", ""}, nil, "", 125, []string{"--chdir: empty directory"}},
		{"non-existent chdir", []string{"--chdir", tmp + "/nodir"}, nil, "", 125, []string{"--chdir " + tmp + "/nodir: no such file or directory"}},
		{"chdir to a file", []string{"--chdir", "/etc/passwd"}, nil, "", 125, []string{"--chdir /etc/passwd: not a directory"}},
		{"empty command", nil, []string{""}, "", 127, []string{"empty command name"}},
		{"command not on PATH", nil, []string{"rawns-no-such-command", marker}, "", 127, []string{"rawns-no-such-command: command not found"}},
		{"command not on the given PATH", []string{"--env", "PATH=" + tmp + "/empty"}, touch, "", 127, []string{"touch: command not found in PATH " + tmp + "/empty"}},
		{"relative path, missing", nil, []string{"./rawns-no-such", marker}, tmp, 127, []string{"cannot execute ./rawns-no-such: no such file or directory"}},
		{"relative path through a missing dir", nil, []string{"nodir/mark", marker}, tmp, 127, []string{"cannot execute nodir/mark"}},
		{"absolute path, missing", nil, []string{tmp + "/missing", marker}, "", 127, []string{"cannot execute " + tmp + "/missing"}},
		{"absolute path of a directory", nil, []string{bindir, marker}, "", 126, []string{"cannot execute " + bindir + ": permission denied"}},
		{"unknown subcommand", nil, nil, "", 125, []string{`unknown command "frobnicate"`}},

		// Boundaries that must work.
		{"hostname of 64 bytes", []string{"--hostname", h64}, touch, "", 0, nil},
		{"command without --", []string{"--ns", "pid,uts"}, []string{"touch", marker}, "", 0, nil},
		{"relative command path", nil, []string{"bin/mark", marker}, tmp, 0, nil},
		{"relative path after --chdir", []string{"--chdir", bindir}, []string{"./mark", marker}, "", 0, nil},
		{"absolute command path", nil, []string{bindir + "/mark", marker}, "", 0, nil},
	}
	if len(cases) < 30+5 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			testutil.CheckHostUnchanged(t)
			os.Remove(marker)
			args := append([]string{"run"}, c.args...)
			switch {
			case c.name == "unknown subcommand":
				args = []string{"frobnicate", "--", "touch", marker}
			case c.cmd == nil:
				args = append(append(args, "--"), touch...)
			case c.name == "command without --" || c.name == "missing -- before a dashed command" || c.name == "no command":
				args = append(args, c.cmd...)
			case c.name == "flag without its value":
			default:
				args = append(append(args, "--"), c.cmd...)
			}
			r := rawnsRun(t, runOpts{dir: c.dir}, args...)
			_, err := os.Stat(marker)
			ran := err == nil
			if c.code == 0 {
				if r.code != 0 || r.stderr != "" || !ran {
					t.Errorf("rawns %q: %v, command ran: %v; want exit 0, no stderr, and the command run", args, r, ran)
				}
				return
			}
			if r.code != c.code || r.stdout != "" {
				t.Errorf("rawns %q: %v; want exit %d", shorten(args), r, c.code)
			}
			if ran {
				t.Errorf("rawns %q: the command ran", shorten(args))
			}
			oneLine(t, fmt.Sprintf("rawns %q", shorten(args)), r.stderr, c.want...)
		})
	}
}

// shorten keeps huge arguments readable in failure messages.
func shorten(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if len(a) > 80 {
			a = fmt.Sprintf("%s... (%d bytes)", a[:40], len(a))
		}
		out[i] = a
	}
	return out
}
