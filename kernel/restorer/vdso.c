/*
 * The vdso and its data pages belong to the running kernel.  Ours are
 * parked in the hole while memory is rebuilt, then moved to where the
 * saved process had its own, so the entry points glibc cached still work.
 */
#include "rst.h"

static const struct {
	char	name[16];
	uint32_t	kind;
} vdsonames[] = {
	{"[vdso]", Vvdso}, {"[vvar]", Vvvar}, {"[vvar_vclock]", Vvclock},
};

static int
vdsokind(const char *s, const char *e)
{
	uint32_t i;
	size_t n;

	for(i = 0; i < sizeof vdsonames/sizeof vdsonames[0]; i++){
		n = strlen(vdsonames[i].name);
		if((size_t)(e - s) >= n && memcmp(s, vdsonames[i].name, n) == 0)
			return vdsonames[i].kind;
	}
	return -1;
}

static int
isvdso(Ivma *v)
{
	return v->kind == Vvdso || v->kind == Vvvar || v->kind == Vvclock;
}

/*
 * The saved pieces must be this kernel's pieces at the same distances:
 * then moving ours in place keeps every cached entry point right.
 * TODO: across kernels, redirect the old entry points instead.
 */
static void
matchvdso(void)
{
	Ivma *v;
	uint32_t i, nv;
	int j = 0;
	uint64_t sbase = 0, cbase = ctx.cur[0].start;

	v = sect(Svma, &nv);
	for(i = 0; i < nv; i++){
		if(!isvdso(&v[i]))
			continue;
		if(j == 0)
			sbase = v[i].start;
		if(j >= ctx.ncur || v[i].kind != ctx.cur[j].kind ||
		   v[i].end - v[i].start != ctx.cur[j].end - ctx.cur[j].start ||
		   v[i].start - sbase != ctx.cur[j].start - cbase)
			fail("vdso layout differs from this kernel's", 0);
		j++;
	}
	if(j != 0 && j != ctx.ncur)
		fail("vdso layout differs from this kernel's", 0);
}

void
findvdso(void)
{
	enum { Mapsz = 256*1024 };
	char *buf, *s, *nl, *e;
	const char *p;
	long fd, n, tot;
	int kind;
	uint64_t start, end;

	buf = rmmap(0, Mapsz, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
	if(mmapfailed(buf))
		fail("out of memory", 0);
	fd = sys3(SYS_open, "/proc/self/maps", O_RDONLY|O_CLOEXEC, 0);
	if(fd < 0)
		fail("cannot read", "/proc/self/maps");
	tot = 0;
	while(tot < Mapsz - 1 && (n = sys3(SYS_read, fd, buf + tot, Mapsz - 1 - tot)) > 0)
		tot += n;
	sys1(SYS_close, fd);
	e = buf + tot;
	for(s = buf; s < e; s = nl + 1){
		for(nl = s; nl < e && *nl != '\n'; nl++)
			;
		p = s;
		start = hexnum(&p);
		p++;
		end = hexnum(&p);
		for(; p < nl && *p != '['; p++)
			;
		kind = vdsokind(p, nl);
		if(kind < 0 || ctx.ncur == Nvdso)
			continue;
		ctx.cur[ctx.ncur].start = start;
		ctx.cur[ctx.ncur].end = end;
		ctx.cur[ctx.ncur].kind = kind;
		ctx.ncur++;
	}
	sys2(SYS_munmap, buf, Mapsz);
	/* pieces must come sorted, cur[0] lowest */
	if(ctx.ncur == 0)
		return;
	for(kind = 1; kind < ctx.ncur; kind++)
		if(ctx.cur[kind].start < ctx.cur[kind-1].start)
			fail("cannot parse", "/proc/self/maps");
	matchvdso();
}

static int
nsaved(void)
{
	Ivma *v;
	uint32_t i, nv;
	int n = 0;

	v = sect(Svma, &nv);
	for(i = 0; i < nv; i++)
		if(isvdso(&v[i]))
			n++;
	return n;
}

void
parkvdso(void)
{
	int i;
	uint64_t len, to;
	long r;

	for(i = 0; i < ctx.ncur; i++){
		len = ctx.cur[i].end - ctx.cur[i].start;
		if(nsaved() == 0){
			sys2(SYS_munmap, ctx.cur[i].start, len);
			continue;
		}
		to = ctx.park + (ctx.cur[i].start - ctx.cur[0].start);
		r = sys5(SYS_mremap, ctx.cur[i].start, len, len, MREMAP_MAYMOVE|MREMAP_FIXED, to);
		if(r != (long)to)
			fail("cannot move vdso", 0);
	}
}

void
placevdso(void)
{
	Ivma *v;
	uint32_t i, nv;
	int j = 0;
	uint64_t len, from;
	long r;

	if(nsaved() == 0)
		return;
	v = sect(Svma, &nv);
	for(i = 0; i < nv; i++){
		if(!isvdso(&v[i]))
			continue;
		len = v[i].end - v[i].start;
		from = ctx.park + (ctx.cur[j].start - ctx.cur[0].start);
		r = sys5(SYS_mremap, from, len, len, MREMAP_MAYMOVE|MREMAP_FIXED, v[i].start);
		if(r != (long)v[i].start)
			fail("cannot move vdso", 0);
		j++;
	}
}
