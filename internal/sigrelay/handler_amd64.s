#include "textflag.h"

// handler is the relay's signal handler. The kernel enters it as a C
// function, void handler(int sig, siginfo_t *info, void *ucontext), with sig
// in DI and info in SI, on the thread's alternate signal stack (SA_ONSTACK:
// every thread the Go runtime starts has one). It touches only registers,
// which rt_sigreturn restores, and two words, state and targetPID; it never
// enters Go, so it needs no g, no stack check and no runtime lock. With
// Notify it also writes the signal's number, one byte from sigBytes, to a
// non-blocking pipe (a full pipe drops the byte, never blocks).
//
//	retry:
//	  old := state
//	  switch target := old >> 32 {
//	  case 0:          // no target yet: hold the signal
//	    if !CAS(&state, old, old | 1<<sig) { goto retry }
//	  case 0xffffffff: // stopped: drop it
//	  default:
//	    if info.si_code != SI_KERNEL || getpgid(targetPID) != getpgid(0) {
//	      // Not the terminal signalling our process group, which the
//	      // target is in and so has its own copy (a Ctrl-C must arrive
//	      // once): relay it.
//	      pidfd_send_signal(target-1, sig, NULL, 0)
//	    }
//	    if notifyFD >= 0 {
//	      write(notifyFD, &sigBytes[sig], 1) // tell Go (Notify)
//	    }
//	  }
//
// SYSCALL clobbers AX, CX and R11 only, so sig stays in R8, info in R12 and
// the target in BX across the calls.
TEXT ·handler(SB),NOSPLIT|NOFRAME,$0-0
	MOVQ	DI, R8			// R8 = sig
	MOVQ	SI, R12			// R12 = info
	LEAQ	·state(SB), R9
retry:
	MOVQ	(R9), AX		// AX = old
	MOVQ	AX, BX
	SHRQ	$32, BX			// BX = target field
	TESTL	BX, BX
	JZ	hold
	CMPL	BX, $-1
	JEQ	done
	CMPL	8(R12), $0x80		// info->si_code == SI_KERNEL?
	JNE	send
	MOVL	·targetPID(SB), DI
	MOVL	$121, AX		// SYS_getpgid
	SYSCALL
	MOVQ	AX, R13			// the target's group, or -errno
	XORL	DI, DI
	MOVL	$121, AX		// getpgid(0): our own
	SYSCALL
	CMPQ	AX, R13
	JEQ	notify
send:
	LEAL	-1(BX), DI		// pidfd
	MOVQ	R8, SI			// sig
	XORL	DX, DX			// info: NULL, the kernel fills in SI_USER
	XORL	R10, R10		// flags
	MOVL	$424, AX		// SYS_pidfd_send_signal
	SYSCALL
notify:
	MOVL	·notifyFD(SB), DI
	TESTL	DI, DI
	JS	done			// -1: nobody listens
	LEAQ	·sigBytes(SB), SI
	ADDQ	R8, SI			// &sigBytes[sig]
	MOVL	$1, DX
	MOVL	$1, AX			// SYS_write
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
