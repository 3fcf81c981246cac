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
