/* the restorer, carried inside libpersist and put at the front of every image */
	.section .rodata
	.balign 4096
	.globl restorer_start, restorer_end
restorer_start:
	.incbin "kernel/restorer/restorer.bin"
restorer_end:
	.section .note.GNU-stack,"",@progbits
