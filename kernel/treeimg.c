/*
 * What the processes of one image share, found once all are saved:
 * pipes and socket pairs between them, fds that are one open file
 * (kcmp says so: offsets and flags are shared too), shared memory
 * mapped more than once.  The restorer makes each such thing once,
 * before it makes the processes, and hands it down.  A one-process
 * image goes through here too: its dup'd fds are one file as well.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <linux/kcmp.h>
#include "engine.h"

typedef struct Ref Ref;
struct Ref {
	int	mem;	/* member */
	uint32_t	idx;	/* its Ifd's index */
	Ifd	*f;	/* and the Ifd */
	int	up;	/* union-find: another Ref of the same open file, or itself */
};

static Ifd *
fdsof(Img *m, uint32_t *n)
{
	*n = m->fds.n / sizeof(Ifd);
	return (Ifd *)m->fds.p;
}

static uint64_t
stdpipe(Img *m, Ifd *f)
{
	const char *link;

	if(f->kind != Dstd || f->path == Nil)
		return 0;
	link = m->blob.p + f->path;
	return strncmp(link, "pipe:[", 6) == 0 ? strtoull(link + 6, NULL, 10) : 0;
}

/* does the tree hold pipe ino's read end (want 0) or its write end (want 1)? */
static int
holds(Tree *t, Img *m, uint64_t ino, int want)
{
	Ifd *f;
	uint32_t i, n;
	int k;

	for(k = 0; k < t->n; k++)
		for(f = fdsof(&m[k], &n), i = 0; i < n; i++)
			if(((f[i].kind == Dpipe && f[i].arg[0] == ino) || stdpipe(&m[k], &f[i]) == ino) &&
			   ((f[i].flags & O_ACCMODE) != O_RDONLY) == want)
				return 1;
	return 0;
}

static void
whose(char *buf, size_t n, Tree *t, int k)
{
	if(k == 0)
		buf[0] = 0;
	else
		snprintf(buf, n, " of process %d", t->m[k].pid);
}

/*
 * A pipe whose other end no process holds any more (its writers gone:
 * reads see the end; its readers gone: writes fail) needs nobody
 * outside: the restorer's own end of it goes when the restore ends.
 */
static int
widowed(pid_t pid, int fd, int flags)
{
	struct pollfd p;
	int dup, r;

	dup = peerfd(pid, fd);
	if(dup < 0)
		return 0;
	p.fd = dup;
	p.events = 0;
	r = poll(&p, 1, 0) == 1 && (p.revents & ((flags & O_ACCMODE) == O_RDONLY ? POLLHUP : POLLERR));
	close(dup);
	return r;
}

/* fd 0-2 on a pipe the tree holds both ends of, or the other end of which is gone: that pipe, not the runner's fd */
static int
stdpipes(Tree *t, Img *m)
{
	Ifd *f;
	uint32_t i, n;
	uint64_t ino;
	int k;

	for(k = 0; k < t->n; k++)
		for(f = fdsof(&m[k], &n), i = 0; i < n; i++){
			ino = stdpipe(&m[k], &f[i]);
			if(ino != 0 && ((holds(t, m, ino, 0) && holds(t, m, ino, 1)) ||
			   widowed(t->m[k].pid, f[i].fd, f[i].flags)) &&
			   pipefd(t->m[k].pid, f[i].fd, ino, &f[i], &m[k]) < 0)
				return -1;
		}
	return 0;
}

/* does the tree hold the other end of socket pair end f? */
static int
paired(Tree *t, Img *m, Ifd *f)
{
	Ifd *g;
	uint32_t j, ng;
	int l;

	for(l = 0; l < t->n; l++)
		for(g = fdsof(&m[l], &ng), j = 0; j < ng; j++)
			if(g[j].kind == Dsockpair && (uint32_t)g[j].arg[0] == f->arg[0] >> 32)
				return 1;
	return 0;
}

/* every pipe and socket pair saved has both its ends in the tree (or a pipe's other end is gone) */
static int
ends(Tree *t, Img *m)
{
	Ifd *f;
	uint32_t i, n;
	int k;
	char who[32];

	for(k = 0; k < t->n; k++)
		for(f = fdsof(&m[k], &n), i = 0; i < n; i++){
			whose(who, sizeof who, t, k);
			if(f[i].kind == Dsockpair && !paired(t, m, &f[i])){
				werrstr("unsupported: fd %d%s is a connected socket", f[i].fd, who);
				return -1;
			}
			if(f[i].kind == Dpipe && !(holds(t, m, f[i].arg[0], 0) && holds(t, m, f[i].arg[0], 1)) &&
			   !widowed(t->m[k].pid, f[i].fd, f[i].flags)){
				werrstr("unsupported: fd %d%s is a pipe to another process", f[i].fd, who);
				return -1;
			}
		}
	return 0;
}

static int
top(Ref *r, int i)
{
	while(r[i].up != i)
		i = r[i].up = r[r[i].up].up;
	return i;
}

/* the runner's fds and /dev/null are the runner's to share */
static int
sharable(Ifd *f)
{
	return f->kind != Dstd && f->kind != Dtty && f->kind != Dnull;
}

static int
samefile(Tree *t, Ref *a, Ref *b)
{
	return syscall(SYS_kcmp, t->m[a->mem].pid, t->m[b->mem].pid, KCMP_FILE, a->f->fd, b->f->fd) == 0;
}

static int
shares(Tree *t, Img *m)
{
	Ref *r;
	Ifd *f;
	Ishare s;
	uint32_t i, n;
	int k, a, b, nr = 0, total = 0, ret = -1;

	for(k = 0; k < t->n; k++)
		total += m[k].fds.n / sizeof(Ifd);
	r = calloc(total + 1, sizeof *r);
	if(r == NULL){
		werrstr("out of memory");
		return -1;
	}
	for(k = 0; k < t->n; k++)
		for(f = fdsof(&m[k], &n), i = 0; i < n; i++)
			if(sharable(&f[i])){
				r[nr].mem = k;
				r[nr].idx = i;
				r[nr].f = &f[i];
				r[nr].up = nr;
				nr++;
			}
	for(a = 0; a < nr; a++)
		for(b = a + 1; b < nr; b++)
			if(r[a].f->kind == r[b].f->kind && top(r, a) != top(r, b) && samefile(t, &r[a], &r[b]))
				r[top(r, b)].up = top(r, a);
	for(a = 0; a < nr; a++){
		for(b = 0; b < nr; b++)
			if(b != a && top(r, b) == top(r, a))
				break;
		if(b == nr)
			continue;	/* alone */
		memset(&s, 0, sizeof s);
		s.member = r[a].mem;
		s.fd = r[a].idx;
		s.group = top(r, a);
		if(bufadd(&m[0].share, &s, sizeof s) < 0)
			goto out;
	}
	ret = 0;
out:
	free(r);
	return ret;
}

/* shared memory mapped more than once: one object, made once */
/* the Sshm object of ino, made if need be; its index */
static int
shmof(Img *m, uint64_t ino, uint64_t size)
{
	Ishm *o = (Ishm *)m[0].shm.p, s = {ino, 0};
	uint32_t j, no = m[0].shm.n / sizeof *o;

	for(j = 0; j < no && o[j].ino != ino; j++)
		;
	if(j == no && bufadd(&m[0].shm, &s, sizeof s) < 0)
		return -1;
	o = (Ishm *)m[0].shm.p;
	if(size > o[j].size)
		o[j].size = size;
	return j;
}

/*
 * Shared memory mapped more than once, or mapped and held as an fd
 * (a memfd, a deleted file): one object, made once.  A deleted file
 * held only as fds, or a shared mapping of a file still there, is not
 * one of these.
 */
static int
shms(Tree *t, Img *m)
{
	Ivma *v, *w;
	Ifd *f;
	uint32_t i, j, n, nw;
	int k, l, c, x;

	for(k = 0; k < t->n; k++)
		for(v = (Ivma *)m[k].vma.p, n = m[k].vma.n / sizeof *v, i = 0; i < n; i++){
			if(v[i].kind != Vshanon || v[i].file != Nil)
				continue;
			c = 0;
			for(l = 0; l < t->n; l++){
				for(w = (Ivma *)m[l].vma.p, nw = m[l].vma.n / sizeof *w, j = 0; j < nw; j++)
					c += w[j].kind == Vshanon && w[j].ino == v[i].ino;
				for(f = fdsof(&m[l], &nw), j = 0; j < nw; j++)
					c += f[j].kind == Dgone && f[j].arg[2] == v[i].ino;
			}
			if(c < 2)
				continue;
			if((x = shmof(m, v[i].ino, v[i].pgoff + (v[i].end - v[i].start))) < 0)
				return -1;
			v[i].file = x;
		}
	/* the fds of those objects: opened onto the object, sized to the file */
	for(k = 0; k < t->n; k++)
		for(f = fdsof(&m[k], &n), i = 0; i < n; i++){
			if(f[i].kind != Dgone)
				continue;
			for(l = 0, c = 0; l < t->n && !c; l++)
				for(w = (Ivma *)m[l].vma.p, nw = m[l].vma.n / sizeof *w, j = 0; j < nw; j++)
					if(w[j].kind == Vshanon && w[j].ino == f[i].arg[2] && w[j].file != Nil)
						c = 1;
			if(!c)
				continue;
			if((x = shmof(m, f[i].arg[2], f[i].arg[1])) < 0)
				return -1;
			f[i].arg[3] = x + 1;
		}
	return 0;
}

/* the bytes in a fifo go back once: with the first of its read ends */
static void
fifos(Tree *t, Img *m)
{
	Ifd *f, *g;
	uint32_t i, j, n, ng;
	int k, l, first;

	for(k = 0; k < t->n; k++)
		for(f = fdsof(&m[k], &n), i = 0; i < n; i++){
			if(f[i].kind != Dfifo || f[i].arg[2] == 0)
				continue;
			first = 1;
			for(l = 0; l <= k && first; l++)
				for(g = fdsof(&m[l], &ng), j = 0; j < ng && (l < k || j < i); j++)
					if(g[j].kind == Dfifo && g[j].arg[0] == f[i].arg[0] && g[j].arg[2] > 0)
						first = 0;
			if(!first)
				f[i].arg[2] = 0;
		}
}

/* a pty the image holds the master of: its number, or -1 */
static long
ourpty(Tree *t, Img *m, unsigned maj, unsigned min)
{
	Ifd *f;
	uint32_t i, n;
	int k;
	long idx;

	if(maj < 136 || maj > 143)
		return -1;
	idx = (maj - 136) * 256 + min;
	for(k = 0; k < t->n; k++)
		for(f = fdsof(&m[k], &n), i = 0; i < n; i++)
			if(f[i].kind == Dptm && (long)f[i].arg[0] == idx)
				return idx;
	return -1;
}

/* slaves of the image's own ptys: the new pair's slave, not the runner's terminal */
static void
slaves(Tree *t, Img *m)
{
	Ifd *f;
	uint32_t i, n;
	long idx;
	int k;

	for(k = 0; k < t->n; k++)
		for(f = fdsof(&m[k], &n), i = 0; i < n; i++)
			if(f[i].kind == Dtty &&
			   (idx = ourpty(t, m, major(f[i].arg[2]), minor(f[i].arg[2]))) >= 0){
				f[i].kind = Dpts;
				memset(f[i].arg, 0, sizeof f[i].arg);
				f[i].arg[0] = idx;
			}
}

static int
members(Tree *t, Img *m)
{
	Imember e;
	long idx;
	int k, p;

	for(k = 0; k < t->n; k++){
		memset(&e, 0, sizeof e);
		e.pid = t->m[k].pid;
		e.ppid = t->m[k].ppid;
		e.pgid = t->m[k].pgid;
		e.sid = t->m[k].sid;
		p = t->m[k].parent;
		e.parent = p < 0 ? Nil : (uint32_t)p;
		e.state = t->m[k].zombie ? Mzombie : Mlive;
		e.status = t->m[k].status;
		/* tty_nr: major in bits 8-15, minor in 0-7 and 20-31 */
		idx = ourpty(t, m, t->m[k].tty >> 8 & 0xff, (t->m[k].tty & 0xff) | (t->m[k].tty >> 12 & 0xfff00));
		e.ctty = idx + 1;
		e.tpgid = t->m[k].tpgid;
		/*
		 * A child a running root's job control stopped comes back
		 * stopped; a tree stopped whole (frozen before) runs: its
		 * runner starts it.
		 */
		e.stopped = k > 0 && t->m[k].stopped && !t->m[0].stopped;
		if(bufadd(&m[0].tree, &e, sizeof e) < 0)
			return -1;
	}
	return 0;
}

/* while all are stopped: what the fds share */
int
treefds(Tree *t, Img *m)
{
	slaves(t, m);
	fifos(t, m);
	return stdpipes(t, m) < 0 || ends(t, m) < 0 || shares(t, m) < 0 ? -1 : 0;
}

/* which pipe, pty or socket pair f is: a pair by the lower of its two inodes */
static uint64_t
objid(Ifd *f)
{
	uint64_t a = (uint32_t)f->arg[0], b = f->arg[0] >> 32;

	if(f->kind != Dsockpair)
		return f->arg[0];
	return a < b ? a : b;
}

/* distinct objects of kind in the image */
static int
distinct(Tree *t, Img *m, uint32_t kind)
{
	Ifd *f, *g;
	uint32_t i, j, n, ng;
	int k, l, c = 0, seen;

	for(k = 0; k < t->n; k++)
		for(f = fdsof(&m[k], &n), i = 0; i < n; i++){
			if(f[i].kind != kind)
				continue;
			seen = 0;
			for(l = 0; l <= k && !seen; l++)
				for(g = fdsof(&m[l], &ng), j = 0; j < ng && (l < k || j < i) && !seen; j++)
					seen = g[j].kind == kind && objid(&g[j]) == objid(&f[i]);
			c += !seen;
		}
	return c;
}

/* the restorer's tables have room for what this image shares: refuse now, not at resume */
static int
fits(Tree *t, Img *m)
{
	static const struct {
		uint32_t	kind;
		int	max;
		char	what[24];
	} lim[] = {
		{Dpipe, Npipe, "pipes"}, {Dsockpair, Npair, "socket pairs"}, {Dptm, Npty, "ptys"},
	};
	size_t i;
	int c;

	for(i = 0; i < sizeof lim/sizeof lim[0]; i++)
		if((c = distinct(t, m, lim[i].kind)) > lim[i].max){
			werrstr("unsupported: %d %s in the image, at most %d", c, lim[i].what, lim[i].max);
			return -1;
		}
	if(m[0].share.n / sizeof(Ishare) > (size_t)Nshare){
		werrstr("unsupported: %zu shared open files in the image, at most %d", m[0].share.n / sizeof(Ishare), Nshare);
		return -1;
	}
	if(m[0].shm.n / sizeof(Ishm) > (size_t)Nshm){
		werrstr("unsupported: %zu shared memory objects in the image, at most %d", m[0].shm.n / sizeof(Ishm), Nshm);
		return -1;
	}
	return 0;
}

/* once the memory is read: what the maps share, and the table of processes */
int
treemem(Tree *t, Img *m)
{
	return shms(t, m) < 0 || fits(t, m) < 0 ? -1 : members(t, m);
}
