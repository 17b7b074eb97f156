/*
 * forkmaps: three 64 KiB maps, a plain one, one MADV_DONTFORK and one
 * MADV_WIPEONFORK, each rewritten every 50 ms with its own pattern
 * and the step, and checked before; prints "ok N" each step, or
 * "FAIL map" and exits 1.  A fork hands on neither of the last two as
 * they are, so a snap by a copy must take them from the process.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>

enum {
	Size	= 64<<10,
	Nmap	= 3,
};

static const struct {
	char	*name;
	int	advice;		/* 0: none */
} maps[Nmap] = {
	{"plain",	0},
	{"dontfork",	MADV_DONTFORK},
	{"wipeonfork",	MADV_WIPEONFORK},
};

static uint64_t
pat(int m, uint64_t w, uint64_t step)
{
	return ((uint64_t)m << 56 | w) * 0x9e3779b97f4a7c15ULL + step;
}

int
main(void)
{
	uint64_t *a[Nmap], w, step;
	int m;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for(m = 0; m < Nmap; m++){
		a[m] = mmap(NULL, Size, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
		if(a[m] == MAP_FAILED || (maps[m].advice && madvise(a[m], Size, maps[m].advice) < 0)){
			perror(maps[m].name);
			return 1;
		}
		for(w = 0; w < Size/8; w++)
			a[m][w] = pat(m, w, 0);
	}
	for(step = 1;; step++){
		for(m = 0; m < Nmap; m++)
			for(w = 0; w < Size/8; w++){
				if(a[m][w] != pat(m, w, step - 1)){
					printf("FAIL %s\n", maps[m].name);
					return 1;
				}
				a[m][w] = pat(m, w, step);
			}
		printf("ok %llu\n", (unsigned long long)step - 1);
		usleep(50000);
	}
}
