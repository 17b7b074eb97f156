/*
 * gone DIR: open DIR/gone.txt, write "abc" into it, delete it, and make
 * a memfd holding "xyz"; then every 100 ms read both back from the
 * start and print "N abc xyz" (or "FAIL ...").
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

int
main(int argc, char **argv)
{
	char path[4096], a[8], b[8];
	int fd, mfd;
	long n;

	if(argc != 2){
		fprintf(stderr, "usage: gone DIR\n");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(path, sizeof path, "%s/gone.txt", argv[1]);
	fd = open(path, O_RDWR|O_CREAT|O_TRUNC, 0644);
	mfd = memfd_create("persist-test", 0);
	if(fd < 0 || mfd < 0 || write(fd, "abc", 3) != 3 || write(mfd, "xyz", 3) != 3 || unlink(path) < 0){
		perror("gone");
		return 1;
	}
	for(n = 0;; n++){
		memset(a, 0, sizeof a);
		memset(b, 0, sizeof b);
		if(pread(fd, a, 3, 0) != 3 || pread(mfd, b, 3, 0) != 3)
			printf("FAIL read\n");
		else
			printf("%ld %s %s\n", n, a, b);
		usleep(100000);
	}
}
