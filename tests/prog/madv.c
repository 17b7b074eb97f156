/*
 * madv: maps seven regions and says something of each (MADV_DONTFORK,
 * MADV_WIPEONFORK, MADV_DONTDUMP, MADV_HUGEPAGE, MADV_RANDOM, mlock,
 * mseal); each 100 ms it reads its own smaps and prints "ok N" if every
 * region's VmFlags still show it, else "FAIL: why".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

enum {
	Len	= 4 << 20,
	Nreg	= 7,
};

static struct {
	int	advice;		/* -1 mlock, -2 mseal */
	char	flag[3];
	char	*at;
} reg[Nreg] = {
	{MADV_DONTFORK, "dc", NULL}, {MADV_WIPEONFORK, "wf", NULL}, {MADV_DONTDUMP, "dd", NULL},
	{MADV_HUGEPAGE, "hg", NULL}, {MADV_RANDOM, "rr", NULL}, {-1, "lo", NULL}, {-2, "sl", NULL},
};

/* does the map that starts at a have flag in its VmFlags? */
static int
hasflag(char *a, const char *flag)
{
	char line[512], *p;
	unsigned long start, end;
	int in = 0, r = 0;
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	while(f != NULL && fgets(line, sizeof line, f) != NULL){
		if(sscanf(line, "%lx-%lx ", &start, &end) == 2)
			in = start == (unsigned long)a;
		else if(in && strncmp(line, "VmFlags:", 8) == 0)
			for(p = line + 8; (p = strstr(p, flag)) != NULL; p += 2)
				if(p[-1] == ' ' && (p[2] == ' ' || p[2] == '\n'))
					r = 1;
	}
	if(f != NULL)
		fclose(f);
	return r;
}

int
main(void)
{
	long n;
	int i, ok;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for(i = 0; i < Nreg; i++){
		/* a page apart: no two merge */
		reg[i].at = mmap((char *)0x600000000000 + (long)i * 2 * Len, Len, PROT_READ|PROT_WRITE,
			MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE, -1, 0);
		if(reg[i].at == MAP_FAILED){
			printf("FAIL: mmap: %s\n", strerror(errno));
			return 1;
		}
		memset(reg[i].at, i + 1, 4096);
		if(reg[i].advice >= 0 ? madvise(reg[i].at, Len, reg[i].advice) :
		   reg[i].advice == -1 ? mlock(reg[i].at, 4096) : syscall(462, reg[i].at, Len, 0)){
			printf("FAIL: advice %s: %s\n", reg[i].flag, strerror(errno));
			return 1;
		}
	}
	for(n = 0; ; n++){
		ok = 1;
		for(i = 0; i < Nreg; i++)
			if(!hasflag(reg[i].at, reg[i].flag)){
				printf("FAIL: step %ld: no %s\n", n, reg[i].flag);
				ok = 0;
			}
		if(ok)
			printf("ok %ld\n", n);
		usleep(100000);
	}
}
