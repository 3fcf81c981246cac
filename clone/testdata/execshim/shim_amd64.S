# rawns's exec shim, amd64 (clone/execshim.go says why it exists).
# Entered by execveat(2) with argv = ["[rawns]", PIPE, PATH, ARGV...]: it
# marks the error pipe PIPE (decimal; empty for none) close-on-exec and
# execs PATH with ARGV and its own environment. If execve(2) fails it
# writes the child's report (stage 0, errno, step 0; the parent reads a
# report after its exec marker as StageExec's) to PIPE and exits 127 (ENOENT, ENOTDIR, ELOOP) or 126. Run any other way (argv[0]
# not "[rawns]": e.g. as the interpreter of a "#!/proc/self/exe" script)
# it exits 126 at once. Raw system calls only; no data, no libc.
	.intel_syntax noprefix
	.text
	.globl _start
_start:
	mov	rbx, rsp			# [rbx] argc, [rbx+8] argv[0], ...
	cmp	qword ptr [rbx], 3
	jb	refuse
	mov	rax, [rbx+8]
	movabs	rcx, 0x005d736e7761725b		# "[rawns]\0"
	cmp	[rax], rcx
	jne	refuse
	mov	rsi, [rbx+16]			# argv[1]: the pipe, decimal
	mov	r12, -1
	cmp	byte ptr [rsi], 0
	je	exec
	xor	r12d, r12d
digit:
	movzx	eax, byte ptr [rsi]
	test	eax, eax
	jz	cloexec
	sub	eax, '0'
	cmp	eax, 9
	ja	refuse
	imul	r12, r12, 10
	add	r12, rax
	inc	rsi
	jmp	digit
cloexec:
	mov	eax, 72				# fcntl(pipe, F_SETFD, FD_CLOEXEC)
	mov	rdi, r12
	mov	esi, 2
	mov	edx, 1
	syscall
	test	rax, rax
	jz	exec
	mov	eax, 3				# refused (seccomp): close it, report nothing
	mov	rdi, r12
	syscall
	mov	r12, -1
exec:
	mov	rdi, [rbx+24]			# execve(argv[2], &argv[3], envp)
	lea	rsi, [rbx+32]
	mov	rax, [rbx]
	lea	rdx, [rbx+rax*8+16]
	mov	eax, 59
	syscall
	neg	rax
	mov	r13, rax			# errno
	test	r12, r12
	js	status
	sub	rsp, 16				# the report: stage, errno, step
	mov	dword ptr [rsp], 0
	mov	dword ptr [rsp+4], r13d
	mov	dword ptr [rsp+8], 0
	mov	eax, 1				# write(pipe, report, 12)
	mov	rdi, r12
	mov	rsi, rsp
	mov	edx, 12
	syscall
status:
	mov	edi, 127
	cmp	r13, 2				# ENOENT
	je	exit
	cmp	r13, 20				# ENOTDIR
	je	exit
	cmp	r13, 40				# ELOOP
	je	exit
refuse:
	mov	edi, 126
exit:
	mov	eax, 231			# exit_group
	syscall
	jmp	exit
