/*
 * The restorer: the program at the front of every image.
 * Stage 1 runs where the kernel loaded us: it checks the whole image
 * and opens every file before anything is destroyed, then moves the
 * restorer into a hole of the saved address space.  Stage 2 runs
 * from the hole: it throws away the rest, rebuilds the saved memory,
 * files and thread state, and returns into the saved registers.
 */
#include "rst.h"

Rctx ctx;
extern char _rbase[], _rend[];

void
fail(const char *what, const char *detail)
{
	char buf[256], *p, *e = buf + sizeof buf;

	p = seprint(buf, e, ctx.name);
	p = seprint(p, e, ": ");
	p = seprint(p, e, what);
	if(detail != 0){
		p = seprint(p, e, ": ");
		p = seprint(p, e, detail);
	}
	p = seprint(p, e, "\n");
	sys3(SYS_write, 2, buf, p - buf);
	if(ctx.readyfd >= 0)
		sys3(SYS_write, ctx.readyfd, buf, p - buf);
	sys1(SYS_exit_group, 1);
	for(;;)
		;
}

void *
sect(int type, uint32_t *count)
{
	Ihdr *h = (Ihdr *)ctx.meta;

	if(count != 0)
		*count = h->sect[type].count;
	return ctx.meta + (h->sect[type].off - ctx.hdroff);
}

/* sect and blobstr look at process k's metadata from now on */
void
usemeta(uint32_t k)
{
	ctx.meta = ctx.metas[k];
	ctx.hdroff = ctx.hdroffs[k];
}

const char *
blobstr(uint32_t off)
{
	if(off == Nil)
		return "";
	return (char *)sect(Sblob, 0) + off;
}

static uint64_t
pageup(uint64_t n)
{
	return (n + Ipage - 1) & ~(uint64_t)(Ipage - 1);
}

static void
setname(const char *argv0)
{
	const char *s, *b = argv0;

	for(s = argv0; *s; s++)
		if(*s == '/')
			b = s + 1;
	seprint(ctx.name, ctx.name + sizeof ctx.name, *b ? b : "image");
}

/* the value of NAME= in the environment, or nil */
const char *
getenv(char **envp, const char *name)
{
	size_t n = strlen(name);

	for(; *envp; envp++)
		if(strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return 0;
}

static int
readyfd(char **envp)
{
	const char *s;
	int fd = 0;

	for(; *envp; envp++){
		if(strncmp(*envp, "PERSIST_READY=", 14) != 0)
			continue;
		for(s = *envp + 14; *s >= '0' && *s <= '9'; s++)
			fd = fd*10 + *s - '0';
		return fd;
	}
	return -1;
}

/* move an fd of ours to base or above, clear of every saved fd */
int
above(int fd, int base)
{
	int nfd;

	nfd = sys3(SYS_fcntl, fd, F_DUPFD_CLOEXEC, base);
	if(nfd < 0)
		fail("too many open files", 0);
	sys1(SYS_close, fd);
	return nfd;
}

static int
movehigh(int fd)
{
	return fd < 0 ? fd : above(fd, ctx.maxfd + 1);
}

static int
trymap(uint64_t a, uint64_t len)
{
	void *p;

	p = rmmap((void *)a, len, PROT_READ|PROT_WRITE|PROT_EXEC,
		MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE, -1, 0);
	if(mmapfailed(p))
		return -1;
	if((uint64_t)p != a){
		sys2(SYS_munmap, p, len);
		return -1;
	}
	return 0;
}

/* a place no saved mapping needs, clear of where we run now */
static void
findhole(uint64_t len)
{
	Ivma *v;
	uint32_t i, n;
	uint64_t lo, hi;

	v = sect(Svma, &n);
	lo = 0x100000000UL;	/* keep clear of low memory */
	for(i = 0; i <= n; i++){
		hi = i < n ? v[i].start : Top;
		if(hi > Ipage)
			hi -= Ipage;
		if(hi > lo && hi - lo >= len){
			if(trymap(hi - len, len) == 0){
				ctx.hole = hi - len;
				return;
			}
			if(trymap(lo, len) == 0){
				ctx.hole = lo;
				return;
			}
		}
		if(i < n && v[i].end + Ipage > lo)
			lo = v[i].end + Ipage;
	}
	fail("no room for the restorer", 0);
}

static void stage2(void *);

void
rmain(long *sp)
{
	char **argv = (char **)(sp + 1), **envp = argv + sp[0] + 1;
	Ithread *t;
	Ifd *fd;
	uint32_t i, k, n, nfile, nthr;
	uint64_t all = ~0UL;
	const char *e;
	uint64_t codelen, metalen, arrlen, framelen, parklen, off;
	Ihdr *h;
	void (*fn)(void *);

	setname(argv[0] ? argv[0] : "image");
	ctx.readyfd = readyfd(envp);
	ctx.cwdfd = -1;
	ctx.imgfd = sys3(SYS_open, "/proc/self/exe", O_RDONLY|O_CLOEXEC, 0);
	if(ctx.imgfd < 0)
		fail("cannot open image", "/proc/self/exe");
	checkimage();
	checkcpu();
	/* private memory copied in, or mapped from the image (quick, but see persist(5)) */
	ctx.mappages = (((Ihdr *)ctx.meta)->flags & Hlazy) != 0;
	if((e = getenv(envp, "PERSIST_PAGES")) != 0)
		ctx.mappages = strncmp(e, "map", 4) == 0;
	/* none until each thread's own mask comes back with its frame */
	sys4(SYS_rt_sigprocmask, 0, &all, 0, 8);

	ctx.maxfd = 2;
	for(k = 0; k < ctx.nmb; k++){
		if(ctx.mb != 0 && ctx.mb[k].state != Mlive)
			continue;
		usemeta(k);
		fd = sect(Sfd, &n);
		for(i = 0; i < n; i++)
			if(fd[i].fd > ctx.maxfd)
				ctx.maxfd = fd[i].fd;
	}
	usemeta(0);
	/* ready fd first: it must get maxfd+1, which placefds leaves open */
	ctx.readyfd = movehigh(ctx.readyfd);
	ctx.imgfd = movehigh(ctx.imgfd);
	/* what the processes share is made before them, and what one holds twice */
	premakeshm();
	premakefds();
	growtree();
	findvdso(envp);
	fd = sect(Sfd, &n);

	/* the hole: trampoline and frames, code, metadata, fd arrays, stack, vdso parking */
	h = (Ihdr *)ctx.meta;
	sect(Sfile, &nfile);
	t = sect(Sthread, &nthr);
	framelen = 0;
	for(i = 0; i < nthr; i++)
		framelen += 1024 + 64 + (t[i].xsize > ctx.xsize ? t[i].xsize : ctx.xsize);
	ctx.tramplen = Ipage + pageup(framelen + planlen());
	codelen = pageup(_rend - _rbase);
	metalen = pageup(h->metasize);
	arrlen = pageup((n + nfile + 1) * sizeof(int));
	parklen = 0;
	for(i = 0; i < (uint32_t)ctx.ncur; i++)
		if(ctx.cur[i].end - ctx.cur[0].start > parklen)
			parklen = ctx.cur[i].end - ctx.cur[0].start;
	ctx.holelen = ctx.tramplen + codelen + metalen + arrlen + Stack + nthr * Tstack + pageup(parklen);
	findhole(ctx.holelen);

	off = ctx.hole + ctx.tramplen + codelen;
	/* the old copy stays mapped (others point into it) until stage 2 clears all */
	memcpy((void *)off, ctx.meta, h->metasize);
	ctx.meta = (char *)off;
	off += metalen;
	ctx.tmpfd = (int *)off;
	ctx.leanfd = ctx.tmpfd + n;
	off += arrlen + Stack;
	ctx.tstacks = off;
	off += nthr * Tstack;
	ctx.park = off;
	ctx.tramp = ctx.hole;

	openfds();
	settle();

	/* last: the copy takes ctx as it is now */
	memcpy((void *)(ctx.hole + ctx.tramplen), _rbase, _rend - _rbase);
	fn = (void (*)(void *))(ctx.hole + ctx.tramplen + ((char *)stage2 - _rbase));
	jumpstack(fn, 0, (void *)(ctx.tstacks - 64));
}


static void
stage2(void *arg)
{
	uint64_t end = ctx.hole + ctx.holelen;

	parkvdso();
	sys2(SYS_munmap, 0, ctx.hole);
	if(end < Top)
		sys2(SYS_munmap, end, Top - end);
	rebuildmem();
	placevdso();
	setmm();
	placefds();
	resumetask();
}
