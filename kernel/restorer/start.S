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
	.section .note.GNU-stack,"",@progbits
