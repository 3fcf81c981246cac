package procfs

import (
	"errors"
	"io"
	"os"
	"strconv"
	"testing"
)

func TestStat(t *testing.T) {
	// A command name with spaces and parentheses, as prctl(PR_SET_NAME)
	// may set it.
	stat := []byte("4242 (a) b (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 10 18446744073709551615\n")
	if s := State(stat); s != 'S' {
		t.Errorf("State = %q", s)
	}
	for n, want := range map[int]string{3: "S", 4: "1", 22: "123456", 24: "10", 25: "18446744073709551615"} {
		if f, ok := StatField(stat, n); !ok || string(f) != want {
			t.Errorf("field %d = %q, %v; want %q", n, f, ok, want)
		}
	}
	for _, n := range []int{1, 2, 26} {
		if f, ok := StatField(stat, n); ok {
			t.Errorf("field %d = %q", n, f)
		}
	}
	if State([]byte("garbage")) != 0 {
		t.Errorf("a stat without a command name has a state")
	}
	st, err := StartTime(0)
	if err != nil || st == 0 {
		t.Fatalf("StartTime(self) = %d, %v", st, err)
	}
	if st2, err := StartTime(os.Getpid()); err != nil || st2 != st {
		t.Errorf("StartTime(pid) = %d, %v; self says %d", st2, err, st)
	}
}

func TestStatus(t *testing.T) {
	status := []byte("Name:\tx\nNSpid:\t42\t1\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000001\nSigCgt:\t0000000180000000\nNSpidx:\t9\n")
	if v, ok := StatusValue(status, "NSpid"); !ok || string(v) != "42\t1" {
		t.Errorf("NSpid = %q, %v", v, ok)
	}
	if m, ok := StatusMask(status, "SigIgn"); !ok || m != 1 {
		t.Errorf("SigIgn = %#x, %v", m, ok)
	}
	if m, ok := StatusMask(status, "SigCgt"); !ok || m != 0x180000000 {
		t.Errorf("SigCgt = %#x, %v", m, ok)
	}
	if _, ok := StatusValue(status, "Sig"); ok {
		t.Errorf("a key's prefix matched")
	}
	var buf [4096]byte
	b, err := ReadFile(Path(0, "status"), buf[:])
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := StatusValue(b, "Pid"); !ok || string(v) != strconv.Itoa(os.Getpid()) {
		t.Errorf("this process's Pid: %q, %v", v, ok)
	}
	if _, err := ReadFile(Path(0, "status"), buf[:16]); !errors.Is(err, io.ErrShortBuffer) {
		t.Errorf("a buffer too small: %v", err)
	}
	if b, err := Read(Path(0, "mountinfo"), buf[:16]); err != nil || len(b) < 100 {
		t.Errorf("Read grows its buffer: %d bytes, %v", len(b), err)
	}
	if _, err := ReadFile("/proc/self/no-such-file", buf[:]); !errors.Is(err, os.ErrNotExist) || err.Error() != "open /proc/self/no-such-file: no such file or directory" {
		t.Errorf("a missing file: %v", err)
	}
}

// TestReadAllocs: reading a status into a buffer on the stack and finding
// a value allocates nothing but the path.
func TestReadAllocs(t *testing.T) {
	path := Path(os.Getpid(), "status")
	n := testing.AllocsPerRun(100, func() {
		var buf [4096]byte
		b, err := ReadFile(path, buf[:])
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := StatusMask(b, "SigCgt"); !ok {
			t.Fatal("no SigCgt")
		}
	})
	if n > 1+raceAllocs {
		t.Errorf("%v allocations per read; want at most %v (the path's copy for open(2))", n, 1+raceAllocs)
	}
}

// raceAllocs is what a -race build allocates more (race_test.go).
var raceAllocs float64

func TestMounts(t *testing.T) {
	mi := []byte(`22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
60 45 0:6 / /a\040b\134c rw,relatime shared:16 master:3 - devtmpfs dev\040x rw,size=12k
61 60 0:22 /sub /tmp/x rw - tmpfs tmpfs
`)
	ms, err := Mounts(mi)
	if err != nil || len(ms) != 3 {
		t.Fatalf("Mounts: %d, %v", len(ms), err)
	}
	m := ms[1]
	if m.ID != 60 || m.Parent != 45 || m.Root != "/" || m.Point != `/a b\c` || m.Options != "rw,relatime" ||
		m.Optional != "shared:16 master:3" || m.FSType != "devtmpfs" || m.Source != "dev x" || m.SuperOptions != "rw,size=12k" {
		t.Errorf("line 2: %+v", m)
	}
	if m := ms[2]; m.Root != "/sub" || m.Optional != "" || m.SuperOptions != "" || m.Line != "61 60 0:22 /sub /tmp/x rw - tmpfs tmpfs" {
		t.Errorf("line 3: %+v", m)
	}
	if _, err := Mounts([]byte("1 2 3\n")); err == nil {
		t.Errorf("a malformed line was taken")
	}
	var buf [64 << 10]byte
	b, err := ReadFile(Path(0, "mountinfo"), buf[:])
	if err != nil {
		t.Fatal(err)
	}
	if ms, err := Mounts(b); err != nil || len(ms) == 0 {
		t.Errorf("this process's mountinfo: %d mounts, %v", len(ms), err)
	}
	if got := Unescape(`\040\011\012\134x\0`); got != " \t\n\\x\\0" {
		t.Errorf("Unescape: %q", got)
	}
}

func TestCgroups(t *testing.T) {
	cs := Cgroups([]byte("12:cpu,cpuacct:/a\n1:name=systemd:/\n0::/user.slice/x:y\n\n"))
	if len(cs) != 3 || cs[0] != (Cgroup{"12", "cpu,cpuacct", "/a"}) || cs[2] != (Cgroup{"0", "", "/user.slice/x:y"}) {
		t.Errorf("Cgroups: %+v", cs)
	}
}
