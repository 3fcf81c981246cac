package cgroup

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// DeviceRule is one entry of the devices controller's list: OCI's
// linux.resources.devices entry, cgroup v1's devices.allow and
// devices.deny lines. Rules apply in order, a later one over an earlier:
// a request is decided by the last rule that matches it.
type DeviceRule struct {
	Allow bool
	// Type is 'a' (any), 'c' (character) or 'b' (block).
	Type byte
	// Major and Minor are the device number; -1 matches any.
	Major, Minor int64
	// Access is a set of 'r' (read), 'w' (write) and 'm' (mknod).
	Access string
}

// String is the rule as v1's devices.allow takes it: "c 1:3 rwm".
func (d DeviceRule) String() string {
	num := func(n int64) string {
		if n < 0 {
			return "*"
		}
		return strconv.FormatInt(n, 10)
	}
	if d.Type == 'a' && d.Major < 0 && d.Minor < 0 {
		return "a"
	}
	return fmt.Sprintf("%c %s:%s %s", d.Type, num(d.Major), num(d.Minor), d.Access)
}

// validateDevices checks the rules.
func validateDevices(rules []DeviceRule) error {
	for i, d := range rules {
		switch d.Type {
		case 'a', 'c', 'b':
		default:
			return &Error{Field: FieldDevices, Err: fmt.Errorf("device rule %d: type %q; give a, c or b", i, d.Type)}
		}
		if d.Major < -1 || d.Minor < -1 || d.Major > 0xfff || d.Minor > 0xfffff {
			return &Error{Field: FieldDevices, Err: fmt.Errorf("device rule %d: %d:%d is not a device number (major 0-4095, minor 0-1048575, -1 for any)", i, d.Major, d.Minor)}
		}
		if d.Access == "" || strings.Trim(d.Access, "rwm") != "" {
			return &Error{Field: FieldDevices, Err: fmt.Errorf("device rule %d: access %q; give a set of r, w and m", i, d.Access)}
		}
	}
	return nil
}

// denyAll reports whether rule is "a *:* rwm" denied: the list starts
// from nothing allowed, as engines send it.
func (d DeviceRule) denyAll() bool {
	return !d.Allow && d.Type == 'a' && d.Major < 0 && d.Minor < 0 && strings.Contains(d.Access, "r") && strings.Contains(d.Access, "w") && strings.Contains(d.Access, "m")
}

// v1Devices writes the rules into a v1 devices cgroup, in order:
// devices.deny for a denying rule, devices.allow for an allowing one.
// A cgroup starts with its parent's list; v1 lets a child only narrow it.
func v1Devices(dir string, rules []DeviceRule) error {
	for _, d := range rules {
		file := "devices.deny"
		if d.Allow {
			file = "devices.allow"
		}
		if err := writeFile(dir, file, d.String()); err != nil {
			return &Error{Field: FieldDevices, Err: permHint(err)}
		}
	}
	return nil
}

// The device program of cgroup v2 (Documentation/admin-guide/cgroup-v2.rst,
// "Device controller"): an eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE
// attached to the cgroup, called on every open and mknod of a device node
// with struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; },
// access_type being (access << 16) | type, and returning 1 to allow, 0 to
// deny. It tests the rules from the last to the first, as v1 applies them
// (the last that matches decides): an allowing rule matches when the
// request asks no access the rule lacks, a denying one when it asks any it
// names. Without a match: deny when the list started from "deny all",
// allow otherwise.

// eBPF instruction fields (linux/bpf.h, linux/bpf_common.h).
const (
	bpfLDX   = 0x01
	bpfALU64 = 0x07
	bpfJMP   = 0x05
	bpfW     = 0x00
	bpfMEM   = 0x60
	bpfK     = 0x00
	bpfAND   = 0x50
	bpfRSH   = 0x70
	bpfMOV   = 0xb0
	bpfJNE   = 0x50
	bpfJEQ   = 0x10
	bpfEXIT  = 0x90

	devcgDevBlock = 1 // BPF_DEVCG_DEV_BLOCK
	devcgDevChar  = 2 // BPF_DEVCG_DEV_CHAR
	devcgAccMknod = 1 // BPF_DEVCG_ACC_MKNOD
	devcgAccRead  = 2 // BPF_DEVCG_ACC_READ
	devcgAccWrite = 4 // BPF_DEVCG_ACC_WRITE
)

// bpfInsn is struct bpf_insn: 8 bytes.
type bpfInsn struct {
	code uint8
	regs uint8 // dst in the low nibble, src in the high
	off  int16
	imm  int32
}

func insn(code, dst, src uint8, off int16, imm int32) bpfInsn {
	return bpfInsn{code: code, regs: dst | src<<4, off: off, imm: imm}
}

// devAccess is an access string as the program's bits.
func devAccess(s string) int32 {
	var a int32
	for _, c := range s {
		switch c {
		case 'r':
			a |= devcgAccRead
		case 'w':
			a |= devcgAccWrite
		case 'm':
			a |= devcgAccMknod
		}
	}
	return a
}

// deviceProgram compiles rules into the v2 device program. Registers: r1
// the context; r2 the access asked, r3 the device type, r4 the major, r5
// the minor; r6 scratch; r0 the verdict.
func deviceProgram(rules []DeviceRule) []bpfInsn {
	p := []bpfInsn{
		insn(bpfLDX|bpfW|bpfMEM, 2, 1, 0, 0), // r2 = ctx->access_type
		insn(bpfALU64|bpfMOV|0x08, 3, 2, 0, 0),
		insn(bpfALU64|bpfAND|bpfK, 3, 0, 0, 0xffff), // r3 = type
		insn(bpfALU64|bpfRSH|bpfK, 2, 0, 0, 16),     // r2 = access
		insn(bpfLDX|bpfW|bpfMEM, 4, 1, 4, 0),        // r4 = major
		insn(bpfLDX|bpfW|bpfMEM, 5, 1, 8, 0),        // r5 = minor
	}
	base := int32(1)
	start := 0
	if len(rules) > 0 && rules[0].denyAll() {
		base, start = 0, 1
	}
	for i := len(rules) - 1; i >= start; i-- {
		d := rules[i]
		var block []bpfInsn
		// Each test jumps to the end of the block on a mismatch; the
		// offsets are patched once the block's length is known.
		var skips []int
		test := func(reg uint8, v int32) {
			skips = append(skips, len(block))
			block = append(block, insn(bpfJMP|bpfJNE|bpfK, reg, 0, 0, v))
		}
		switch d.Type {
		case 'c':
			test(3, devcgDevChar)
		case 'b':
			test(3, devcgDevBlock)
		}
		if d.Major >= 0 {
			test(4, int32(d.Major))
		}
		if d.Minor >= 0 {
			test(5, int32(d.Minor))
		}
		acc := devAccess(d.Access)
		block = append(block, insn(bpfALU64|bpfMOV|0x08, 6, 2, 0, 0)) // r6 = access asked
		skips = append(skips, len(block)+1)
		if d.Allow {
			block = append(block,
				insn(bpfALU64|bpfAND|bpfK, 6, 0, 0, ^acc&7), // asked beyond the rule?
				insn(bpfJMP|bpfJNE|bpfK, 6, 0, 0, 0),
				insn(bpfALU64|bpfMOV|bpfK, 0, 0, 0, 1))
		} else {
			block = append(block,
				insn(bpfALU64|bpfAND|bpfK, 6, 0, 0, acc), // asked any it denies?
				insn(bpfJMP|bpfJEQ|bpfK, 6, 0, 0, 0),
				insn(bpfALU64|bpfMOV|bpfK, 0, 0, 0, 0))
		}
		block = append(block, insn(bpfJMP|bpfEXIT, 0, 0, 0, 0))
		for _, j := range skips {
			block[j].off = int16(len(block) - j - 1)
		}
		p = append(p, block...)
	}
	return append(p,
		insn(bpfALU64|bpfMOV|bpfK, 0, 0, 0, base),
		insn(bpfJMP|bpfEXIT, 0, 0, 0, 0))
}

// errNoDeviceProgram is the error where the kernel has no device programs.
var errNoDeviceProgram = errors.New("this kernel cannot attach a device program to a cgroup (BPF_PROG_TYPE_CGROUP_DEVICE, CONFIG_CGROUP_BPF)")
