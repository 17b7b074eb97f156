/* stage 2: the saved address space, rebuilt mapping by mapping */
#include "rst.h"

static const struct {
	uint32_t	kind;
	int	flags;
} mapflags[] = {
	{Vanon,		MAP_PRIVATE|MAP_ANONYMOUS},
	{Vstack,	MAP_PRIVATE|MAP_ANONYMOUS|MAP_GROWSDOWN},
	{Vfile,		MAP_PRIVATE|MAP_ANONYMOUS},
	{Vlean,		MAP_PRIVATE},
	{Vshanon,	MAP_SHARED|MAP_ANONYMOUS},
	{Vshfile,	MAP_SHARED},
	{Vsysv,		0},	/* attached, not mapped */
};

static int
flagsof(uint32_t kind)
{
	uint32_t i;

	for(i = 0; i < sizeof mapflags/sizeof mapflags[0]; i++)
		if(mapflags[i].kind == kind)
			return mapflags[i].flags;
	return -1;
}

/* shared memory mapped more than once (by a tree's processes): one memfd each */
static int shmfd[Nshm];

int
shmobject(uint32_t j)
{
	return shmfd[j];
}

/* a memfd's own name for object j, as a mapping or fd of it shows it; else ours */
static void
shmname(uint32_t j, char *name, int n)
{
	const char *p = 0, *q;
	Ivma *v;
	uint32_t i, k, nv;

	for(k = 0; k < ctx.nmb && p == 0; k++){
		if(ctx.mb != 0 && ctx.mb[k].state != Mlive)
			continue;
		usemeta(k);
		v = sect(Svma, &nv);
		for(i = 0; i < nv && p == 0; i++)
			if(v[i].kind == Vshanon && v[i].file == j && strncmp(blobstr(v[i].path), "/memfd:", 7) == 0)
				p = blobstr(v[i].path) + 7;
	}
	seprint(name, name + n, p != 0 ? p : "persist shm");
	/* " (deleted)" */
	for(q = name; *q; q++)
		if(strncmp(q, " (deleted)", 11) == 0)
			*(char *)q = 0;
}

void
premakeshm(void)
{
	Ivma *v;
	Irun *run, *r;
	Ifd *f;
	char name[256];
	uint32_t i, j, k, nv, nr, nf;
	char *map;
	long fd;

	if(ctx.nshm > sizeof shmfd/sizeof shmfd[0])
		fail("too many shared memory objects", 0);
	for(j = 0; j < ctx.nshm; j++){
		shmname(j, name, sizeof name);
		fd = sys2(SYS_memfd_create, name, 1);	/* MFD_CLOEXEC */
		if(fd < 0 || sys2(SYS_ftruncate, fd, ctx.shm[j].size) < 0)
			fail("cannot make shared memory", 0);
		map = rmmap(0, ctx.shm[j].size, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0);
		if(mmapfailed(map))
			fail("cannot make shared memory", 0);
		/* every mapping of it saved the same bytes: all go in, before anyone runs */
		for(k = 0; k < ctx.nmb; k++){
			if(ctx.mb != 0 && ctx.mb[k].state != Mlive)
				continue;
			usemeta(k);
			/* a file of it held as an fd: its whole contents, then the pages over them */
			f = sect(Sfd, &nf);
			for(i = 0; i < nf; i++)
				if(f[i].kind == Dgone && f[i].arg[3] == j + 1 && f[i].arg[1] <= ctx.shm[j].size)
					memcpy(map, (char *)sect(Sblob, 0) + f[i].arg[0], f[i].arg[1]);
			v = sect(Svma, &nv);
			run = sect(Srun, &nr);
			for(i = 0; i < nv; i++){
				if(v[i].kind != Vshanon || v[i].file != j)
					continue;
				for(r = &run[v[i].run]; r < &run[v[i].run + v[i].nrun]; r++)
					if(preadall(ctx.imgfd, map + v[i].pgoff + (r->addr - v[i].start),
					    r->npages*Ipage, r->off) != (long)(r->npages*Ipage) ||
					   phash(map + v[i].pgoff + (r->addr - v[i].start), r->npages*Ipage) != r->sum)
						fail("cannot restore shared memory", "page data");
			}
		}
		sys2(SYS_munmap, map, ctx.shm[j].size);
		shmfd[j] = above(fd, ctx.maxfd + 2);
	}
	usemeta(0);
}

/* what the process had said of the mapping, said again: the one table of Ivma.advice */
static const struct {
	uint32_t	bit;
	int	advice;
} advtab[] = {
	{Adontfork, 10}, {Awipeonfork, 18}, {Adontdump, 16}, {Ahuge, 14},
	{Anohuge, 15}, {Amergeable, 12}, {Arandom, 1}, {Asequential, 2},
};

static void
advise(Ivma *v, uint64_t len)
{
	uint32_t i;

	for(i = 0; i < sizeof advtab/sizeof advtab[0]; i++)
		if(v->advice & advtab[i].bit)
			sys3(SYS_madvise, v->start, len, advtab[i].advice);
	/* as far as RLIMIT_MEMLOCK lets it */
	if(v->advice & Alocked)
		sys2(SYS_mlock, v->start, len);
	/* last: nothing may change it after */
	if(v->advice & Asealed && sys3(SYS_mseal, v->start, len, 0) < 0)
		fail("cannot seal memory again", blobstr(v->path));
}

/*
 * Private memory whose pages are mapped from the image rather than
 * read: nothing is copied until written, but MADV_DONTNEED then brings
 * back the image's bytes where anonymous memory reads zeros.  Runs
 * are not checked against their hashes (that would read them all).
 */
enum {
	Maxmapruns	= 1024,	/* more would make as many mappings: copy instead */
};

static int
mapped(Ivma *v, Irun *run)
{
	Irun *r;
	void *p;

	if(!ctx.mappages || (v->kind != Vanon && v->kind != Vfile) || v->nrun == 0 || v->nrun > Maxmapruns)
		return 0;
	for(r = &run[v->run]; r < &run[v->run + v->nrun]; r++){
		p = rmmap((void *)r->addr, r->npages*Ipage, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED,
			ctx.imgfd, r->off);
		if((uint64_t)p != r->addr)
			fail("cannot map memory", "page data");
	}
	return 1;
}

/*
 * A run's pages from the image, a piece at a time: one call faults the
 * piece in, cheaper than a fault per page inside pread (before 5.14 it
 * fails, harmlessly), and the piece is hashed while it is in cache.
 */
static void
readrun(Irun *r)
{
	enum { Piece = 256<<10 };
	uint64_t at, n, len = r->npages*Ipage;
	char *p = (char *)r->addr;
	Phash h;

	phinit(&h);
	for(at = 0; at < len; at += n){
		n = len - at < Piece ? len - at : Piece;
		sys3(SYS_madvise, p + at, n, MADV_POPULATE_WRITE);
		if(preadall(ctx.imgfd, p + at, n, r->off + at) != (long)n)
			fail("cannot read image", "page data");
		if(ctx.sumlater)
			phadd(&h, p + at, n);
	}
	if(ctx.sumlater && phend(&h) != r->sum)
		fail("corrupt image", "page data checksum mismatch");
}

static void
rebuild(Ivma *v, Irun *run)
{
	uint64_t len = v->end - v->start;
	uint32_t i;
	int flags, fd = -1, fresh = 1;	/* fresh: wants its saved pages */
	void *p;

	flags = flagsof(v->kind);
	if(v->kind == Vvdso && ctx.redirect)
		flags = MAP_PRIVATE|MAP_ANONYMOUS;
	if(flags < 0)
		return;
	if(v->kind == Vlean)
		fd = ctx.leanfd[v->file];
	if(v->kind == Vshanon && v->file != Nil){
		fd = shmfd[v->file];
		flags = MAP_SHARED;
	}
	if(v->kind == Vshfile)
		fd = sharedfd(v);
	if(v->kind == Vsysv)
		fresh = attachshm(v);
	else{
		p = rmmap((void *)v->start, len, PROT_READ|PROT_WRITE, flags|MAP_FIXED, fd,
			fd < 0 ? 0 : v->pgoff);
		if((uint64_t)p != v->start)
			fail("cannot map memory", blobstr(v->path));
	}
	if(v->kind == Vshfile)
		sys1(SYS_close, fd);
	if(mapped(v, run))
		goto done;
	/* pages of the image: not over a file's or a tree's shared object, nor a segment found again */
	for(i = 0; fresh && (fd < 0 || v->kind == Vlean) && i < v->nrun; i++)
		readrun(&run[v->run + i]);
done:
	if(v->kind == Vvdso)
		patchvdso(v);
	if(v->prot != (PROT_READ|PROT_WRITE))
		sys3(SYS_mprotect, v->start, len, v->prot);
	if(v->kind != Vvdso)
		advise(v, len);
}

void
rebuildmem(void)
{
	Ivma *v;
	Irun *run;
	uint32_t i, nv, nr;

	v = sect(Svma, &nv);
	run = sect(Srun, &nr);
	for(i = 0; i < nv; i++)
		rebuild(&v[i], run);
}

struct mmmap {
	uint64_t	startcode, endcode, startdata, enddata;
	uint64_t	startbrk, brk, startstack;
	uint64_t	argstart, argend, envstart, envend;
	uint64_t	auxv;
	uint32_t	auxvsize;
	uint32_t	exefd;
};

/* brk, stack and argument bounds, auxv: one call that needs no privilege */
void
setmm(void)
{
	Iproc *p = sect(Sproc, 0);
	struct mmmap m;
	long r;

	m.startcode = p->startcode;
	m.endcode = p->endcode;
	m.startdata = p->startdata;
	m.enddata = p->enddata;
	m.startbrk = p->startbrk;
	m.brk = p->brk;
	m.startstack = p->startstack;
	m.argstart = p->argstart;
	m.argend = p->argend;
	m.envstart = p->envstart;
	m.envend = p->envend;
	m.auxv = (uint64_t)p->auxv;
	m.auxvsize = p->nauxv * sizeof(uint64_t);
	m.exefd = -1;
	r = sys5(SYS_prctl, PR_SET_MM, PR_SET_MM_MAP, &m, sizeof m, 0);
	if(r < 0)
		writestr(2, "restorer: warning: cannot restore brk and argument bounds\n");
}
