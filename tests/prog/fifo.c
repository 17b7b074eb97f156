/*
 * fifo path: make the named pipe path, hold both its ends, and keep
 * three 16-byte records in flight in it: each 100 ms write record N+3,
 * read one back (it must be record N) and print "fifo N", or
 * "FAIL: why".  A resumed copy needs the records that were in the fifo.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

static int
put(int w, long n)
{
	char rec[24];

	snprintf(rec, sizeof rec, "%015ld", n % 1000000000000000L);
	return write(w, rec, 16) == 16 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	char rec[24], want[24];
	int r, w;
	long n;

	if(argc != 2){
		fprintf(stderr, "usage: fifo path\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	unlink(argv[1]);
	if(mkfifo(argv[1], 0600) < 0 || (r = open(argv[1], O_RDONLY|O_NONBLOCK)) < 0 ||
	   (w = open(argv[1], O_WRONLY)) < 0 || put(w, 0) < 0 || put(w, 1) < 0 || put(w, 2) < 0){
		printf("FAIL: setup: %s\n", strerror(errno));
		return 1;
	}
	for(n = 0; ; n++){
		if(put(w, n + 3) < 0)
			printf("FAIL: write: %s\n", strerror(errno));
		memset(rec, 0, sizeof rec);
		if(read(r, rec, 16) != 16)
			printf("FAIL: read %ld: %s\n", n, strerror(errno));
		snprintf(want, sizeof want, "%015ld", n % 1000000000000000L);
		if(strcmp(rec, want) != 0)
			printf("FAIL: read \"%s\", want \"%s\"\n", rec, want);
		printf("fifo %ld\n", n);
		usleep(100000);
	}
}
