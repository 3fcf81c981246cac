package cgroup

import (
	"testing"
)

// runDeviceProgram interprets the instructions deviceProgram emits, for
// a request: the kernel's verdict, without the kernel.
func runDeviceProgram(t *testing.T, p []bpfInsn, typ, access, major, minor uint32) int64 {
	t.Helper()
	var r [11]int64
	ctx := [3]uint32{access<<16 | typ, major, minor}
	for pc := 0; pc < len(p); pc++ {
		in := p[pc]
		dst, src := in.regs&0xf, in.regs>>4
		switch in.code {
		case bpfLDX | bpfW | bpfMEM:
			if src != 1 || in.off%4 != 0 || in.off > 8 {
				t.Fatalf("pc %d: load off %d from r%d", pc, in.off, src)
			}
			r[dst] = int64(ctx[in.off/4])
		case bpfALU64 | bpfMOV | 0x08:
			r[dst] = r[src]
		case bpfALU64 | bpfMOV | bpfK:
			r[dst] = int64(in.imm)
		case bpfALU64 | bpfAND | bpfK:
			r[dst] &= int64(in.imm)
		case bpfALU64 | bpfRSH | bpfK:
			r[dst] = int64(uint64(r[dst]) >> uint(in.imm))
		case bpfJMP | bpfJNE | bpfK:
			if r[dst] != int64(in.imm) {
				pc += int(in.off)
			}
		case bpfJMP | bpfJEQ | bpfK:
			if r[dst] == int64(in.imm) {
				pc += int(in.off)
			}
		case bpfJMP | bpfEXIT:
			return r[0]
		default:
			t.Fatalf("pc %d: unknown code %#x", pc, in.code)
		}
	}
	t.Fatal("ran off the end")
	return -1
}

func TestDeviceProgram(t *testing.T) {
	const (
		c, b        = devcgDevChar, devcgDevBlock
		r, w, m     = devcgAccRead, devcgAccWrite, devcgAccMknod
		allow, deny = 1, 0
	)
	rules := []DeviceRule{
		{Allow: false, Type: 'a', Major: -1, Minor: -1, Access: "rwm"},
		{Allow: true, Type: 'c', Major: -1, Minor: -1, Access: "m"},
		{Allow: true, Type: 'c', Major: 1, Minor: 3, Access: "rwm"},
		{Allow: true, Type: 'c', Major: 136, Minor: -1, Access: "rw"},
		{Allow: true, Type: 'b', Major: 8, Minor: 0, Access: "r"},
		{Allow: false, Type: 'c', Major: 1, Minor: 3, Access: "w"},
	}
	p := deviceProgram(rules)
	for _, tc := range []struct {
		typ, acc, maj, min uint32
		want               int64
	}{
		{c, r, 1, 3, allow},
		{c, w, 1, 3, deny}, // the last rule denies writes
		{c, r | w, 1, 3, deny},
		{c, m, 1, 3, allow},
		{c, r, 1, 5, deny},  // zero: not listed
		{c, m, 9, 9, allow}, // mknod of any char device
		{b, m, 9, 9, deny},
		{c, r | w, 136, 4, allow},
		{c, m, 136, 4, allow},
		{b, r, 8, 0, allow},
		{b, w, 8, 0, deny},
		{b, r, 8, 1, deny},
	} {
		if got := runDeviceProgram(t, p, tc.typ, tc.acc, tc.maj, tc.min); got != tc.want {
			t.Errorf("type %d access %d %d:%d: verdict %d; want %d", tc.typ, tc.acc, tc.maj, tc.min, got, tc.want)
		}
	}
	// Without a leading "deny all" the base is allow.
	p = deviceProgram([]DeviceRule{{Allow: false, Type: 'c', Major: 1, Minor: 9, Access: "rwm"}})
	if runDeviceProgram(t, p, c, r, 1, 9) != deny || runDeviceProgram(t, p, c, r, 1, 8) != allow {
		t.Error("a list that does not start by denying all allows what it does not deny")
	}
}

func TestDeviceRuleString(t *testing.T) {
	for _, tc := range []struct {
		d    DeviceRule
		want string
	}{
		{DeviceRule{Type: 'a', Major: -1, Minor: -1, Access: "rwm"}, "a"},
		{DeviceRule{Type: 'c', Major: 1, Minor: 3, Access: "rwm"}, "c 1:3 rwm"},
		{DeviceRule{Type: 'c', Major: 136, Minor: -1, Access: "rw"}, "c 136:* rw"},
		{DeviceRule{Type: 'b', Major: -1, Minor: -1, Access: "m"}, "b *:* m"},
	} {
		if got := tc.d.String(); got != tc.want {
			t.Errorf("%+v: %q; want %q", tc.d, got, tc.want)
		}
	}
	if err := validateDevices([]DeviceRule{{Type: 'x', Access: "r"}}); err == nil {
		t.Error("type x accepted")
	}
	if err := validateDevices([]DeviceRule{{Type: 'c', Major: 1, Minor: 1, Access: "rx"}}); err == nil {
		t.Error("access x accepted")
	}
}
