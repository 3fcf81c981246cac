//go:build linux

#include "textflag.h"

// func rawVfork(trap, a1, a2, a3 uintptr) (r1 uintptr, err syscall.Errno)
//
// A raw system call that may return twice on one stack, for clone(2) and
// clone3(2) with CLONE_VM|CLONE_VFORK. On arm64 the return address lives in
// the link register, which is per task, and this leaf function has no frame
// ($0, so the assembler saves no LR on the stack): the child cannot
// overwrite anything the parent needs to return.
TEXT ·rawVfork(SB),NOSPLIT,$0-48
	MOVD	a1+8(FP), R0
	MOVD	a2+16(FP), R1
	MOVD	a3+24(FP), R2
	MOVD	$0, R3
	MOVD	$0, R4
	MOVD	$0, R5
	MOVD	trap+0(FP), R8
	SVC
	// Return values in -4095..-1 are errnos (syscall(2)).
	CMN	$4095, R0
	BCC	ok
	MOVD	$-1, R4
	MOVD	R4, r1+32(FP)
	NEG	R0, R0
	MOVD	R0, err+40(FP)
	RET
ok:
	MOVD	R0, r1+32(FP)
	MOVD	ZR, err+40(FP)
	RET

// func cloneOnStack(trap, a1, a2, a3, fn uintptr, d *childData) (r1 uintptr, err syscall.Errno)
//
// A clone(2) or clone3(2) with CLONE_VM but not CLONE_VFORK whose child
// runs on a stack of its own (clone_args.stack), at the same time as the
// parent. The parent returns as from any system call. The child starts with
// RSP at the top of that stack and the parent's registers, its frame and
// arguments left behind on the parent's stack, which it must not touch:
// so fn and d are kept in R19 and R20, which SVC preserves (the kernel
// returns only R0).
//
// The child then calls fn, childMain's ABIInternal entry, with d in R0
// (Go's internal ABI, abi-internal.md) and R28, its g register, zeroed:
// the parent's g is the parent's, and no code of the child may touch it
// (childMain is nosplit). Not through childMain's ABI0 wrapper, which
// under -race enters the race detector. 16 bytes are reserved below the
// call, for d's spill slot at 8(RSP), RSP kept 16-aligned as the
// architecture requires for SP-based access. childMain never returns; the
// BRK stops it if it ever did.
TEXT ·cloneOnStack(SB),NOSPLIT|NOFRAME,$0-64
	MOVD	a1+8(FP), R0
	MOVD	a2+16(FP), R1
	MOVD	a3+24(FP), R2
	MOVD	fn+32(FP), R19
	MOVD	d+40(FP), R20
	MOVD	$0, R3
	MOVD	$0, R4
	MOVD	$0, R5
	MOVD	trap+0(FP), R8
	SVC
	CBZ	R0, child
	// Return values in -4095..-1 are errnos (syscall(2)).
	CMN	$4095, R0
	BCC	ok
	MOVD	$-1, R4
	MOVD	R4, r1+48(FP)
	NEG	R0, R0
	MOVD	R0, err+56(FP)
	RET
ok:
	MOVD	R0, r1+48(FP)
	MOVD	ZR, err+56(FP)
	RET
child:
	MOVD	ZR, R29			// no frame to chain to
	MOVD	ZR, g			// no g
	SUB	$16, RSP
	MOVD	R20, R0			// d
	BL	(R19)
	BRK

// func rawSyscall(trap, a1, a2, a3 uintptr) (r1, r2 uintptr, err syscall.Errno)
// func rawSyscall6(trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, r2 uintptr, err syscall.Errno)
//
// The child's system calls: the SVC instruction and nothing else. Not
// x/sys/unix's RawSyscall, which jumps to package syscall's Go function
// through its ABI0 wrapper, and that wrapper, in a -race build, enters the
// race detector with the parent's g.
TEXT ·rawSyscall(SB),NOSPLIT,$0-56
	MOVD	a1+8(FP), R0
	MOVD	a2+16(FP), R1
	MOVD	a3+24(FP), R2
	MOVD	$0, R3
	MOVD	$0, R4
	MOVD	$0, R5
	MOVD	trap+0(FP), R8
	SVC
	CMN	$4095, R0
	BCC	ok
	MOVD	$-1, R4
	MOVD	R4, r1+32(FP)
	MOVD	ZR, r2+40(FP)
	NEG	R0, R0
	MOVD	R0, err+48(FP)
	RET
ok:
	MOVD	R0, r1+32(FP)
	MOVD	R1, r2+40(FP)
	MOVD	ZR, err+48(FP)
	RET

TEXT ·rawSyscall6(SB),NOSPLIT,$0-80
	MOVD	a1+8(FP), R0
	MOVD	a2+16(FP), R1
	MOVD	a3+24(FP), R2
	MOVD	a4+32(FP), R3
	MOVD	a5+40(FP), R4
	MOVD	a6+48(FP), R5
	MOVD	trap+0(FP), R8
	SVC
	CMN	$4095, R0
	BCC	ok6
	MOVD	$-1, R4
	MOVD	R4, r1+56(FP)
	MOVD	ZR, r2+64(FP)
	NEG	R0, R0
	MOVD	R0, err+72(FP)
	RET
ok6:
	MOVD	R0, r1+56(FP)
	MOVD	R1, r2+64(FP)
	MOVD	ZR, err+72(FP)
	RET
