/*
 * counter [delay_us]: keep one count in heap, stack and static data at
 * once and print "n heap stack static" each step on stdout; all four
 * must agree.  Every word of the heap and stack arrays (several pages
 * each) holds the count, so a page restored wrong shows as FAIL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

enum {
	Nword	= 4096,	/* 32 KiB: eight pages */
};

static long sdata = -1;	/* initialised: lives in .data, not .bss */

static long
check(long *a, long n)
{
	int i;

	for(i = 0; i < Nword; i++)
		if(a[i] != n)
			return a[i];
	return n;
}

int
main(int argc, char **argv)
{
	long stack[Nword], *heap, n, h, s;
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if((heap = malloc(Nword * sizeof heap[0])) == NULL){
		perror("malloc");
		return 1;
	}
	for(i = 0; i < Nword; i++)
		heap[i] = stack[i] = -1;
	for(n = 0;; n++){
		for(i = 0; i < Nword; i++){
			heap[i]++;
			stack[i]++;
		}
		sdata++;
		h = check(heap, n);
		s = check(stack, n);
		if(h != n || s != n || sdata != n)
			printf("FAIL %ld %ld %ld %ld\n", n, h, s, sdata);
		else
			printf("%ld %ld %ld %ld\n", n, h, s, sdata);
		usleep(argc > 1 ? atol(argv[1]) : 50000);
	}
}
