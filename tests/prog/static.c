/* cflags: -static */
/*
 * static FILE [delay_us]: a statically linked counter, writing 0, 1, 2 ...
 * to FILE one a line.  No ld.so, no libc.so: the image holds everything.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	char buf[32];
	long n;
	int fd, len;

	if(argc < 2 || argc > 3){
		fprintf(stderr, "usage: static file [delay_us]\n");
		return 2;
	}
	if((fd = open(argv[1], O_WRONLY|O_CREAT|O_TRUNC, 0644)) < 0){
		perror(argv[1]);
		return 1;
	}
	for(n = 0;; n++){
		len = snprintf(buf, sizeof buf, "%ld\n", n);
		if(write(fd, buf, len) != len){
			perror("write");
			return 1;
		}
		usleep(argc > 2 ? atol(argv[2]) : 50000);
	}
}
