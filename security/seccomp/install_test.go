//go:build linux && (amd64 || arm64)

package seccomp_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
	"github.com/rawns/rawns/security"
	"github.com/rawns/rawns/security/seccomp"
)

// TestMain doubles as the command the filters are installed for: with
// RAWNS_SECCOMP_HELPER set it makes a few system calls and prints what
// each returned, and its own seccomp state.
func TestMain(m *testing.M) {
	if os.Getenv("RAWNS_SECCOMP_HELPER") != "" {
		os.Exit(helper())
	}
	os.Exit(m.Run())
}

func helper() int {
	res := func(err error) string {
		if err == nil {
			return "ok"
		}
		return unix.ErrnoName(err.(unix.Errno))
	}
	_, err := unix.KeyctlGetKeyringID(unix.KEY_SPEC_SESSION_KEYRING, false)
	fmt.Printf("keyctl %s\n", res(err))
	_, err = unix.Getcwd(make([]byte, 256))
	fmt.Printf("getcwd %s\n", res(err))
	st, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(st), "\n") {
		if strings.HasPrefix(l, "Seccomp") || strings.HasPrefix(l, "NoNewPrivs") {
			fmt.Println(strings.Join(strings.Fields(l), " "))
		}
	}
	return 0
}

func runHelper(t *testing.T, prog []unix.SockFilter) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	caps := security.Sets(security.DockerDefault, 0, 0)
	spec := &clone.Spec{
		Path: exe, Env: []string{"RAWNS_SECCOMP_HELPER=1"},
		Namespaces: clone.NewPID,
		Stdio:      []int{0, int(w.Fd()), int(w.Fd())},
		Privilege:  &clone.Privilege{Caps: &caps, NoNewPrivs: true, Seccomp: prog},
	}
	p, err := clone.Start(spec)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if st, err := p.Wait(); err != nil || st.ExitCode() != 0 {
		t.Fatalf("helper: %v %v\n%s", st, err, b.String())
	}
	return b.String()
}

// TestInstalled installs compiled programs for real: a call docker's
// default profile blocks fails with EPERM there and works without it; a
// custom profile's errnoRet comes back; /proc/self/status shows the filter.
func TestInstalled(t *testing.T) {
	testutil.RequireRoot(t)
	none := runHelper(t, nil)
	if !strings.Contains(none, "keyctl ok\n") || !strings.Contains(none, "getcwd ok\n") || !strings.Contains(none, "Seccomp: 0\n") {
		t.Fatalf("without a filter:\n%s", none)
	}
	prog, err := seccomp.Compile(seccomp.Default(), seccomp.Native(), seccomp.Options{Caps: security.DockerDefault})
	if err != nil {
		t.Fatal(err)
	}
	def := runHelper(t, prog)
	if !strings.Contains(def, "keyctl EPERM\n") || !strings.Contains(def, "getcwd ok\n") ||
		!strings.Contains(def, "Seccomp: 2\n") || !strings.Contains(def, "Seccomp_filters: 1\n") || !strings.Contains(def, "NoNewPrivs: 1\n") {
		t.Errorf("docker's default profile:\n%s", def)
	}
	p, err := seccomp.ParseProfile([]byte(customProfile))
	if err != nil {
		t.Fatal(err)
	}
	if prog, err = seccomp.Compile(p, seccomp.Native(), seccomp.Options{}); err != nil {
		t.Fatal(err)
	}
	custom := runHelper(t, prog)
	if !strings.Contains(custom, "getcwd ENOMSG\n") || !strings.Contains(custom, "keyctl ok\n") {
		t.Errorf("custom profile (getcwd errnoRet 42 = ENOMSG):\n%s", custom)
	}
	testutil.AssertNoChildren(t)
}
