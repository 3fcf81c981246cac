package trace

import (
	"os"
	"syscall"
	"testing"
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
