/*
 * Everything that can refuse an image is checked here, in stage 1,
 * before one byte of the runner is destroyed.
 */
#include "rst.h"
#include "cpuid.h"

/* the cpu features a program may have chosen its code paths by */
static const Icpufeat feats[] = {
	{"sse3", C1ecx, 0}, {"ssse3", C1ecx, 9}, {"fma", C1ecx, 12},
	{"cx16", C1ecx, 13}, {"sse4_1", C1ecx, 19}, {"sse4_2", C1ecx, 20},
	{"movbe", C1ecx, 22}, {"popcnt", C1ecx, 23}, {"aes", C1ecx, 25},
	{"xsave", C1ecx, 26}, {"avx", C1ecx, 28}, {"f16c", C1ecx, 29},
	{"rdrand", C1ecx, 30}, {"cmov", C1edx, 15}, {"mmx", C1edx, 23},
	{"fxsr", C1edx, 24}, {"sse", C1edx, 25}, {"sse2", C1edx, 26},
	{"bmi1", C7ebx, 3}, {"avx2", C7ebx, 5}, {"bmi2", C7ebx, 8},
	{"erms", C7ebx, 9}, {"avx512f", C7ebx, 16}, {"avx512dq", C7ebx, 17},
	{"rdseed", C7ebx, 18}, {"adx", C7ebx, 19}, {"avx512ifma", C7ebx, 21},
	{"clflushopt", C7ebx, 23}, {"avx512cd", C7ebx, 28}, {"sha", C7ebx, 29},
	{"avx512bw", C7ebx, 30}, {"avx512vl", C7ebx, 31},
	{"avx512vbmi", C7ecx, 1}, {"avx512vbmi2", C7ecx, 6}, {"gfni", C7ecx, 8},
	{"vaes", C7ecx, 9}, {"vpclmulqdq", C7ecx, 10}, {"avx512vnni", C7ecx, 11},
	{"avx512bitalg", C7ecx, 12}, {"avx512vpopcnt", C7ecx, 14},
	{"fsrm", C7edx, 4}, {"avx512fp16", C7edx, 23}, {"amx-tile", C7edx, 24},
	{"lzcnt", C81ecx, 5}, {"sse4a", C81ecx, 6}, {"prefetchw", C81ecx, 8},
	{"xop", C81ecx, 11}, {"fma4", C81ecx, 16}, {"tbm", C81ecx, 21},
	{"rdtscp", C81edx, 27}, {"avx-vnni", C71eax, 4}, {"avx512bf16", C71eax, 5},
};

/* xsave state components a process may hold */
static const Icpufeat xfeats[] = {
	{"sse", 0, 1}, {"avx", 0, 2}, {"avx512", 0, 5}, {"avx512", 0, 6},
	{"avx512", 0, 7}, {"pku", 0, 9}, {"amx", 0, 17}, {"amx", 0, 18},
};

void
checkcpu(void)
{
	Ihdr *h = (Ihdr *)ctx.meta;
	uint32_t i;

	readcpu(ctx.cpu, &ctx.xcr0, &ctx.xsize);
	for(i = 0; i < sizeof feats/sizeof feats[0]; i++)
		if((h->cpu[feats[i].word] & 1U<<feats[i].bit) != 0 &&
		   (ctx.cpu[feats[i].word] & 1U<<feats[i].bit) == 0)
			fail("cpu lacks", feats[i].name);
	for(i = 0; i < sizeof xfeats/sizeof xfeats[0]; i++)
		if((h->xcr0 & 1ULL<<xfeats[i].bit) != 0 &&
		   (ctx.xcr0 & 1ULL<<xfeats[i].bit) == 0)
			fail("cpu lacks", xfeats[i].name);
}

static void
checksects(Ihdr *h, uint64_t hdroff)
{
	int i;
	Isect *s;

	for(i = 0; i < Nsect; i++){
		s = &h->sect[i];
		if(s->off < hdroff + h->hdrsize || s->off + s->size > hdroff + h->metasize ||
		   (uint64_t)s->count * s->esize > s->size)
			fail("corrupt image", "bad section table");
	}
}

/*
 * Every run in bounds; and, for a tree, its bytes as hashed, since no
 * process of a tree may be destroyed before all are sure.  One process
 * checks each run as it reads it in (stage 2): its runner is the image
 * itself, so nothing is lost by finding out then, and the data is read
 * once instead of twice.
 */
static void
checkruns(uint64_t fsize, int now)
{
	Ihdr *h = (Ihdr *)ctx.meta;
	Irun *r;
	uint32_t i, n;
	char *map;

	r = sect(Srun, &n);
	if(n == 0)
		return;
	if(h->dataoff + h->datasize > fsize)
		fail("corrupt image", "page data past end of file");
	for(i = 0; i < n; i++)
		if(r[i].off < h->dataoff || r[i].off + r[i].npages*Ipage > h->dataoff + h->datasize)
			fail("corrupt image", "page run out of bounds");
	if(!now)
		return;
	map = rmmap(0, h->datasize, PROT_READ, MAP_PRIVATE, ctx.imgfd, h->dataoff);
	if(mmapfailed(map))
		fail("cannot map page data", 0);
	for(i = 0; i < n; i++)
		if(phash(map + (r[i].off - h->dataoff), r[i].npages*Ipage) != r[i].sum)
			fail("corrupt image", "page data checksum mismatch");
	sys2(SYS_munmap, map, h->datasize);
}

/* one process's header and sections at hdroff, checked, in memory of our own */
static char *
loadmeta(uint64_t hdroff, uint64_t size)
{
	Ihdr h;
	uint64_t sum;
	char *meta;

	if(hdroff + sizeof h > size || preadall(ctx.imgfd, &h, sizeof h, hdroff) != sizeof h)
		fail("corrupt image", "header out of bounds");
	if(memcmp(h.magic, Hmagic, 8) != 0)
		fail("corrupt image", "bad header magic");
	sum = h.hdrsum;
	h.hdrsum = 0;
	if(ihash(&h, sizeof h, 0) != sum)
		fail("corrupt image", "header checksum mismatch");
	h.hdrsum = sum;
	if(h.version != Iversion)
		fail("image version not supported", 0);
	if(h.arch != Iarch)
		fail("image is for another architecture", 0);
	if(h.hdrsize != sizeof h || h.metasize < sizeof h || hdroff + h.metasize > size)
		fail("corrupt image", "bad header sizes");
	checksects(&h, hdroff);

	meta = rmmap(0, h.metasize, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
	if(mmapfailed(meta))
		fail("out of memory", 0);
	if(preadall(ctx.imgfd, meta, h.metasize, hdroff) != (long)h.metasize)
		fail("cannot read image", 0);
	if(ihash(meta + h.hdrsize, h.metasize - h.hdrsize, 0) != h.metasum)
		fail("corrupt image", "metadata checksum mismatch");
	memcpy(meta, &h, sizeof h);
	return meta;
}

/* the processes of a tree: each after its parent, each live one's metadata checked */
static void
checktree(uint64_t size)
{
	Imember *mb;
	uint32_t i, n;

	mb = sect(Stree, &n);
	if(n > Nmember)
		fail("corrupt image", "too many processes");
	ctx.mb = mb;
	ctx.nmb = n > 0 ? n : 1;
	ctx.metas[0] = ctx.meta;
	ctx.hdroffs[0] = ctx.hdroff;
	ctx.share = sect(Sshare, &ctx.nshare);
	ctx.shm = sect(Sshm, &ctx.nshm);
	for(i = 1; i < n; i++){
		if(mb[i].parent >= i)
			fail("corrupt image", "process tree out of order");
		if(mb[i].state != Mlive)
			continue;
		ctx.metas[i] = loadmeta(mb[i].hdroff, size);
		ctx.hdroffs[i] = mb[i].hdroff;
		usemeta(i);
		checkruns(size, 1);
	}
	usemeta(0);
	ctx.sumlater = ctx.nmb < 2;
	checkruns(size, !ctx.sumlater);
}

void
checkimage(void)
{
	Itrail t;
	long size;

	size = sys3(SYS_lseek, ctx.imgfd, 0, 2);
	if(size < (long)(sizeof t + sizeof(Ihdr)))
		fail("not an image", "too short");
	if(preadall(ctx.imgfd, &t, sizeof t, size - sizeof t) != sizeof t)
		fail("cannot read image", 0);
	if(memcmp(t.magic, Tmagic, 8) != 0)
		fail("not an image", "no trailer: truncated or not made by persist");
	if(ihash(&t, 24, 0) != t.sum)
		fail("corrupt image", "trailer checksum mismatch");
	if(t.size != (uint64_t)size)
		fail("truncated image", "size differs from what was written");
	ctx.meta = loadmeta(t.hdroff, size);
	ctx.hdroff = t.hdroff;
	checktree(size);
}
