/*
 * spin FILE [vdso|user] [shift]: count in user space without a system
 * call (or, with "vdso", calling clock_gettime, which the vdso answers
 * without entering the kernel) and append a line "spin N PID" to FILE
 * every 2^shift rounds (default 26), so the only system calls are the
 * rare writes.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	volatile unsigned long n;
	struct timespec ts;
	char buf[64];
	int fd, vdso, len, shift = 26;
	unsigned long line = 0;

	if(argc < 2){
		fprintf(stderr, "usage: spin FILE [vdso|user] [shift]\n");
		return 1;
	}
	vdso = argc > 2 && strcmp(argv[2], "vdso") == 0;
	if(argc > 3)
		shift = atoi(argv[3]);
	fd = open(argv[1], O_WRONLY|O_CREAT|O_APPEND, 0644);
	if(fd < 0){
		perror(argv[1]);
		return 1;
	}
	for(;;){
		for(n = 0; n < 1UL<<shift; n++)
			if(vdso && (n & 63) == 0)
				clock_gettime(CLOCK_MONOTONIC, &ts);
		len = snprintf(buf, sizeof buf, "spin %lu %d\n", line++, getpid());
		if(write(fd, buf, len) != len)
			return 1;
	}
}
