/*
 * clock FILE: each 100 ms append "n realtime-seconds monotonic-ms" to
 * FILE, the times from clock_gettime, which the vdso answers.
 */
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct timespec rt, mono, d = {0, 100000000};
	char buf[96];
	long n;
	int fd, len;

	if(argc != 2){
		fprintf(stderr, "usage: clock FILE\n");
		return 1;
	}
	fd = open(argv[1], O_WRONLY|O_CREAT|O_TRUNC, 0644);
	if(fd < 0){
		perror(argv[1]);
		return 1;
	}
	for(n = 0;; n++){
		clock_gettime(CLOCK_REALTIME, &rt);
		clock_gettime(CLOCK_MONOTONIC, &mono);
		len = snprintf(buf, sizeof buf, "%ld %lld %lld\n", n, (long long)rt.tv_sec,
			(long long)mono.tv_sec * 1000 + mono.tv_nsec / 1000000);
		if(write(fd, buf, len) != len)
			return 1;
		nanosleep(&d, NULL);
	}
}
