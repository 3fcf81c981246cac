//go:build linux

#include "textflag.h"

// func rawVfork(trap, a1, a2, a3 uintptr) (r1 uintptr, err syscall.Errno)
//
// A raw system call that may return twice on one stack, for clone(2) and
// clone3(2) with CLONE_VM|CLONE_VFORK. The child runs first, on the parent's
// stack, and calls functions that overwrite the words below the caller's
// frame, this function's return address among them. So the return address
// is popped into R12 before SYSCALL and pushed back after it: registers are
// per task, and the kernel restores the parent's when it resumes.
// NOFRAME: no frame pointer is saved, the stack holds only the return address.
TEXT ·rawVfork(SB),NOSPLIT|NOFRAME,$0-48
	MOVQ	a1+8(FP), DI
	MOVQ	a2+16(FP), SI
	MOVQ	a3+24(FP), DX
	MOVQ	$0, R10
	MOVQ	$0, R8
	MOVQ	$0, R9
	MOVQ	trap+0(FP), AX
	POPQ	R12
	SYSCALL
	PUSHQ	R12
	// Return values in -4095..-1 are errnos (syscall(2)).
	CMPQ	AX, $0xfffffffffffff001
	JLS	ok
	MOVQ	$-1, r1+32(FP)
	NEGQ	AX
	MOVQ	AX, err+40(FP)
	RET
ok:
	MOVQ	AX, r1+32(FP)
	MOVQ	$0, err+40(FP)
	RET

// func cloneOnStack(trap, a1, a2, a3, fn uintptr, d *childData) (r1 uintptr, err syscall.Errno)
//
// A clone(2) or clone3(2) with CLONE_VM but not CLONE_VFORK whose child
// runs on a stack of its own (clone_args.stack), at the same time as the
// parent. The parent returns as from any system call. The child starts with
// its stack pointer at the top of that stack and the parent's registers,
// its frame and arguments left behind on the parent's stack, which it
// must not touch: so fn and d are kept in R12 and R13, which SYSCALL
// preserves (it clobbers only AX, CX and R11).
//
// The child then calls fn, childMain's ABIInternal entry, with d in AX
// (Go's internal ABI, abi-internal.md), X15 zeroed as that ABI wants, and
// R14, its g register, zeroed: the g the thread-local slot names is
// whatever goroutine the parent's thread runs now, and no code of the
// child may touch it (childMain is nosplit, and a fault on a nil g is
// better than a write into the parent's). Not through childMain's ABI0
// wrapper, which under -race enters the race detector with that g. 16
// bytes are reserved below the call: the spill slot of d, as the caller
// provides it, and SP kept 16-aligned. childMain never returns; INT $3
// stops it if it ever did.
TEXT ·cloneOnStack(SB),NOSPLIT,$0-64
	MOVQ	a1+8(FP), DI
	MOVQ	a2+16(FP), SI
	MOVQ	a3+24(FP), DX
	MOVQ	fn+32(FP), R12
	MOVQ	d+40(FP), R13
	MOVQ	$0, R10
	MOVQ	$0, R8
	MOVQ	$0, R9
	MOVQ	trap+0(FP), AX
	SYSCALL
	TESTQ	AX, AX
	JEQ	child
	// Return values in -4095..-1 are errnos (syscall(2)).
	CMPQ	AX, $0xfffffffffffff001
	JLS	ok
	MOVQ	$-1, r1+48(FP)
	NEGQ	AX
	MOVQ	AX, err+56(FP)
	RET
ok:
	MOVQ	AX, r1+48(FP)
	MOVQ	$0, err+56(FP)
	RET
child:
	XORL	BP, BP			// no frame to chain to
	XORL	R14, R14		// no g
	XORPS	X15, X15
	SUBQ	$16, SP
	MOVQ	R13, AX			// d
	CALL	R12
	INT	$3

// func rawSyscall(trap, a1, a2, a3 uintptr) (r1, r2 uintptr, err syscall.Errno)
// func rawSyscall6(trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, r2 uintptr, err syscall.Errno)
//
// The child's system calls: the SYSCALL instruction and nothing else.
// Not x/sys/unix's RawSyscall, which jumps to package syscall's Go
// function through its ABI0 wrapper, and that wrapper, in a -race build,
// enters the race detector with the g the thread-local slot names: for a
// PID 1 on rawns's memory (cloneOnStack), whatever goroutine the parent's
// thread runs at that moment.
TEXT ·rawSyscall(SB),NOSPLIT,$0-56
	MOVQ	a1+8(FP), DI
	MOVQ	a2+16(FP), SI
	MOVQ	a3+24(FP), DX
	MOVQ	$0, R10
	MOVQ	$0, R8
	MOVQ	$0, R9
	MOVQ	trap+0(FP), AX
	SYSCALL
	CMPQ	AX, $0xfffffffffffff001
	JLS	ok
	MOVQ	$-1, r1+32(FP)
	MOVQ	$0, r2+40(FP)
	NEGQ	AX
	MOVQ	AX, err+48(FP)
	RET
ok:
	MOVQ	AX, r1+32(FP)
	MOVQ	DX, r2+40(FP)
	MOVQ	$0, err+48(FP)
	RET

TEXT ·rawSyscall6(SB),NOSPLIT,$0-80
	MOVQ	a1+8(FP), DI
	MOVQ	a2+16(FP), SI
	MOVQ	a3+24(FP), DX
	MOVQ	a4+32(FP), R10
	MOVQ	a5+40(FP), R8
	MOVQ	a6+48(FP), R9
	MOVQ	trap+0(FP), AX
	SYSCALL
	CMPQ	AX, $0xfffffffffffff001
	JLS	ok6
	MOVQ	$-1, r1+56(FP)
	MOVQ	$0, r2+64(FP)
	NEGQ	AX
	MOVQ	AX, err+72(FP)
	RET
ok6:
	MOVQ	AX, r1+56(FP)
	MOVQ	DX, r2+64(FP)
	MOVQ	$0, err+72(FP)
	RET
