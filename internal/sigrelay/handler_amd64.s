#include "textflag.h"

// handler is the relay's signal handler. The kernel enters it as a C
// function, void handler(int sig, siginfo_t *info, void *ucontext), with sig
// in DI, on the thread's alternate signal stack (SA_ONSTACK: every thread
// the Go runtime starts has one). It touches only registers, which
// rt_sigreturn restores, and the state word; it never enters Go code, so it
// needs no g, no stack check and no runtime lock.
//
//	retry:
//	  old := state
//	  switch target := old >> 32 {
//	  case 0:          // no target yet: hold the signal
//	    if !CAS(&state, old, old | 1<<sig) { goto retry }
//	  case 0xffffffff: // stopped: drop it
//	  default:         // relay: pidfd_send_signal(target-1, sig, NULL, 0)
//	  }
TEXT ·handler(SB),NOSPLIT|NOFRAME,$0-0
	MOVQ	DI, R8			// R8 = sig
	LEAQ	·state(SB), R9
retry:
	MOVQ	(R9), AX		// AX = old
	MOVQ	AX, DX
	SHRQ	$32, DX			// DX = target field
	TESTL	DX, DX
	JZ	hold
	CMPL	DX, $-1
	JEQ	done
	LEAL	-1(DX), DI		// pidfd
	MOVQ	R8, SI			// sig
	XORL	DX, DX			// info: NULL, the kernel fills in SI_USER
	XORL	R10, R10		// flags
	MOVL	$424, AX		// SYS_pidfd_send_signal
	SYSCALL
	RET
hold:
	MOVQ	AX, CX
	BTSQ	R8, CX			// CX = old | 1<<sig
	LOCK
	CMPXCHGQ	CX, (R9)	// if state == AX { state = CX } else { AX = state }
	JNE	retry
done:
	RET

// restorer returns from the handler: the kernel's signal frame is on the
// stack, and rt_sigreturn(2) restores the interrupted context from it.
// x86-64 kernels require SA_RESTORER (there is no vDSO trampoline).
TEXT ·restorer(SB),NOSPLIT|NOFRAME,$0-0
	MOVL	$15, AX			// SYS_rt_sigreturn
	SYSCALL
	INT	$3			// not reached

// func handlerPC() uintptr
TEXT ·handlerPC(SB),NOSPLIT,$0-8
	MOVQ	$·handler(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

// func restorerPC() uintptr
TEXT ·restorerPC(SB),NOSPLIT,$0-8
	MOVQ	$·restorer(SB), AX
	MOVQ	AX, ret+0(FP)
	RET
