/*
 * bigheap MB [delay_us [touched_mb]]: malloc MB MiB and fill it (or
 * its first touched_mb MiB: the rest is never touched) with a known
 * pattern (each 64-bit word is a function of its offset), print "ready",
 * then for ever verify one 16 MiB region at a time, going round what it
 * filled, and print "alive N".  A wrong word prints "FAIL offset" and
 * exits 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

enum {
	Region	= 16<<20,
};

static uint64_t
pat(uint64_t off)
{
	return off * 0x9e3779b97f4a7c15ULL ^ 0x5eed;
}

int
main(int argc, char **argv)
{
	uint64_t *heap, i, nw, per, at, mb;
	long n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if(argc < 2 || argc > 4 || atol(argv[1]) <= 0){
		fprintf(stderr, "usage: bigheap mb [delay_us [touched_mb]]\n");
		return 2;
	}
	mb = atol(argv[1]);
	if((heap = malloc(mb << 20)) == NULL){
		perror("malloc");
		return 1;
	}
	if(argc > 3 && atol(argv[3]) > 0 && (uint64_t)atol(argv[3]) < mb)
		mb = atol(argv[3]);
	nw = mb << 20 >> 3;
	for(i = 0; i < nw; i++)
		heap[i] = pat(i*8);
	printf("ready\n");
	per = Region / 8 < nw ? Region / 8 : nw;
	at = 0;
	for(n = 0;; n++){
		for(i = 0; i < per; i++, at = (at+1) % nw)
			if(heap[at] != pat(at*8)){
				printf("FAIL %llu\n", (unsigned long long)at*8);
				return 1;
			}
		printf("alive %ld\n", n);
		usleep(argc > 2 ? atol(argv[2]) : 100000);
	}
}
