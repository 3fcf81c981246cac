#include "textflag.h"

// handler is the relay's signal handler; see handler_amd64.s for the
// algorithm. The kernel enters it as a C function with sig in R0, info in
// R1 and the return address (the restorer) in R30, on the alternate signal
// stack. LDAXR/STLXR make the compare-and-swap (no LSE atomics needed). SVC
// preserves every register but R0, which holds the result.
TEXT ·handler(SB),NOSPLIT|NOFRAME,$0-0
	MOVW	R0, R4			// R4 = sig
	MOVD	R1, R11			// R11 = info
	MOVD	$·state(SB), R5
retry:
	LDAXR	(R5), R6		// R6 = old, exclusive
	LSR	$32, R6, R7		// R7 = target field
	CBZ	R7, hold
	CLREX
	MOVW	$0xffffffff, R9
	CMP	R9, R7
	BEQ	done
	MOVW	8(R11), R9		// info->si_code
	CMPW	$0x80, R9		// SI_KERNEL?
	BNE	send
	MOVD	$·targetPID(SB), R9
	MOVW	(R9), R0
	MOVD	$155, R8		// SYS_getpgid
	SVC
	MOVD	R0, R12			// the target's group, or -errno
	MOVD	$0, R0			// getpgid(0): our own
	MOVD	$155, R8
	SVC
	CMP	R0, R12
	BEQ	notify
send:
	SUB	$1, R7, R0		// pidfd
	MOVD	R4, R1			// sig
	MOVD	$0, R2			// info: NULL
	MOVD	$0, R3			// flags
	MOVD	$424, R8		// SYS_pidfd_send_signal
	SVC
notify:
	MOVD	$·notifyFD(SB), R9
	MOVW	(R9), R0		// sign-extended below
	TBNZ	$31, R0, done		// -1: nobody listens
	MOVD	$·sigBytes(SB), R1
	ADD	R4, R1, R1		// &sigBytes[sig]
	MOVD	$1, R2
	MOVD	$64, R8			// SYS_write
	SVC
	RET
hold:
	MOVD	$1, R9
	LSL	R4, R9, R9
	ORR	R9, R6, R6		// R6 = old | 1<<sig
	STLXR	R6, (R5), R10		// R10 = 0 if the store won
	CBNZ	R10, retry
done:
	RET

// restorer returns from the handler through rt_sigreturn(2).
TEXT ·restorer(SB),NOSPLIT|NOFRAME,$0-0
	MOVD	$139, R8		// SYS_rt_sigreturn
	SVC
	UNDEF				// not reached

// func handlerPC() uintptr
TEXT ·handlerPC(SB),NOSPLIT,$0-8
	MOVD	$·handler(SB), R0
	MOVD	R0, ret+0(FP)
	RET

// func restorerPC() uintptr
TEXT ·restorerPC(SB),NOSPLIT,$0-8
	MOVD	$·restorer(SB), R0
	MOVD	R0, ret+0(FP)
	RET
