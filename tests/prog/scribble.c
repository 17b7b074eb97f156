/*
 * scribble MB [N [US]]: MB MiB of pages, each stamped in its first and last word
 * with the round that last wrote it, and the sum of the stamps kept
 * beside.  Round after round (US microseconds apart, 100) it rewrites N
 * random pages (64), drops some
 * (MADV_DONTNEED: stamp 0), maps chunks afresh (MAP_FIXED: 0), grows
 * its heap by sbrk and its stack by ever deeper recursion, every frame
 * stamped and checked on the way back.  Memory not taken at one instant
 * breaks the sum or a stamp: SIGUSR1 makes it check all at the top of
 * its next round and print "ok ROUND", or "FAIL ..." and exit 1.
 * Prints "ready" first, and "steady" once its stack has grown whole
 * (from then on it writes little of it).
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

enum {
	Page	= 4096,
	Nw	= Page / 8,
	Chunk	= 16,		/* pages mapped afresh at once */
	Maxbrk	= 1024,		/* pages grown by sbrk */
	Maxdepth	= 1200,	/* frames of a page: under 5 MiB of stack */
};

static volatile sig_atomic_t asked;
static long gap = 100;
static uint64_t *pages, np, sum, rnd = 88172645463325252ULL;
static uint64_t *brkp[Maxbrk];
static int nbrk;

static uint64_t
next(void)
{
	rnd ^= rnd << 13;
	rnd ^= rnd >> 7;
	rnd ^= rnd << 17;
	return rnd;
}

static void
fail(const char *what, uint64_t i, uint64_t round)
{
	printf("FAIL %s %llu round %llu\n", what, (unsigned long long)i, (unsigned long long)round);
	exit(1);
}

static void
stamp(uint64_t *p, uint64_t v)
{
	sum += v - p[0];
	p[0] = v;
	p[Nw-1] = v;
}

/* a frame a page deep at each level, stamped, checked as it unwinds */
static void
deep(int d, uint64_t round)
{
	volatile uint64_t frame[Nw];

	frame[0] = round ^ d;
	frame[Nw-1] = round ^ d;
	if(d > 0)
		deep(d - 1, round);
	else
		usleep(gap);	/* a system call: where a snap may stop it, deepest */
	if(frame[0] != (round ^ d) || frame[Nw-1] != (round ^ d))
		fail("stack frame", d, round);
}

static void
check(uint64_t round)
{
	uint64_t s = 0, i;
	int k;

	for(i = 0; i < np; i++){
		if(pages[i*Nw] != pages[i*Nw + Nw-1])
			fail("torn page", i, round);
		s += pages[i*Nw];
	}
	for(k = 0; k < nbrk; k++){
		if(brkp[k][0] != brkp[k][Nw-1])
			fail("torn brk page", k, round);
		s += brkp[k][0];
	}
	if(s != sum)
		fail("sum off by", s - sum, round);
	printf("ok %llu\n", (unsigned long long)round);
}

static void
onusr1(int sig)
{
	asked = 1;
}

int
main(int argc, char **argv)
{
	uint64_t round, i, j, n = 64;
	void *p;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if(argc < 2 || argc > 4 || atol(argv[1]) <= 0){
		fprintf(stderr, "usage: scribble mb [n [us]]\n");
		return 2;
	}
	if(argc >= 3)
		n = atol(argv[2]);
	if(argc == 4)
		gap = atol(argv[3]);
	np = ((uint64_t)atol(argv[1]) << 20) / Page;
	pages = mmap(NULL, np * Page, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
	if(pages == MAP_FAILED){
		perror("mmap");
		return 1;
	}
	signal(SIGUSR1, onusr1);
	for(i = 0; i < np; i++)
		stamp(pages + i*Nw, i + 1);
	printf("ready\n");
	for(round = 1;; round++){
		if(asked){
			asked = 0;
			check(round);
		}
		for(j = 0; j < n; j++)
			stamp(pages + next() % np * Nw, round);
		if(round % 8 == 0){
			i = next() % np;
			sum -= pages[i*Nw];
			madvise(pages + i*Nw, Page, MADV_DONTNEED);
		}
		if(round % 32 == 0){
			i = next() % (np / Chunk) * Chunk;
			for(j = i; j < i + Chunk; j++)
				sum -= pages[j*Nw];
			p = mmap(pages + i*Nw, Chunk * Page, PROT_READ|PROT_WRITE,
				MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0);
			if(p == MAP_FAILED)
				fail("mmap", i, round);
		}
		if(round % 16 == 0 && nbrk < Maxbrk){
			if((p = sbrk(Page)) == (void *)-1)
				fail("sbrk", nbrk, round);
			brkp[nbrk] = p;
			memset(p, 0, Page);
			stamp(brkp[nbrk++], round);
		}
		if(round == Maxdepth)
			printf("steady\n");
		deep(round < Maxdepth ? round : round % 64, round);
	}
}
