/*
 * Writing an image: the restorer, then page data as memory is read,
 * then the metadata sections, then the trailer that finds them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include "engine.h"

extern char restorer_start[], restorer_end[];


int
bufadd(Buf *b, const void *p, size_t n)
{
	char *q;
	size_t cap;

	if(b->n + n > b->cap){
		cap = b->cap ? b->cap : 4096;
		while(cap < b->n + n)
			cap *= 2;
		q = realloc(b->p, cap);
		if(q == NULL){
			werrstr("out of memory");
			return -1;
		}
		b->p = q;
		b->cap = cap;
	}
	if(n > 0)
		memcpy(b->p + b->n, p, n);
	b->n += n;
	return 0;
}

uint32_t
imgstr(Img *m, const char *s)
{
	uint32_t off = m->blob.n;

	if(bufadd(&m->blob, s, strlen(s) + 1) < 0)
		return Nil;
	return off;
}

static int
pwriteall(int fd, const void *p, size_t n, uint64_t off)
{
	const char *b = p;
	ssize_t r;

	while(n > 0){
		r = pwrite(fd, b, n, off);
		if(r < 0 && errno == EINTR)
			continue;
		if(r <= 0){
			werrstr("write image: %s", r < 0 && errno == ENOSPC ? "no space left on device" :
				r < 0 && errno == EFBIG ? "file too large" : strerror(r < 0 ? errno : EIO));
			return -1;
		}
		b += r;
		n -= r;
		off += r;
	}
	return 0;
}

/*
 * Page data is written back by a thread of its own as it comes, a
 * step at a time, while memory is still being read: the fsync at the
 * end then waits only for the last of it.
 */
enum {
	Wbstep	= 8<<20,	/* bytes written back at once */
};

struct Wback {
	pthread_mutex_t	lk;
	pthread_cond_t	cv;
	pthread_t	thr;
	int	fd;
	uint64_t	done;	/* written back up to here */
	uint64_t	end;	/* written up to here */
	int	quit;
};

static void *
wbproc(void *a)
{
	Wback *w = a;
	uint64_t from, to;

	/* this thread only: it yields to a snap's stop, which it may overlap */
	setpriority(PRIO_PROCESS, 0, 10);
	pthread_mutex_lock(&w->lk);
	for(;;){
		while(!w->quit && w->end - w->done < Wbstep)
			pthread_cond_wait(&w->cv, &w->lk);
		if(w->quit)
			break;
		from = w->done;
		to = w->end;
		w->done = to;
		pthread_mutex_unlock(&w->lk);
		sync_file_range(w->fd, from, to - from, SYNC_FILE_RANGE_WRITE);
		pthread_mutex_lock(&w->lk);
	}
	pthread_mutex_unlock(&w->lk);
	return NULL;
}

/* none if there can be no thread: fsync does it all */
static Wback *
wbstart(int fd, uint64_t off)
{
	Wback *w;

	w = calloc(1, sizeof *w);
	if(w == NULL)
		return NULL;
	pthread_mutex_init(&w->lk, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->fd = fd;
	w->done = w->end = off;
	if(pthread_create(&w->thr, NULL, wbproc, w) != 0){
		free(w);
		return NULL;
	}
	return w;
}

static void
wbmore(Wback *w, uint64_t end)
{
	pthread_mutex_lock(&w->lk);
	w->end = end;
	if(w->end - w->done >= Wbstep)
		pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->lk);
}

static void
wbstop(Img *m)
{
	Wback *w = m->wb;

	if(w == NULL)
		return;
	pthread_mutex_lock(&w->lk);
	w->quit = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->lk);
	pthread_join(w->thr, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->lk);
	free(w);
	m->wb = NULL;
}

int
imgsync(Img *m)
{
	wbstop(m);
	return fsync(m->fd);
}

/*
 * The image file at path, its restorer written; room for about size
 * bytes is allocated at once (blocks a write need not find one at a
 * time, a seventh of a freeze's memory phase), and what is left over
 * goes when imgfinish cuts the file to its length.
 */
int
imgcreate(Img *m, const char *path, uint64_t size)
{
	size_t n = restorer_end - restorer_start;

	m->fd = open(path, O_CREAT|O_TRUNC|O_RDWR|O_CLOEXEC, 0700);
	if(m->fd < 0){
		werrstr("create image: %s", strerror(errno));
		return -1;
	}
	memcpy(m->hdr.magic, Hmagic, sizeof Hmagic);
	m->hdr.version = Iversion;
	m->hdr.arch = Iarch;
	m->hdr.hdrsize = sizeof m->hdr;
	m->off = (n + Ipage - 1) & ~(uint64_t)(Ipage - 1);
	m->hdr.dataoff = m->off;
	if(pwriteall(m->fd, restorer_start, n, 0) < 0)
		return -1;
	fallocate(m->fd, FALLOC_FL_KEEP_SIZE, m->off, size);	/* a file system without it writes as before */
	m->wb = wbstart(m->fd, m->off);
	return 0;
}

int
imgpages(Img *m, const void *p, size_t n, uint64_t *off)
{
	if(pwriteall(m->fd, p, n, m->off) < 0)
		return -1;
	*off = m->off;
	m->off += n;
	if(m->wb != NULL)
		wbmore(m->wb, m->off);
	return 0;
}

/* pages again where they were written before */
int
imgput(Img *m, const void *p, size_t n, uint64_t off)
{
	return pwriteall(m->fd, p, n, off);
}

/* m's header and sections as they go at hdroff, into meta */
static int
metablock(Img *m, Buf *meta, uint64_t hdroff)
{
	/* the section table, in file order */
	struct {
		int	type;
		void	*p;
		size_t	n;
		size_t	esize;
	} tab[] = {
		{Sproc,		&m->proc,	sizeof m->proc,	sizeof m->proc},
		{Sthread,	m->thr.p,	m->thr.n,	sizeof(Ithread)},
		{Svma,		m->vma.p,	m->vma.n,	sizeof(Ivma)},
		{Srun,		m->run.p,	m->run.n,	sizeof(Irun)},
		{Sfd,		m->fds.p,	m->fds.n,	sizeof(Ifd)},
		{Sfile,		m->file.p,	m->file.n,	sizeof(Ifile)},
		{Ssig,		m->sig,		sizeof m->sig,	sizeof m->sig[0]},
		{Sblob,		m->blob.p,	m->blob.n,	1},
		{Stree,		m->tree.p,	m->tree.n,	sizeof(Imember)},
		{Sshare,	m->share.p,	m->share.n,	sizeof(Ishare)},
		{Sshm,		m->shm.p,	m->shm.n,	sizeof(Ishm)},
	};
	static const char pad[64];
	Ihdr *h;
	size_t i, at;

	meta->n = 0;
	if(bufadd(meta, &m->hdr, sizeof m->hdr) < 0)
		return -1;
	for(i = 0; i < sizeof tab/sizeof tab[0]; i++){
		at = (meta->n + 63) & ~(size_t)63;
		if(bufadd(meta, pad, at - meta->n) < 0 || bufadd(meta, tab[i].p, tab[i].n) < 0)
			return -1;
		h = (Ihdr *)meta->p;
		h->sect[tab[i].type].off = hdroff + at;
		h->sect[tab[i].type].size = tab[i].n;
		h->sect[tab[i].type].esize = tab[i].esize;
		h->sect[tab[i].type].count = tab[i].n / tab[i].esize;
	}
	h = (Ihdr *)meta->p;
	h->metasize = meta->n;
	h->metasum = ihash(meta->p + sizeof *h, meta->n - sizeof *h, 0);
	h->hdrsum = 0;
	h->hdrsum = ihash(h, sizeof *h, 0);
	return 0;
}

/*
 * After the page data: the other processes' metadata, then the
 * root's (it says where theirs are), then the trailer.  m[0] is the
 * root; m[i] goes with Imember i of m[0].tree.
 */
int
imgfinish(Img *m, int n)
{
	Buf meta = {0};
	Imember *mb = (Imember *)m[0].tree.p;
	Itrail t;
	uint64_t end, at;
	int i, r = -1;

	end = m[0].off;
	for(i = 1; i < n; i++)
		if(m[i].off > end)
			end = m[i].off;
	at = end;
	for(i = 0; i < n; i++)
		m[i].hdr.datasize = end - m[i].hdr.dataoff;
	for(i = 1; i < n; i++){
		if(mb[i].state != Mlive)
			continue;
		mb[i].hdroff = at;
		if(metablock(&m[i], &meta, at) < 0 || pwriteall(m[0].fd, meta.p, meta.n, at) < 0)
			goto out;
		at += meta.n;
	}
	mb[0].hdroff = at;
	if(metablock(&m[0], &meta, at) < 0)
		goto out;
	memcpy(t.magic, Tmagic, 8);
	t.hdroff = at;
	t.size = at + meta.n + sizeof t;
	t.sum = ihash(&t, 24, 0);
	if(pwriteall(m[0].fd, meta.p, meta.n, at) < 0 ||
	   pwriteall(m[0].fd, &t, sizeof t, at + meta.n) < 0)
		goto out;
	if(ftruncate(m[0].fd, t.size) < 0){
		werrstr("write image: %s", strerror(errno));
		goto out;
	}
	if(m[0].st != NULL)
		m[0].st->imagesize = t.size;
	r = 0;
out:
	free(meta.p);
	return r;
}

void
imgfree(Img *m)
{
	wbstop(m);
	if(m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	free(m->thr.p);
	free(m->vma.p);
	free(m->run.p);
	free(m->fds.p);
	free(m->file.p);
	free(m->blob.p);
	free(m->tree.p);
	free(m->share.p);
	free(m->shm.p);
	memset(m, 0, sizeof *m);
	m->fd = -1;
}
