/*
 * snap by tracking: memory is read while the process runs, and only
 * what it wrote meanwhile is read again in the stop.  The process gets
 * a userfaultfd (one injected call, closed again at once: we hold our
 * own reference), its private maps are registered for asynchronous
 * write protection (UFFD_FEATURE_WP_ASYNC: the kernel resolves the
 * faults itself, nothing waits on us) and protected with PAGEMAP_SCAN;
 * then they are read.  In the stop, PAGEMAP_SCAN says which pages were
 * written (or dropped) since: those are read again, the rest come from
 * the runs read ahead.  Closing the userfaultfd unregisters it all.
 * A process that wrote more during the read ahead than the stop should
 * read has what it wrote read a second time before the stop.
 * Needs Linux 6.7; where any step is refused the snap is by a copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>
#include "engine.h"

/* the kernel's ABI (6.7), which Debian 12's headers predate */
enum {
	Wpunpopulated	= 1<<13,	/* UFFD_FEATURE_WP_UNPOPULATED */
	Wpasync		= 1<<15,	/* UFFD_FEATURE_WP_ASYNC */
	Wpallowed	= 1<<0,		/* PAGE_IS_WPALLOWED */
	Written		= 1<<1,		/* PAGE_IS_WRITTEN */
	Present		= 1<<3,		/* PAGE_IS_PRESENT */
	Swapped		= 1<<4,		/* PAGE_IS_SWAPPED */
	Wpmatching	= 1<<0,		/* PM_SCAN_WP_MATCHING */
	Nregion		= 512,
	Againbatch	= 256<<10,	/* bytes read again per call */
};

typedef struct Region Region;
struct Region {
	uint64_t	start, end, categories;
};

typedef struct Scanarg Scanarg;
struct Scanarg {
	uint64_t	size, flags, start, end, walkend, vec, veclen, maxpages;
	uint64_t	inverted, mask, anyof, ret;
};

#define PAGEMAP_SCAN	_IOWR('f', 16, Scanarg)

typedef struct Range Range;
struct Range {
	uint64_t	start, end;
	int	keepzero;	/* a lean map's: a zero page read again is not a hole */
};

struct Track {
	pid_t	pid;
	int	uffd;		/* ours; the process's own was closed */
	int	pmfd;		/* its pagemap: PAGEMAP_SCAN */
	int	imgfd;		/* the image: split runs are hashed again from it */
	Range	*r;		/* registered, protected, then read */
	int	nr, cap;
	Buf	ahead;		/* Irun[] read ahead, in address order */
	char	*stale;		/* per run read ahead: pages of it read again, its sum is not theirs */
	double	heldms;		/* the process held to make the userfaultfd */
};

/*
 * The pages of [start, end) whose categories, inverted as inv says,
 * are all of mask, in regions of v with the categories of ret (mask
 * too, if 0); with Wpmatching, those there (present or swapped) are
 * protected.  Holes are not: a page made in one is written as far as
 * the scan can tell, and a protected hole would cost a page table
 * kept after (and a fork walks it).
 */
static long
scan(Track *tr, uint64_t start, uint64_t end, uint64_t inv, uint64_t flags, uint64_t mask,
	uint64_t ret, Region *v, int nv, uint64_t *walkend)
{
	Scanarg a;
	long r;

	memset(&a, 0, sizeof a);
	a.size = sizeof a;
	a.flags = flags & Wpmatching;
	a.start = start;
	a.end = end;
	a.vec = (uint64_t)(uintptr_t)v;
	a.veclen = nv;
	a.inverted = inv;
	a.mask = mask;
	a.ret = ret != 0 ? ret : mask;
	if(flags & Wpmatching)
		a.anyof = Present|Swapped;
	r = ioctl(tr->pmfd, PAGEMAP_SCAN, &a);
	*walkend = a.walkend;
	return r;
}

/* a userfaultfd of pid's, made by pid (one stopped thread) and taken */
static int
takeuffd(Track *tr)
{
	Tracee t;
	pid_t tid;
	long fd;
	int pidfd, r = -1;
	double t0 = now();

	tid = livetid(tr->pid);
	if(tid <= 0 || tseize(&t, tr->pid, tid) < 0)
		return -1;
	if(tinterrupt(&t) < 0 || twait(&t, Stopwait) < 0 || tsysaddr(&t) < 0)
		goto out;
	fd = tinject(&t, SYS_userfaultfd, O_CLOEXEC|UFFD_USER_MODE_ONLY, 0, 0, 0, 0, 0);
	if(fd < 0)
		goto out;
	pidfd = syscall(SYS_pidfd_open, tr->pid, 0);
	if(pidfd >= 0){
		tr->uffd = syscall(SYS_pidfd_getfd, pidfd, fd, 0);
		close(pidfd);
	}
	tinject(&t, SYS_close, fd, 0, 0, 0, 0, 0);
	r = tr->uffd >= 0 ? 0 : -1;
out:
	tdetach(&t, 0);
	tr->heldms = now() - t0;
	return r;
}

/* register [start, end) and protect it; 0 if it can be read ahead */
int
trackmap(Track *tr, uint64_t start, uint64_t end, int keepzero)
{
	struct uffdio_register reg;
	uint64_t walk;
	Range *q;

	memset(&reg, 0, sizeof reg);
	reg.range.start = start;
	reg.range.len = end - start;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	if(ioctl(tr->uffd, UFFDIO_REGISTER, &reg) < 0)
		return -1;
	if(scan(tr, start, end, 0, Wpmatching, Wpallowed, 0, NULL, 0, &walk) < 0 || walk != end)
		return -1;
	if(tr->nr == tr->cap){
		tr->cap = tr->cap ? 2*tr->cap : 64;
		if((q = realloc(tr->r, tr->cap * sizeof *q)) == NULL)
			return -1;
		tr->r = q;
	}
	tr->r[tr->nr++] = (Range){start, end, keepzero};
	return 0;
}

/*
 * Before the stop: pid's private maps registered, protected and read
 * into img (runs kept apart).  Nil if the kernel or the process will
 * not have it: the snap is then by a copy.
 */
Track *
trackstart(pid_t pid, Img *img, int lean)
{
	struct uffdio_api api;
	char path[64];
	Track *tr;
	Mem *mm;
	Img ahead;

	tr = calloc(1, sizeof *tr);
	if(tr == NULL)
		return NULL;
	tr->pid = pid;
	tr->uffd = -1;
	tr->imgfd = img->fd;
	snprintf(path, sizeof path, "/proc/%d/pagemap", pid);
	tr->pmfd = open(path, O_RDONLY|O_CLOEXEC);
	if(tr->pmfd < 0 || takeuffd(tr) < 0)
		goto fail;
	memset(&api, 0, sizeof api);
	api.api = UFFD_API;
	api.features = Wpasync|Wpunpopulated;
	if(ioctl(tr->uffd, UFFDIO_API, &api) < 0)
		goto fail;
	if((mm = memopen(pid, lean)) == NULL)
		goto fail;
	/* the runs read ahead are kept apart from img's: the stop decides which hold */
	ahead = *img;
	memset(&ahead.run, 0, sizeof ahead.run);
	if(memahead(mm, &ahead, pid, tr) < 0){
		memfree(mm);
		free(ahead.run.p);
		goto fail;
	}
	memfree(mm);
	img->off = ahead.off;
	tr->ahead = ahead.run;
	img->st->pagesahead = img->st->pageswritten;
	return tr;
fail:
	trackfree(tr);
	return NULL;
}

/* the ahead range v lies in, or nil */
static Range *
within(Track *tr, Ivma *v)
{
	int k;

	for(k = 0; k < tr->nr; k++)
		if(tr->r[k].start <= v->start && v->end <= tr->r[k].end)
			return &tr->r[k];
	return NULL;
}

/* v was read ahead whole */
int
tracked(Track *tr, Ivma *v)
{
	return tr != NULL && within(tr, v) != NULL;
}

/* the pages of a written region that are there Pask (a hole written, then dropped, is none) */
static int
there(Track *tr, Ivma *v, uint64_t *pm, Region *w)
{
	Region rg[Nregion];
	uint64_t at, walk, j, e;
	long i, n;

	for(at = w->start; at < w->end; at = walk){
		n = scan(tr, at, w->end, 0, 0, Written, Written|Present|Swapped, rg, Nregion, &walk);
		if(n < 0 || walk <= at)
			return -1;
		for(i = 0; i < n; i++)
			for(j = (rg[i].start - v->start) / Ipage, e = (rg[i].end - v->start) / Ipage; j < e; j++)
				pm[j] = rg[i].categories & (Present|Swapped) ? Pask : 0;
	}
	return 0;
}

/*
 * In the stop: v's pages written since they were read ahead Pask (their
 * pagemap entries are read when they are), the rest Pclean.  -1 if v is
 * not all tracked (a map made, moved or grown since): read it whole.
 * Asking only for written pages takes the scan's fast path: about a
 * millisecond per GiB, where reading pagemap takes ten; holes, which
 * count as written, are told apart in those regions alone.
 */
int
trackpages(Track *tr, Ivma *v, uint64_t *pm)
{
	Region rg[Nregion];
	uint64_t at, walk, np = (v->end - v->start) / Ipage, j;
	long i, n;

	if(within(tr, v) == NULL)
		return -1;
	/* a part not registered: made since, or moved (mremap unregisters) */
	n = scan(tr, v->start, v->end, Wpallowed, 0, Wpallowed, 0, rg, 1, &walk);
	if(n != 0)
		return -1;
	for(j = 0; j < np; j++)
		pm[j] = Pclean;
	for(at = v->start; at < v->end; at = walk){
		n = scan(tr, at, v->end, 0, 0, Written, 0, rg, Nregion, &walk);
		if(n < 0 || walk <= at)
			return -1;
		for(i = 0; i < n; i++)
			if(there(tr, v, pm, &rg[i]) < 0)
				return -1;
	}
	return 0;
}

/* the first run read ahead that ends after addr */
static size_t
runafter(Track *tr, uint64_t addr)
{
	Irun *a = (Irun *)tr->ahead.p;
	size_t lo = 0, hi = tr->ahead.n / sizeof *a, mid;

	while(lo < hi){
		mid = (lo + hi) / 2;
		if(a[mid].addr + a[mid].npages*Ipage <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Where pages from addr (np of them) go: the first k returned lie in
 * one run read ahead, *off where addr's page is in the image; or they
 * lie in none, *off -1.  Pages written since they were read ahead go
 * back where they were: the image holds each page once.
 */
uint64_t
trackplace(Track *tr, uint64_t addr, uint64_t np, int64_t *off)
{
	Irun *a = (Irun *)tr->ahead.p;
	size_t i = runafter(tr, addr);
	uint64_t end = addr + np*Ipage, e;

	*off = -1;
	if(i == tr->ahead.n / sizeof *a || a[i].addr >= end)
		return np;
	if(a[i].addr > addr)
		return (a[i].addr - addr) / Ipage;
	e = a[i].addr + a[i].npages*Ipage;
	*off = a[i].off + (addr - a[i].addr);
	return ((e < end ? e : end) - addr) / Ipage;
}

/* pages written and there (present or swapped) in the maps tracked; -1 if the scan fails */
static int64_t
written(Track *tr)
{
	Region rg[Nregion];
	uint64_t at, walk;
	int64_t n = 0;
	long i, k;
	int j;

	for(j = 0; j < tr->nr; j++)
		for(at = tr->r[j].start; at < tr->r[j].end; at = walk){
			k = scan(tr, at, tr->r[j].end, 0, 0, Written, Written|Present|Swapped, rg, Nregion, &walk);
			if(k < 0 || walk <= at)
				return -1;
			for(i = 0; i < k; i++)
				if(rg[i].categories & (Present|Swapped))
					n += (rg[i].end - rg[i].start) / Ipage;
		}
	return n;
}

/*
 * np pages read again at addr, from buf: into the runs read ahead where
 * they lie in one (whose sums then want doing again), else, but for
 * zero pages (unless keepzero), appended to img as runs of their own,
 * added to more
 */
static int
putagain(Track *tr, Img *img, uint64_t addr, char *buf, uint64_t np, int keepzero, Buf *more)
{
	uint64_t k, j, e, off;
	int64_t at;
	Irun r;

	for(; np > 0; np -= k, addr += k*Ipage, buf += k*Ipage){
		k = trackplace(tr, addr, np, &at);
		if(at >= 0){
			tr->stale[runafter(tr, addr)] = 1;
			if(imgput(img, buf, k*Ipage, at) < 0)
				return -1;
			continue;
		}
		for(j = 0; j < k; j = e){
			for(; j < k && !keepzero && iszero(buf + j*Ipage); j++)
				;
			for(e = j; e < k && (keepzero || !iszero(buf + e*Ipage)); e++)
				;
			if(e == j)
				break;
			if(imgpages(img, buf + j*Ipage, (e - j)*Ipage, &off) < 0)
				return -1;
			r = (Irun){addr + j*Ipage, e - j, off, phash(buf + j*Ipage, (e - j)*Ipage)};
			if(bufadd(more, &r, sizeof r) < 0)
				return -1;
		}
	}
	return 0;
}

/* the runs of more (in address order, apart from tr's) among tr's */
static int
mergeahead(Track *tr, Buf *more)
{
	Irun *a = (Irun *)tr->ahead.p, *b = (Irun *)more->p;
	size_t na = tr->ahead.n / sizeof *a, nb = more->n / sizeof *b, i = 0, j = 0, n = 0;
	Irun *out;
	char *stale;

	out = malloc((na + nb) * sizeof *out);
	stale = calloc(na + nb, 1);
	if(out == NULL || stale == NULL){
		free(out);
		free(stale);
		return -1;
	}
	while(i < na || j < nb){
		if(j == nb || (i < na && a[i].addr < b[j].addr)){
			stale[n] = tr->stale[i];
			out[n++] = a[i++];
		}else
			out[n++] = b[j++];
	}
	free(tr->ahead.p);
	free(tr->stale);
	tr->ahead.p = (char *)out;
	tr->ahead.n = tr->ahead.cap = n * sizeof *out;
	tr->stale = stale;
	return 0;
}

/* the pages of region g, written and protected again, read again a batch at a time */
static int
readagain(Track *tr, Img *img, int memfd, char *buf, Region *g, int keepzero, Buf *more)
{
	uint64_t a, n;

	for(a = g->start; a < g->end; a += n*Ipage){
		n = (g->end - a) / Ipage;
		n = n < Againbatch/Ipage ? n : Againbatch/Ipage;
		readpages(tr->pid, memfd, a, buf, n);
		if(putagain(tr, img, a, buf, n, keepzero, more) < 0)
			return -1;
		img->st->pagesagain += n;
	}
	return 0;
}

/*
 * A second pass before the stop, when the process wrote more pages
 * during the first than the stop should read (few) but not so many
 * that a copy is sure (a quarter of those read ahead): they are
 * protected again and read again, so the stop reads only what is
 * written during this shorter pass.  -1: the snap had better be by a
 * copy (the process may be gone: the copy will say so).
 */
int
trackagain(Track *tr, Img *img, uint64_t few)
{
	Region rg[Nregion];
	Buf more = {0};
	uint64_t at, walk, ahead = 0;
	int64_t w;
	char path[64], *buf = NULL;
	int j, memfd = -1, r = -1;
	long i, k;

	for(i = 0; i < (long)(tr->ahead.n / sizeof(Irun)); i++)
		ahead += ((Irun *)tr->ahead.p)[i].npages;
	w = written(tr);
	if(w < 0 || (uint64_t)w <= few || (uint64_t)w > ahead / 4)
		return w < 0 ? -1 : 0;
	snprintf(path, sizeof path, "/proc/%d/mem", tr->pid);
	memfd = open(path, O_RDONLY|O_CLOEXEC);
	buf = malloc(Againbatch);
	tr->stale = calloc(tr->ahead.n / sizeof(Irun) + 1, 1);
	if(memfd < 0 || buf == NULL || tr->stale == NULL)
		goto out;
	for(j = 0; j < tr->nr; j++)
		for(at = tr->r[j].start; at < tr->r[j].end; at = walk){
			k = scan(tr, at, tr->r[j].end, 0, Wpmatching, Written, 0, rg, Nregion, &walk);
			if(k < 0 || walk <= at)
				goto out;
			for(i = 0; i < k; i++)
				if(readagain(tr, img, memfd, buf, &rg[i], tr->r[j].keepzero, &more) < 0)
					goto out;
		}
	r = mergeahead(tr, &more);
out:
	free(more.p);
	free(buf);
	if(memfd >= 0)
		close(memfd);
	return r;
}

static int
rehash(Track *tr, Irun *r)
{
	size_t n = r->npages * Ipage;
	char *b;

	b = malloc(n);
	if(b == NULL || pread(tr->imgfd, b, n, r->off) != (ssize_t)n){
		free(b);
		werrstr("read back image: %s", strerror(errno));
		return -1;
	}
	r->sum = phash(b, n);
	free(b);
	return 0;
}

/*
 * After the stop: the runs read ahead that hold for v, added to runs.
 * A run cut by a page written since, or by the map's bounds, is split
 * and its pieces hashed again.
 */
int
trackruns(Track *tr, Ivma *v, uint64_t *pm, Buf *runs)
{
	Irun *a = (Irun *)tr->ahead.p, r;
	size_t i, na = tr->ahead.n / sizeof *a;
	uint64_t p, e, q;

	for(i = 0; i < na; i++){
		p = a[i].addr > v->start ? a[i].addr : v->start;
		e = a[i].addr + a[i].npages*Ipage;
		e = e < v->end ? e : v->end;
		while(p < e){
			for(; p < e && !(pm[(p - v->start)/Ipage] & Pclean); p += Ipage)
				;
			for(q = p; q < e && (pm[(q - v->start)/Ipage] & Pclean); q += Ipage)
				;
			if(q == p)
				break;
			r = a[i];
			if(p != a[i].addr || q != a[i].addr + a[i].npages*Ipage || (tr->stale != NULL && tr->stale[i])){
				r.addr = p;
				r.npages = (q - p) / Ipage;
				r.off = a[i].off + (p - a[i].addr);
				if(rehash(tr, &r) < 0)
					return -1;
			}
			if(bufadd(runs, &r, sizeof r) < 0)
				return -1;
			p = q;
		}
	}
	return 0;
}

double
trackheld(Track *tr)
{
	return tr->heldms;
}

void
trackfree(Track *tr)
{
	if(tr == NULL)
		return;
	/* the last reference: the kernel unregisters every map */
	if(tr->uffd >= 0)
		close(tr->uffd);
	if(tr->pmfd >= 0)
		close(tr->pmfd);
	free(tr->r);
	free(tr->ahead.p);
	free(tr->stale);
	free(tr);
}
