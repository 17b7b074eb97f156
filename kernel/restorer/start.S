/* entry, stack switch and the last trampoline of the restorer */
	.text
	.globl _start
_start:
	xor	%rbp, %rbp
	mov	%rsp, %rdi		/* argc, argv, envp, auxv */
	and	$-16, %rsp
	call	rmain
	ud2

/* void jumpstack(void (*fn)(void *), void *arg, void *sp): never returns */
	.globl jumpstack
jumpstack:
	mov	%rdx, %rsp
	mov	%rdi, %rax
	mov	%rsi, %rdi
	xor	%rbp, %rbp
	call	*%rax
	ud2

/* long rclone(long flags, void *stack, void (*fn)(void *), void *arg): a thread on stack runs fn(arg) */
	.globl rclone
rclone:
	push	%r12
	push	%r13
	mov	%rdx, %r12
	mov	%rcx, %r13
	mov	$56, %eax		/* clone */
	xor	%edx, %edx
	xor	%r10d, %r10d
	xor	%r8d, %r8d
	syscall
	test	%rax, %rax
	jnz	1f
	xor	%ebp, %ebp
	mov	%r13, %rdi
	call	*%r12
	ud2
1:	pop	%r13
	pop	%r12
	ret

/*
 * Copied into the page left behind in the resumed process: unmap the
 * rest of the restorer, put seccomp back, then rt_sigreturn into the
 * saved registers.  rdi, rsi: range to unmap; rdx: stack pointer at
 * the signal frame; rcx: the seccomp plan (u32 mode, u32 count, a
 * sock_fprog pointer per filter, oldest first) or 0.  Seccomp that
 * cannot be put back ends the process: it never runs unconfined.
 */
	.globl tramp, tramp_end
tramp:
	mov	%rcx, %r12
	mov	$11, %eax		/* munmap */
	syscall
	mov	%rdx, %rsp
	test	%r12, %r12
	jz	3f
	cmpl	$1, (%r12)
	jne	1f
	mov	$157, %eax		/* prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) */
	mov	$22, %edi
	mov	$1, %esi
	syscall
	test	%rax, %rax
	jnz	4f
	jmp	3f
1:	xor	%ebx, %ebx
2:	cmp	4(%r12), %ebx
	jae	3f
	mov	$317, %eax		/* seccomp(SECCOMP_SET_MODE_FILTER, TSYNC, prog) */
	mov	$1, %edi
	mov	$1, %esi
	mov	8(%r12,%rbx,8), %rdx
	syscall
	test	%rax, %rax
	jnz	4f
	inc	%ebx
	jmp	2b
3:	mov	$15, %eax		/* rt_sigreturn */
	syscall
	ud2
4:	mov	$231, %eax		/* exit_group(126) */
	mov	$126, %edi
	syscall
	ud2
tramp_end:

/*
 * The same for every other thread: onto its frame, say so (rdi: its
 * flag, in the page left behind), and return to its registers.
 */
	.globl ttramp, ttramp_end
ttramp:
	mov	%rdx, %rsp
	movl	$1, (%rdi)
	mov	$15, %eax
	syscall
	ud2
ttramp_end:
	.section .note.GNU-stack,"",@progbits
