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
 * rest of the restorer, then rt_sigreturn into the saved registers.
 * rdi, rsi: range to unmap; rdx: stack pointer at the signal frame.
 */
	.globl tramp, tramp_end
tramp:
	mov	$11, %eax		/* munmap */
	syscall
	mov	%rdx, %rsp
	mov	$15, %eax		/* rt_sigreturn */
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
