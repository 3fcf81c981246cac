//go:build linux && (amd64 || arm64)

package clone_test

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// kcmpVM is KCMP_VM of linux/kcmp.h: do two processes share one address
// space (kcmp(2))?
const kcmpVM = 1

func sharesMemory(t *testing.T, pid int) bool {
	t.Helper()
	r, _, errno := unix.Syscall6(unix.SYS_KCMP, uintptr(os.Getpid()), uintptr(pid), kcmpVM, 0, 0, 0)
	if errno != 0 {
		t.Fatalf("kcmp(%d, %d, KCMP_VM): %v (a kernel without CONFIG_KCMP?)", os.Getpid(), pid, errno)
	}
	return r == 0
}

// mapped reports whether addr starts a mapping of this process.
func mapped(t *testing.T, addr uintptr) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), fmt.Sprintf("\n%x-", addr)) || strings.HasPrefix(string(b), fmt.Sprintf("%x-", addr))
}

// TestInitMemory: PID 1 of Spec.Init runs on this process's memory, on a
// stack of its own, exactly when the command can never ptrace it with
// CAP_SYS_PTRACE in this user namespace and needs no time namespace
// (clone/init_unsafe.go); fork-style otherwise. In both it relays a
// signal, reaps, and passes the command's status on; the shared stack is
// unmapped once PID 1 is reaped, and never before.
func TestInitMemory(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	// What this process has, but CAP_SYS_PTRACE: capset refuses more
	// (a machine's root may lack some, as CAP_SYS_RESOURCE here).
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		t.Fatal(err)
	}
	have := uint64(data[0].Permitted) | uint64(data[1].Permitted)<<32
	keep := have &^ (1 << unix.CAP_SYS_PTRACE)
	noPtrace := &clone.Privilege{Caps: &clone.Capabilities{Bounding: keep, Effective: keep, Permitted: keep}}
	cases := []struct {
		name   string
		spec   func(*clone.Spec)
		shared bool
	}{
		{"root, every capability", func(s *clone.Spec) {}, false},
		{"no CAP_SYS_PTRACE", func(s *clone.Spec) { s.Privilege = noPtrace }, true},
		{"a new user namespace", func(s *clone.Spec) {
			s.Namespaces |= clone.NewUser
			s.UIDMap = []clone.IDMap{{Inside: 0, Outside: 0, Count: 1}}
			s.GIDMap = []clone.IDMap{{Inside: 0, Outside: 0, Count: 1}}
		}, true},
		{"a time namespace", func(s *clone.Spec) { s.Namespaces |= clone.NewTime; s.Privilege = noPtrace }, false},
		{"clone(2)", func(s *clone.Spec) { s.Syscall = clone.SyscallClone; s.Privilege = noPtrace }, false},
		// A cgroup of its own (the cgroup package's placements) or
		// ModeFork: an OOM kill of PID 1 there would kill this process.
		{"ModeFork", func(s *clone.Spec) { s.Mode = clone.ModeFork; s.Privilege = noPtrace }, false},
		{"a parent step", func(s *clone.Spec) { s.Hold = func(clone.Held) error { return nil }; s.Privilege = noPtrace }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			s := sh(`trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.02; done`)
			s.Namespaces = clone.NewPID | clone.NewUTS
			s.Init = true
			s.Env = []string{"PATH=" + clone.DefaultPath}
			s.Stdio = []int{0, int(w.Fd()), 2}
			c.spec(s)
			p, err := clone.Start(s)
			w.Close()
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 64)
			if n, err := r.Read(buf); err != nil || string(buf[:n]) != "ready\n" {
				p.Signal(syscall.SIGKILL)
				p.Wait()
				t.Fatalf("the command said %q, %v; want ready", buf[:n], err)
			}
			if got := sharesMemory(t, p.Pid); got != c.shared {
				t.Errorf("PID 1 shares this process's memory: %v, want %v", got, c.shared)
			}
			base := clone.InitStackBase(p)
			if (base != 0) != c.shared || (base != 0 && !mapped(t, base)) {
				t.Errorf("PID 1's own stack at %#x (mapped %v); want one exactly when it shares memory", base, base != 0 && mapped(t, base))
			}
			if err := p.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			timer := time.AfterFunc(20*time.Second, func() { p.Signal(syscall.SIGKILL) })
			go func() {
				defer close(done)
				n, _ := r.Read(buf)
				if got := string(buf[:n]); got != "got TERM\n" {
					t.Errorf("after SIGTERM to PID 1 the command said %q, want got TERM", got)
				}
			}()
			st, err := p.Wait()
			timer.Stop()
			<-done
			if err != nil || st.Code != 7 || st.Signal != 0 {
				t.Errorf("PID 1 ended with %v, %v; want exit 7, the command's", st, err)
			}
			if base != 0 && mapped(t, base) {
				t.Errorf("PID 1's stack at %#x is still mapped after Wait", base)
			}
		})
	}
	testutil.AssertNoChildren(t)
}

// TestInitDataHasNoPointers: a shared PID 1's initData lives in memory
// the garbage collector does not know, where a Go pointer would be
// neither kept alive nor updated.
func TestInitDataHasNoPointers(t *testing.T) {
	var check func(reflect.Type, string)
	check = func(ty reflect.Type, path string) {
		switch ty.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.String, reflect.Map, reflect.Chan, reflect.Func, reflect.Interface, reflect.UnsafePointer:
			t.Errorf("initData%s is a %v", path, ty.Kind())
		case reflect.Struct:
			for i := range ty.NumField() {
				check(ty.Field(i).Type, path+"."+ty.Field(i).Name)
			}
		case reflect.Array:
			check(ty.Elem(), path+"[]")
		}
	}
	check(reflect.TypeOf(clone.InitDataType), "")
}
