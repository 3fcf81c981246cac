package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/testutil"
)

// status runs cat /proc/self/status under rawns with args and returns its
// fields: the command itself reads them back.
func status(t *testing.T, args ...string) map[string]string {
	t.Helper()
	r := rawnsRun(t, append(append([]string{"run"}, args...), "--", "cat", "/proc/self/status")...)
	if r.code != 0 {
		t.Fatalf("rawns run %q: exit %d: %s", args, r.code, r.stderr)
	}
	m := map[string]string{}
	for _, l := range strings.Split(r.stdout, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

func TestRunCapabilitiesAndPrivileges(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	raw := fmt.Sprintf("%016x", 1<<unix.CAP_NET_RAW)
	zero := fmt.Sprintf("%016x", 0)
	docker := fmt.Sprintf("%016x", uint64(0xa80425fb))
	for _, c := range []struct {
		args []string
		want map[string]string
	}{
		{nil, map[string]string{"NoNewPrivs": "0", "Seccomp": "0", "CapInh": zero, "CapAmb": zero}},
		{[]string{"--cap-drop", "ALL", "--cap-add", "CAP_NET_RAW"}, map[string]string{"CapBnd": raw, "CapPrm": raw, "CapEff": raw, "CapInh": zero, "CapAmb": zero}},
		{[]string{"--caps", "docker"}, map[string]string{"CapBnd": docker, "CapEff": docker, "CapInh": zero, "CapAmb": zero}},
		{[]string{"--caps", "docker", "--cap-drop", "chown,net_raw,setfcap", "--cap-add", "sys_time"},
			map[string]string{"CapBnd": fmt.Sprintf("%016x", uint64(0xa80425fb)&^(1<<unix.CAP_CHOWN|1<<unix.CAP_NET_RAW|1<<unix.CAP_SETFCAP)|1<<unix.CAP_SYS_TIME)}},
		// A non-root user keeps what --cap-add asks, through ambient.
		{[]string{"--user", "1000:1000", "--groups", "5,6", "--cap-drop", "ALL", "--cap-add", "net_raw"},
			map[string]string{"Uid": "1000\t1000\t1000\t1000", "Gid": "1000\t1000\t1000\t1000", "Groups": "5 6", "CapBnd": raw, "CapPrm": raw, "CapEff": raw, "CapInh": raw, "CapAmb": raw}},
		{[]string{"--user", "nobody"}, map[string]string{"Uid": "65534\t65534\t65534\t65534", "CapEff": zero, "CapPrm": zero}},
		{[]string{"--no-new-privs", "--umask", "027"}, map[string]string{"NoNewPrivs": "1", "Umask": "0027"}},
		{[]string{"--seccomp", "default", "--cap-drop", "ALL"}, map[string]string{"Seccomp": "2", "Seccomp_filters": "1", "NoNewPrivs": "1", "CapEff": zero}},
		{[]string{"--seccomp", "default"}, map[string]string{"Seccomp": "2", "NoNewPrivs": "0"}}, // CAP_SYS_ADMIN kept: no no_new_privs needed
		{[]string{"--seccomp", "unconfined"}, map[string]string{"Seccomp": "0"}},
		// With --init, PID 1 is the cloned child, which forks the command
		// after the privilege phase: its clone3 meets the filter's ENOSYS
		// and falls back to clone(2).
		{[]string{"--init", "--seccomp", "default", "--cap-drop", "ALL", "--user", "1000"}, map[string]string{"Seccomp": "2", "NoNewPrivs": "1", "CapEff": zero, "Uid": "1000\t1000\t1000\t1000"}},
	} {
		got := status(t, c.args...)
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("%q: %s is %q, want %q", c.args, k, got[k], v)
			}
		}
	}
}

func TestRunSeccompBlocksAndRlimits(t *testing.T) {
	testutil.RequireRoot(t)
	// The default profile refuses keyctl (and, without CAP_SYS_ADMIN,
	// unshare); the same call works without a profile. keyctl(1) is not
	// installed everywhere, unshare(1) is (util-linux).
	r := rawnsRun(t, "run", "--caps", "docker", "--", "unshare", "--user", "true")
	if r.code != 0 {
		t.Fatalf("without a profile unshare --user failed: %+v", r)
	}
	r = rawnsRun(t, "run", "--caps", "docker", "--seccomp", "default", "--", "unshare", "--user", "true")
	if r.code == 0 || !strings.Contains(r.stderr, "Operation not permitted") {
		t.Errorf("with --seccomp default unshare --user: %+v; want EPERM", r)
	}
	// A custom profile's errnoRet comes back: mkdir with ENOMSG (42);
	// arm64 has no mkdir(2), only mkdirat, and the name is skipped there.
	dir := t.TempDir()
	prof := dir + "/p.json"
	os.WriteFile(prof, []byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":42}]}`), 0o644)
	r = rawnsRun(t, "run", "--seccomp", prof, "--", "mkdir", dir+"/d")
	if _, err := os.Stat(dir + "/d"); r.code == 0 || !strings.Contains(r.stderr, "No message of desired type") || err == nil {
		t.Errorf("mkdir errnoRet 42: %+v; want ENOMSG", r)
	}
	r = rawnsRun(t, "run", "--rlimit", "nofile=100:200", "--rlimit", "core=0", "--rlimit", "nproc=500:1000", "--", "sh", "-c", "ulimit -Sn; ulimit -Hn; ulimit -c; grep '^Max processes' /proc/self/limits")
	if strings.Join(strings.Fields(r.stdout), " ") != "100 200 0 Max processes 500 1000 processes" || r.code != 0 {
		t.Errorf("rlimits read back: %+v", r)
	}
	r = rawnsRun(t, "run", "--ns", "uts", "--new-session", "--", "sh", "-c", `read -r a b c d e sid rest </proc/$$/stat; [ "$sid" = "$$" ] && echo leader`)
	if r.stdout != "leader\n" {
		t.Errorf("--new-session: %+v", r)
	}
}

// TestRunPrivilegeBadInput: each bad value is one line naming the flag,
// exit 125, and nothing started.
func TestRunPrivilegeBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := func(name, content string) string {
		p := dir + "/" + name
		os.WriteFile(p, []byte(content), 0o644)
		return p
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--cap-drop", "net_rav"}, `--cap-drop net_rav: unknown capability "net_rav"`},
		{[]string{"--cap-add", "ALL,foo"}, `--cap-add ALL,foo: unknown capability "foo"`},
		{[]string{"--caps", "podman"}, "--caps podman: unknown set"},
		{[]string{"--rlimit", "nofiles=1"}, `--rlimit nofiles=1: unknown resource "nofiles"`},
		{[]string{"--rlimit", "nofile=10:5"}, "soft limit 10 is above the hard limit 5"},
		{[]string{"--rlimit", "nofile=1", "--rlimit", "nofile=2"}, "nofile is limited twice"},
		{[]string{"--umask", "899"}, "--umask 899: give an octal mode"},
		{[]string{"--seccomp", dir + "/missing.json"}, "--seccomp " + dir + "/missing.json: no such file or directory"},
		{[]string{"--seccomp", bad("notjson", "{defaultAction")}, "not valid JSON"},
		{[]string{"--seccomp", bad("action", `{"defaultAction":"SCMP_ACT_NOPE"}`)}, `unknown action "SCMP_ACT_NOPE"`},
		{[]string{"--seccomp", bad("arch", `{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_VAX"]}`)}, `unknown architecture "SCMP_ARCH_VAX"`},
		{[]string{"--seccomp", bad("exec", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["execve"],"action":"SCMP_ACT_KILL"}]}`)}, "does not allow execve(2)"},
		{[]string{"--user", "no-such-user"}, `--user: user "no-such-user" not found in /etc/passwd`},
		{[]string{"--user", "0", "--groups", "no-such-group"}, `group "no-such-group" not found in /etc/group`},
		{[]string{"--groups", "1"}, "give --user too"},
		{[]string{"--tty"}, "--tty: stdin is not a terminal"},
	} {
		cmd := exec.Command(rawnsBin, append(append([]string{"run"}, c.args...), "--", "sh", "-c", "echo started")...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		cmd.Stdin = nil // /dev/null: not a terminal
		err := cmd.Run()
		code := -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		line := errb.String()
		if code != 125 || out.Len() != 0 || !strings.Contains(line, c.want) || strings.Count(line, "\n") != 1 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 125 and one line with %q", c.args, code, out.String(), line, c.want)
		}
	}
	if os.Geteuid() == 0 {
		// A failing step in the child names its flag too.
		r := rawnsRun(t, "run", "--rlimit", "nofile=10:99999999999", "--", "true")
		if r.code != 125 || !strings.HasPrefix(r.stderr, "rawns run: --rlimit: child: prlimit: operation not permitted") {
			t.Errorf("a hard limit above nr_open: %+v", r)
		}
		// A root started without some capabilities (here by an outer
		// rawns that drops two, as capsh --drop would): asking for them
		// names them and the flag, before the clone (issue 25: "capset:
		// operation not permitted (rawns lacks CAP_SETPCAP or a
		// capability asked for)"). In a user namespace of its own the
		// command holds them all, and it runs.
		outer := []string{"run", "--ns", "uts", "--cap-drop", "sys_time,wake_alarm", "--", rawnsBin, "run"}
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"--cap-add", "ALL"}, "rawns run: --cap-add ALL: rawns itself lacks "},
			{[]string{"--caps", "all"}, "rawns run: --caps all: rawns itself lacks "},
			{[]string{"--cap-drop", "ALL", "--cap-add", "net_raw", "--cap-add", "sys_time"}, "rawns run: --cap-add sys_time: rawns itself lacks CAP_SYS_TIME (not in its permitted and bounding sets), so the command cannot be given it; leave CAP_SYS_TIME out of --cap-add, or start rawns with it\n"},
		} {
			r := rawnsRun(t, append(append(outer, c.args...), "--", "echo", "started")...)
			if r.code != 125 || r.stdout != "" || !strings.HasPrefix(r.stderr, c.want) || strings.Count(r.stderr, "\n") != 1 ||
				!strings.Contains(r.stderr, "CAP_SYS_TIME") || strings.Contains(strings.ToLower(c.want), " all:") && !strings.Contains(r.stderr, "CAP_WAKE_ALARM") {
				t.Errorf("%q without sys_time and wake_alarm: %+v; want 125 and %q naming both", c.args, r, c.want)
			}
		}
		r = rawnsRun(t, append(outer, "--ns", "user,pid,uts", "--map-root-user", "--cap-add", "ALL", "--", "echo", "started")...)
		if r.code != 0 || r.stdout != "started\n" {
			t.Errorf("--cap-add ALL in a user namespace of its own: %+v", r)
		}
	}
}

// TestRunTTY drives `rawns run -t` through a real pty pair: the command
// has a terminal of its own (not rawns's), Ctrl-C reaches it once, the
// window size follows rawns's, and rawns's terminal is raw while the
// command runs and back in its mode afterwards.
func TestRunTTY(t *testing.T) {
	testutil.RequireRoot(t)
	master, before, text, cmd := testutil.OnPTY(t, rawnsBin, "run", "-t", "--", "sh", "-c",
		`trap 'echo "INT $((n=n+1))"' INT; trap 'echo "size $(stty size)"' WINCH; trap 'exit 7' USR1; echo "on $(tty)"; echo ready; while :; do sleep 0.05; done`)
	testutil.WaitText(t, text, "ready")
	outer, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", master.Fd()))
	if strings.Contains(text(), "on not a tty") || !strings.Contains(text(), "on /dev/pts/") {
		t.Errorf("the command has no terminal of its own:\n%s", text())
	}
	if tm, _ := unix.IoctlGetTermios(int(master.Fd()), unix.TCGETS); tm.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != 0 {
		t.Errorf("rawns's terminal is not in raw mode while the command runs: lflag %#x", tm.Lflag)
	}
	master.Write([]byte{3}) // ^C
	testutil.WaitText(t, text, "INT 1")
	unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 50, Col: 132})
	testutil.WaitText(t, text, "size 50 132")
	time.Sleep(100 * time.Millisecond) // a second SIGINT would have come by now
	cmd.Process.Signal(syscall.SIGUSR1)
	if code := testutil.ExitCode(t, cmd); code != 7 {
		t.Errorf("exit %d, want the command's 7:\n%s", code, text())
	}
	testutil.Drained(t, master)
	if n := strings.Count(text(), "INT "); n != 1 {
		t.Errorf("one Ctrl-C reached the command %d times, want 1:\n%s", n, text())
	}
	after, err := unix.IoctlGetTermios(int(master.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if after.Lflag != before.Lflag || after.Iflag != before.Iflag || after.Oflag != before.Oflag || after.Cflag != before.Cflag {
		t.Errorf("rawns's terminal (%s) was not restored: lflag %#x -> %#x", outer, before.Lflag, after.Lflag)
	}
}

// TestRunTTYShellAsPID1: an interactive dash as PID 1 on its own terminal
// exits with its own status, without "Cannot set tty process group",
// which it prints on the caller's terminal under unshare and bwrap.
func TestRunTTYShellAsPID1(t *testing.T) {
	testutil.RequireRoot(t)
	master, _, text, cmd := testutil.OnPTY(t, rawnsBin, "run", "-t", "--", "/bin/sh", "-i")
	testutil.WaitText(t, text, "# ")
	master.Write([]byte("echo \"pid $$\"; exit 3\r"))
	if code := testutil.ExitCode(t, cmd); code != 3 {
		t.Errorf("exit %d, want the shell's 3:\n%s", code, text())
	}
	testutil.Drained(t, master)
	if !strings.Contains(text(), "pid 1") || strings.Contains(text(), "Cannot set tty process group") {
		t.Errorf("terminal:\n%s", text())
	}
}

// TestRunUserInRootfs: with --rootfs, --user and --groups names come from
// the new root's /etc/passwd and /etc/group, not the host's.
func TestRunUserInRootfs(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	root := testutil.BusyboxRoot(t)
	os.MkdirAll(root+"/etc", 0o755)
	os.WriteFile(root+"/etc/passwd", []byte("root:x:0:0::/root:/bin/sh\ninside:x:4321:4322::/:/bin/sh\n"), 0o644)
	os.WriteFile(root+"/etc/group", []byte("root:x:0:\ninside:x:4322:\nextra:x:4323:inside\n"), 0o644)
	r := rawnsRun(t, "run", "--ns", "pid,uts,mnt", "--rootfs", root, "--user", "inside", "--", "/bin/sh", "-c", "id -u; id -g; id -G")
	if r.code != 0 || r.stdout != "4321\n4322\n4322 4323\n" {
		t.Errorf("--user inside in the rootfs: %+v", r)
	}
	r = rawnsRun(t, "run", "--ns", "pid,uts,mnt", "--rootfs", root, "--user", "nobody", "--", "/bin/true")
	if r.code != 125 || !strings.Contains(r.stderr, `user "nobody" not found in `+root+"/etc/passwd") {
		t.Errorf("a host user name in the rootfs: %+v", r)
	}
}
