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
