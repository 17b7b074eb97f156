/*
 * The vdso and its data pages belong to the running kernel.  Ours are
 * parked in the hole while memory is rebuilt, then moved to where the
 * saved process had its own, so the entry points glibc cached still work.
 * Where the saved vdso is another kernel's (another layout), its saved
 * code goes back in place with every entry point patched to jump to the
 * same function in ours, which then stays where it was parked.
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

/* the saved pieces are this kernel's pieces at the same distances */
static int
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
			return 0;
		j++;
	}
	return j == 0 || j == ctx.ncur;
}

void
findvdso(char **envp)
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
	ctx.redirect = !matchvdso();
	for(; *envp; envp++)
		if(strncmp(*envp, "PERSIST_VDSO=redirect", 21) == 0)
			ctx.redirect = 1;	/* tests: the other-kernel path on this one */
	if(ctx.redirect && ctx.ncur == 0)
		fail("no vdso to call through to", 0);
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

	if(nsaved() == 0 || ctx.redirect)
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

/* ELF64, as much as a vdso needs: its dynamic symbols */
enum {
	Shoff = 0x28, Shnum = 0x3c, Shsize = 64, Symsize = 24, Shtdynsym = 11,
};

static uint64_t
rd(const char *p, int n)
{
	uint64_t v = 0;

	memcpy(&v, p, n);
	return v;
}

typedef struct Syms Syms;
struct Syms {
	const char	*base;
	const char	*sym;
	const char	*str;
	uint64_t	n;
};

static int
syms(const char *base, Syms *s)
{
	const char *sh = base + rd(base + Shoff, 8), *h;
	uint64_t i, n = rd(base + Shnum, 2);

	s->base = base;
	for(i = 0; i < n; i++){
		h = sh + i*Shsize;
		if(rd(h + 4, 4) != Shtdynsym)
			continue;
		s->sym = base + rd(h + 0x18, 8);
		s->n = rd(h + 0x20, 8) / Symsize;
		s->str = base + rd(sh + rd(h + 0x28, 4)*Shsize + 0x18, 8);
		return 0;
	}
	return -1;
}

static uint64_t
lookup(Syms *s, const char *name)
{
	uint64_t i;
	const char *y;

	for(i = 0; i < s->n; i++){
		y = s->sym + i*Symsize;
		if((y[4] & 0xf) == 2 && rd(y + 8, 8) != 0 &&
		   strncmp(s->str + rd(y, 4), name, 64) == 0)
			return rd(y + 8, 8);
	}
	return 0;
}

/* v holds the saved vdso, writable: point each of its functions at ours */
void
patchvdso(Ivma *v)
{
	Syms old, cur;
	const char *y, *name;
	char *at;
	uint64_t i, off, to;
	int j;

	for(j = 0; j < ctx.ncur && ctx.cur[j].kind != Vvdso; j++)
		;
	if(j == ctx.ncur || syms((char *)v->start, &old) < 0 ||
	   syms((char *)(ctx.park + ctx.cur[j].start - ctx.cur[0].start), &cur) < 0)
		fail("cannot read vdso symbols", 0);
	for(i = 0; i < old.n; i++){
		y = old.sym + i*Symsize;
		off = rd(y + 8, 8);
		if((y[4] & 0xf) != 2 || off == 0 || off + 12 > v->end - v->start)
			continue;
		name = old.str + rd(y, 4);
		at = (char *)v->start + off;
		to = lookup(&cur, name);
		if(to == 0){
			/* mov $-ENOSYS, %rax; ret */
			memcpy(at, "\x48\xc7\xc0\xda\xff\xff\xff\xc3", 8);
			continue;
		}
		to += (uint64_t)cur.base;
		/* movabs $to, %rax; jmp *%rax */
		at[0] = 0x48;
		at[1] = (char)0xb8;
		memcpy(at + 2, &to, 8);
		at[10] = (char)0xff;
		at[11] = (char)0xe0;
	}
}
