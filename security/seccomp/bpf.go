package seccomp

import (
	"golang.org/x/sys/unix"
)

// builder appends classic BPF instructions. Jumps are relative, 8 bits
// (0-255 instructions forward), which the rule blocks below stay within.
type builder struct {
	prog []unix.SockFilter
}

func (b *builder) stmt(code uint16, k uint32) {
	b.prog = append(b.prog, unix.SockFilter{Code: code, K: k})
}

func (b *builder) jump(code uint16, k uint32, jt, jf uint8) {
	b.prog = append(b.prog, unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k})
}

// tree emits a binary search over leaves (sorted by their first number,
// the first at 0) on the number in the accumulator, and each leaf: a
// return, or its code in leafCode. A node is "jge FIRST-OF-RIGHT-HALF"
// with the left half right after it; when the left half is longer than
// an 8-bit jump, the node jumps to a "ja" over it (32-bit offset).
func (b *builder) tree(leaves []leaf, leafCode []unix.SockFilter) {
	if len(leaves) == 1 {
		l := leaves[0]
		if l.complex {
			b.prog = append(b.prog, leafCode[l.start:l.end]...)
		} else {
			b.stmt(unix.BPF_RET|unix.BPF_K, l.act)
		}
		return
	}
	mid := len(leaves) / 2
	left := treeSize(leaves[:mid])
	if left <= 255 {
		b.jump(unix.BPF_JMP|unix.BPF_JGE|unix.BPF_K, leaves[mid].lo, uint8(left), 0)
	} else {
		b.jump(unix.BPF_JMP|unix.BPF_JGE|unix.BPF_K, leaves[mid].lo, 0, 1)
		b.stmt(unix.BPF_JMP|unix.BPF_JA, uint32(left))
	}
	b.tree(leaves[:mid], leafCode)
	b.tree(leaves[mid:], leafCode)
}

// treeSize is the number of instructions tree emits for leaves.
func treeSize(leaves []leaf) int {
	if len(leaves) == 1 {
		if leaves[0].complex {
			return leaves[0].end - leaves[0].start
		}
		return 1
	}
	mid := len(leaves) / 2
	left := treeSize(leaves[:mid])
	n := 1 + left + treeSize(leaves[mid:])
	if left > 255 {
		n++
	}
	return n
}

// withArgs returns ret when the number is nr and every condition holds.
// The block ends by reloading the number, which the argument loads
// replaced, and every failing test jumps there.
func (b *builder) withArgs(nr uint32, args []Arg, ret uint32) {
	start := len(b.prog)
	// A failing test's jt or jf is fail until the end is known; a block
	// (at most 3 + 6x6 instructions) has no real jump that long.
	const fail = 0xff
	b.jump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, nr, 0, fail)
	for _, a := range args {
		lo, hi := uint32(a.Value), uint32(a.Value>>32)
		offLo, offHi := uint32(offArgs+8*a.Index), uint32(offArgs+8*a.Index+4)
		ld := func(off uint32) { b.stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, off) }
		j := func(op uint16, k uint32, jt, jf uint8) { b.jump(unix.BPF_JMP|op|unix.BPF_K, k, jt, jf) }
		switch a.Op {
		case "SCMP_CMP_EQ":
			ld(offHi)
			j(unix.BPF_JEQ, hi, 0, fail)
			ld(offLo)
			j(unix.BPF_JEQ, lo, 0, fail)
		case "SCMP_CMP_NE":
			ld(offHi)
			j(unix.BPF_JEQ, hi, 0, 2) // high differs: true
			ld(offLo)
			j(unix.BPF_JEQ, lo, fail, 0)
		case "SCMP_CMP_GT", "SCMP_CMP_GE":
			ld(offHi)
			j(unix.BPF_JGT, hi, 3, 0) // high above: true
			j(unix.BPF_JEQ, hi, 0, fail)
			ld(offLo)
			if a.Op == "SCMP_CMP_GT" {
				j(unix.BPF_JGT, lo, 0, fail)
			} else {
				j(unix.BPF_JGE, lo, 0, fail)
			}
		case "SCMP_CMP_LT", "SCMP_CMP_LE":
			ld(offHi)
			j(unix.BPF_JGE, hi, 0, 3) // high below: true
			j(unix.BPF_JEQ, hi, 0, fail)
			ld(offLo)
			if a.Op == "SCMP_CMP_LT" {
				j(unix.BPF_JGE, lo, fail, 0)
			} else {
				j(unix.BPF_JGT, lo, fail, 0)
			}
		case "SCMP_CMP_MASKED_EQ":
			ld(offHi)
			b.stmt(unix.BPF_ALU|unix.BPF_AND|unix.BPF_K, hi)
			j(unix.BPF_JEQ, uint32(a.ValueTwo>>32), 0, fail)
			ld(offLo)
			b.stmt(unix.BPF_ALU|unix.BPF_AND|unix.BPF_K, lo)
			j(unix.BPF_JEQ, uint32(a.ValueTwo), 0, fail)
		}
	}
	b.stmt(unix.BPF_RET|unix.BPF_K, ret)
	end := len(b.prog) // the reload below
	b.stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offNr)
	for i := start; i < end; i++ {
		in := &b.prog[i]
		if in.Code&0x07 != unix.BPF_JMP {
			continue
		}
		if in.Jt == fail {
			in.Jt = uint8(end - (i + 1))
		}
		if in.Jf == fail {
			in.Jf = uint8(end - (i + 1))
		}
	}
}

// Data is struct seccomp_data, what a filter reads.
type Data struct {
	Nr   uint32
	Arch uint32
	IP   uint64
	Args [6]uint64
}

// Run runs a seccomp filter on d as the kernel would and returns its
// verdict. It knows the instructions Compile emits (and a few more), and
// returns SECCOMP_RET_KILL_PROCESS on any other, or on a jump out of the
// program, as the kernel's checker would refuse such a program.
func Run(prog []unix.SockFilter, d Data) uint32 {
	// struct seccomp_data as 32-bit words, low half of each 64-bit field
	// first, as a little-endian kernel (amd64, arm64) lays it out.
	// Not encoding/binary: it brings reflect into every rawns binary.
	var raw [16]uint32
	raw[0], raw[1] = d.Nr, d.Arch
	raw[2], raw[3] = uint32(d.IP), uint32(d.IP>>32)
	for i, a := range d.Args {
		raw[4+2*i], raw[5+2*i] = uint32(a), uint32(a>>32)
	}
	var acc uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			if in.K > 60 || in.K%4 != 0 {
				return retKillProcess
			}
			acc = raw[in.K/4]
		case unix.BPF_ALU | unix.BPF_AND | unix.BPF_K:
			acc &= in.K
		case unix.BPF_JMP | unix.BPF_JA:
			pc += int(in.K)
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K,
			unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K, unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K:
			var t bool
			switch in.Code &^ (unix.BPF_JMP | unix.BPF_K) {
			case unix.BPF_JEQ:
				t = acc == in.K
			case unix.BPF_JGT:
				t = acc > in.K
			case unix.BPF_JGE:
				t = acc >= in.K
			case unix.BPF_JSET:
				t = acc&in.K != 0
			}
			if t {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case unix.BPF_RET | unix.BPF_K:
			return in.K
		default:
			return retKillProcess
		}
	}
	return retKillProcess
}
