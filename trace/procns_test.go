package trace

import (
	"errors"
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestReadProcNS(t *testing.T) {
	got, err := ReadProcNS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for k := Kind(0); k < NumKinds; k++ {
		var st syscall.Stat_t
		if err := syscall.Stat("/proc/self/ns/"+k.String(), &st); err != nil {
			if os.IsNotExist(err) && got[k].Zero() {
				continue
			}
			t.Fatal(err)
		}
		if got[k].Inode != st.Ino {
			t.Errorf("%s: inode %d, stat says %d", k, got[k].Inode, st.Ino)
		}
	}
	if _, err := ReadProcNS(1 << 30); err == nil {
		t.Error("ReadProcNS of a pid that cannot exist: no error")
	}
}

// A zombie still has /proc/PID and its pid and user links, but not its
// other namespaces: ReadProcNS must say it exited rather than report kinds
// the kernel lacks.
func TestReadProcNSZombie(t *testing.T) {
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Wait()
	// Wait for the exit without reaping (WNOWAIT): the child is a zombie.
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, p.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadProcNS(p.Pid); !errors.Is(err, ErrExited) {
		t.Fatalf("ReadProcNS of a zombie: %v, want ErrExited", err)
	}
}
