package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rawns/rawns/internal/testutil"
)

// TestInitShowsNoHost is issue 25's bug 3 as a user meets it: rawns run
// --init with a secret in rawns's environment and --clearenv. PID 1 shows
// the command "rawns-init" as its command line and no environment, whether
// it is a fork-style copy (the default root run: the command keeps
// CAP_SYS_PTRACE) or runs on rawns's memory (--cap-drop SYS_PTRACE, or a
// user namespace); the binary behind /proc/1/exe is never writable from
// inside. What stays, as clone/init_unsafe.go's initHide says: a command
// with CAP_SYS_PTRACE can read the exe link and open the binary read-only.
func TestInitShowsNoHost(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	secret := fmt.Sprintf("s3cret%x", time.Now().UnixNano())
	probe := `printf '%s|' "$(tr '\0' ' ' </proc/1/cmdline)" "$(tr '\0' ' ' </proc/1/environ 2>/dev/null)"
		(exec 4>>/proc/1/exe) 2>/dev/null && echo writable || echo not-writable`
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--ns", "pid,mnt"}, "rawns-init ||not-writable"},
		{[]string{"--ns", "pid,mnt", "--cap-drop", "SYS_PTRACE"}, "rawns-init ||not-writable"},
		{[]string{"--ns", "user,pid,mnt", "--map-root-user"}, "rawns-init ||not-writable"},
	} {
		args := append(append([]string{"run", "--init", "--clearenv", "--mount-proc"}, c.flags...), "--", "/bin/sh", "-c", probe)
		cmd := exec.Command(rawnsBin, args...)
		cmd.Env = append(os.Environ(), "SECRET="+secret)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v: %v\n%s", c.flags, err, errb.String())
		}
		if got := strings.TrimSpace(out.String()); got != c.want || strings.Contains(got, secret) {
			t.Errorf("%v: PID 1 shows %q; want %q", c.flags, got, c.want)
		}
	}
}
