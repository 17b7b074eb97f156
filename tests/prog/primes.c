/*
 * primes FILE [delay_us]: write the primes to FILE, one a line, for ever.
 * FILE is opened once with O_TRUNC and written at the file offset, so the
 * offset is state a resumed copy must get back: the file must go on with
 * the next prime, no gap, no repeat (seed 000's experiment).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int
isprime(unsigned long n)
{
	unsigned long d;

	if(n < 2)
		return 0;
	for(d = 2; d*d <= n; d++)
		if(n%d == 0)
			return 0;
	return 1;
}

int
main(int argc, char **argv)
{
	struct timespec ts;
	unsigned long n;
	char buf[32];
	long us;
	int fd, len;

	if(argc < 2 || argc > 3){
		fprintf(stderr, "usage: primes file [delay_us]\n");
		return 2;
	}
	us = argc > 2 ? atol(argv[2]) : 20000;
	ts.tv_sec = us / 1000000;
	ts.tv_nsec = us % 1000000 * 1000;
	if((fd = open(argv[1], O_WRONLY|O_CREAT|O_TRUNC, 0644)) < 0){
		perror(argv[1]);
		return 1;
	}
	for(n = 2;; n++){
		if(!isprime(n))
			continue;
		len = snprintf(buf, sizeof buf, "%lu\n", n);
		if(write(fd, buf, len) != len){
			perror("write");
			return 1;
		}
		nanosleep(&ts, NULL);
	}
}
