/*
 * What a process told the kernel about its mappings (madvise, mlock,
 * mseal), as /proc/pid/smaps's VmFlags line shows it, one letter pair
 * each.  smaps is slow for a big process (it counts every page), so a
 * snap reads it before its stop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine.h"

/* the one table: VmFlags code to Ivma.advice bit */
static const struct {
	char	code[3];
	uint32_t	bit;
} advtab[] = {
	{"dc", Adontfork}, {"wf", Awipeonfork}, {"dd", Adontdump},
	{"hg", Ahuge}, {"nh", Anohuge}, {"mg", Amergeable},
	{"rr", Arandom}, {"sr", Asequential}, {"lo", Alocked}, {"sl", Asealed},
};

static uint32_t
advice(const char *flags)
{
	uint32_t bits = 0;
	size_t i;
	const char *p;

	for(i = 0; i < sizeof advtab/sizeof advtab[0]; i++)
		for(p = flags; (p = strstr(p, advtab[i].code)) != NULL; p += 2)
			if(p[-1] == ' ' && (p[2] == ' ' || p[2] == '\n' || p[2] == 0)){
				bits |= advtab[i].bit;
				break;
			}
	return bits;
}

/* every map's start and advice, in address order */
int
vmadvice(pid_t pid, Advice **out, int *nout)
{
	char path[64], *s, *l, *nl;
	Advice *a = NULL, *q;
	uint64_t start, end;
	int n = 0;

	snprintf(path, sizeof path, "/proc/%d/smaps", pid);
	s = readfile(path, NULL);
	if(s == NULL){
		werrstr("process exited");
		return -1;
	}
	for(l = s; (nl = strchr(l, '\n')) != NULL; l = nl + 1){
		*nl = 0;
		if(strncmp(l, "VmFlags:", 8) == 0){
			if(n > 0)
				a[n-1].bits = advice(l + 8);
			continue;
		}
		/* a map's first line; its other lines are "Name: value" */
		if(sscanf(l, "%lx-%lx ", &start, &end) != 2)
			continue;
		q = realloc(a, (n + 1) * sizeof *a);
		if(q == NULL){
			free(a);
			free(s);
			werrstr("out of memory");
			return -1;
		}
		a = q;
		a[n].start = start;
		a[n].end = end;
		a[n].bits = 0;
		n++;
	}
	free(s);
	*out = a;
	*nout = n;
	return 0;
}
