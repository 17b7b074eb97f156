/*
 * cowfile FILE [N [US]]: map FILE private and writable, read every page
 * of it, and write half of them (each page filled with one byte);
 * then round after round (US microseconds apart, 1000) fill N random
 * pages (16), half of the time with zeros.  A byte per page kept in
 * anonymous memory says what each page holds: the file's own byte for
 * a page never written.  SIGUSR1 makes it check every page at the top
 * of its next round and print "ok ROUND", or "FAIL page P" and exit 1.
 * Prints "ready" first.  For lean snaps: a page of the file written,
 * even with zeros, is the process's own and must come back as written.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

enum {
	Page	= 4096,
};

static volatile sig_atomic_t asked;

static void
onusr1(int sig)
{
	(void)sig;
	asked = 1;
}

/* the page holds b throughout (its first, middle and last words suffice: it was filled whole) */
static int
holds(const unsigned char *p, unsigned char b)
{
	return p[0] == b && p[Page/2] == b && p[Page-1] == b;
}

int
main(int argc, char **argv)
{
	unsigned char *map, *want, b;
	uint64_t np, i, p, round, n = 16;
	long gap = 1000;
	struct stat sb;
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if(argc < 2 || argc > 4){
		fprintf(stderr, "usage: cowfile file [n [us]]\n");
		return 2;
	}
	if(argc > 2)
		n = strtoull(argv[2], NULL, 10);
	if(argc > 3)
		gap = atol(argv[3]);
	if((fd = open(argv[1], O_RDONLY)) < 0 || fstat(fd, &sb) < 0 || sb.st_size < Page){
		perror(argv[1]);
		return 1;
	}
	np = sb.st_size / Page;
	map = mmap(NULL, np * Page, PROT_READ|PROT_WRITE, MAP_PRIVATE, fd, 0);
	want = malloc(np);
	if(map == MAP_FAILED || want == NULL){
		perror("mmap");
		return 1;
	}
	close(fd);
	for(i = 0; i < np; i++)
		want[i] = map[i * Page];
	for(i = 0; i < np; i += 2){
		want[i] = 1 + i % 200;
		memset(map + i * Page, want[i], Page);
	}
	signal(SIGUSR1, onusr1);
	printf("ready\n");
	for(round = 1;; round++){
		if(asked){
			asked = 0;
			for(i = 0; i < np; i++)
				if(!holds(map + i * Page, want[i])){
					printf("FAIL page %llu: %d, not %d\n", (unsigned long long)i,
						map[i * Page], want[i]);
					return 1;
				}
			printf("ok %llu\n", (unsigned long long)round);
		}
		for(i = 0; i < n; i++){
			p = random() % np;
			b = random() % 2 ? 0 : 1 + round % 200;
			memset(map + p * Page, b, Page);
			want[p] = b;
		}
		usleep(gap);
	}
}
