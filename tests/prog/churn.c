/*
 * churn MB: an MB MiB heap rewritten page by page for ever, every word
 * of a page holding its generation; a page is checked just before it
 * is rewritten, so memory not taken at one instant (some pages newer
 * than the rest) prints "FAIL page P gen G" and exits 1.  Prints
 * "ready", then "pass N" after each whole pass.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

enum {
	Page	= 4096,
	Nw	= Page / 8,
};

static uint64_t
pat(uint64_t page, uint64_t w, uint64_t gen)
{
	return (page * Nw + w) * 0x9e3779b97f4a7c15ULL ^ gen;
}

int
main(int argc, char **argv)
{
	uint64_t *heap, np, p, w, gen;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if(argc != 2 || atol(argv[1]) <= 0){
		fprintf(stderr, "usage: churn mb\n");
		return 2;
	}
	np = ((uint64_t)atol(argv[1]) << 20) / Page;
	if((heap = malloc(np * Page)) == NULL){
		perror("malloc");
		return 1;
	}
	for(p = 0; p < np; p++)
		for(w = 0; w < Nw; w++)
			heap[p*Nw + w] = pat(p, w, 0);
	printf("ready\n");
	for(gen = 1;; gen++){
		for(p = 0; p < np; p++)
			for(w = 0; w < Nw; w++){
				if(heap[p*Nw + w] != pat(p, w, gen - 1)){
					printf("FAIL page %llu gen %llu\n", (unsigned long long)p,
						(unsigned long long)gen);
					return 1;
				}
				heap[p*Nw + w] = pat(p, w, gen);
			}
		printf("pass %llu\n", (unsigned long long)gen);
		usleep(20000);
	}
}
