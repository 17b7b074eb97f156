/*
 * freeze and snap: stop the process at a safe point, write its image,
 * leave it stopped (freeze) or let it go on (snap).  A failure at any
 * point lets the process go on as it was and leaves no image behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include "engine.h"
#include "cpuid.h"

static int
header(pid_t pid, Img *m)
{
	char buf[128];
	struct utsname u;
	uint32_t xsize;

	m->hdr.pid = pid;
	if(statusline(pid, "Uid", buf, sizeof buf) < 0)
		return -1;
	m->hdr.uid = strtoul(buf, NULL, 10);
	if(statusline(pid, "Gid", buf, sizeof buf) < 0)
		return -1;
	m->hdr.gid = strtoul(buf, NULL, 10);
	if(procstr(pid, "comm", m->hdr.comm, sizeof m->hdr.comm) < 0)
		return -1;
	m->hdr.when = time(NULL);
	if(uname(&u) == 0)
		snprintf(m->hdr.kernel, sizeof m->hdr.kernel, "%.63s", u.release);
	readcpu(m->hdr.cpu, &m->hdr.xcr0, &xsize);
	m->hdr.xsize = xsize;
	return 0;
}

/* refuse early when the image cannot fit: rss is what it can grow to */
static int
roomfor(const char *path, uint64_t bytes)
{
	char dir[PATH_MAX];
	struct statvfs sv;

	snprintf(dir, sizeof dir, "%s", path);
	if(statvfs(dirname(dir), &sv) < 0)
		return 0;
	if((uint64_t)sv.f_bavail * sv.f_frsize < bytes){
		werrstr("no space left on device for a %llu MiB image", (unsigned long long)(bytes >> 20));
		return -1;
	}
	return 0;
}

static void *
closer(void *a)
{
	setpriority(PRIO_PROCESS, 0, 10);	/* this thread: nothing waits for it */
	close((int)(intptr_t)a);
	return NULL;
}

/*
 * The image a new one replaces is held open across the rename, then
 * closed by a thread of its own: dropping its pages and blocks (and,
 * with discard, trimming them) need not delay the freeze.
 */
static void
release(int fd)
{
	pthread_attr_t a;
	pthread_t t;

	if(fd < 0)
		return;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if(pthread_create(&t, &a, closer, (void *)(intptr_t)fd) != 0)
		close(fd);
	pthread_attr_destroy(&a);
}

static int
commit(Img *m, const char *tmp, const char *path)
{
	char dir[PATH_MAX];
	int fd, old;

	if(fchown(m->fd, m->hdr.uid, m->hdr.gid) < 0 || fchmod(m->fd, 0700) < 0 ||
	   imgsync(m) < 0){
		werrstr("write image: %s", errno == ENOSPC ? "no space left on device" : strerror(errno));
		return -1;
	}
	old = open(path, O_PATH|O_CLOEXEC);
	if(rename(tmp, path) < 0){
		werrstr("rename image: %s", strerror(errno));
		if(old >= 0)
			close(old);
		return -1;
	}
	snprintf(dir, sizeof dir, "%s", path);
	fd = open(dirname(dir), O_RDONLY|O_DIRECTORY|O_CLOEXEC);
	if(fd >= 0){
		fsync(fd);
		close(fd);
	}
	release(old);
	return 0;
}

/*
 * A lazy image's memory is a private file mapping: after MADV_DONTNEED
 * it reads the image's bytes, not zeros.  Allocators that then hand
 * the memory out as zeroed would go wrong: refuse rather than resume wrong.
 */
static const char *zeroers[] = {"libjemalloc", "libmimalloc"};

static int
lazyok(Tree *t)
{
	char path[64], *maps;
	size_t j;
	int k;

	for(k = 0; k < t->n; k++){
		if(t->m[k].zombie)
			continue;
		snprintf(path, sizeof path, "/proc/%d/maps", t->m[k].pid);
		if((maps = readfile(path, NULL)) == NULL){
			werrstr("process exited");
			return -1;
		}
		for(j = 0; j < sizeof zeroers/sizeof zeroers[0]; j++)
			if(strstr(maps, zeroers[j]) != NULL){
				free(maps);
				werrstr("unsupported: -lazy: process %d uses %s, which counts on MADV_DONTNEED giving zeros",
					t->m[k].pid, zeroers[j] + 3);
				return -1;
			}
		free(maps);
	}
	return 0;
}

/*
 * A snap reads ahead unless told not to, or unless the process is the
 * one asking: its writing thread cannot stop until it is answered.
 */
static int
aheadok(pid_t pid, Pfreeze *opt)
{
	return !(opt->flags & Fcopy) && !threadof(pid, opt->writer);
}

/*
 * Before the stop, a snap prepares the process and the descendants it
 * has now, reading their memory ahead; one that ends meanwhile is no
 * loss, but the process itself must be there.  pre[i] goes with the
 * i-th process found, not yet with a member of the tree.
 */
static int
prepare(pid_t pid, Pfreeze *opt, Img *m, Snap **pre)
{
	pid_t p[Nmember];
	int i, n = 1;

	p[0] = pid;
	for(i = 0; i < n && !(opt->flags & Fsingle); i++)
		n += childpids(p[i], p + n, Nmember - n);
	for(i = 0; i < n; i++)
		pre[i] = snapprep(p[i], aheadok(p[i], opt) ? m : NULL, opt->flags & Flean);
	return pre[0] != NULL ? 0 : -1;
}

/* each member its prepared snap, found by pid, in place; the rest go (a member found since has none) */
static void
matchsnaps(Tree *t, Snap **sn)
{
	Snap *pre[Nmember];
	int i, k;

	memcpy(pre, sn, sizeof pre);
	memset(sn, 0, sizeof pre);
	for(k = 0; k < t->n; k++)
		for(i = 0; i < Nmember && !t->m[k].zombie; i++)
			if(pre[i] != NULL && snappid(pre[i]) == t->m[k].pid){
				sn[k] = pre[i];
				pre[i] = NULL;
			}
	for(i = 0; i < Nmember; i++)
		snapfree(pre[i]);
}

/* a process of the tree: its header and its share of the image file */
static void
setimg(Tree *t, Img *m, int k)
{
	char comm[16];

	if(k == 0)
		return;
	m[k].hdr = m[0].hdr;
	m[k].hdr.pid = t->m[k].pid;
	if(procstr(t->m[k].pid, "comm", comm, sizeof comm) == 0)
		memcpy(m[k].hdr.comm, comm, sizeof comm);
	m[k].fd = m[0].fd;
	m[k].wb = m[0].wb;
	m[k].st = m[0].st;
}

/*
 * Every process's threads, state and fds while all are stopped, and
 * what they share; then their memory, page data streamed in turn.  A
 * snap has each fork a copy and lets it go, then reads the rest of
 * each one's memory from its copy (snapcopy.c); those found before the
 * stop were prepared then (prepare, matchsnaps), most of their memory
 * read ahead, and fork no copy unless they wrote much since (track.c).
 * The others first, the root last: its fd kinds are the ones stats shows.
 */
static int
dumptree(Tree *t, Img *m, Pfreeze *opt, Snap **sn, double tstop)
{
	uint64_t off = m[0].off;
	int k, lean = opt->flags & Flean;
	Member *mb;

	for(k = t->n - 1; k >= 0; k--){
		mb = &t->m[k];
		if(mb->zombie)
			continue;
		setimg(t, m, k);
		if(dumpproc(mb->g, &m[k]) < 0 || dumpfds(mb->pid, &m[k], opt->skipdir) < 0)
			return -1;
		m[0].st->threads += mb->g->n;
	}
	if(treecheck(t) < 0 || treefds(t, m) < 0)
		return -1;
	for(k = t->n - 1; k >= 0; k--){
		mb = &t->m[k];
		if(mb->zombie)
			continue;
		if(sn != NULL && sn[k] == NULL && (sn[k] = snapprep(mb->pid, NULL, lean)) == NULL)
			return -1;
		m[k].off = off;
		if(sn != NULL ? snapstop(sn[k], mb->g, &m[k], lean, tstop) < 0 : dumpmem(&mb->g->t[0], &m[k], lean) < 0)
			return -1;
		off = m[k].off;
	}
	/* all let go: the rest of each one's memory from its copy */
	for(k = t->n - 1; sn != NULL && k >= 0; k--){
		if(t->m[k].zombie)
			continue;
		m[k].off = off;
		if(snaprest(sn[k], &m[k]) < 0)
			return -1;
		off = m[k].off;
	}
	return treemem(t, m);
}

static void
freesnaps(Snap **sn, int n)
{
	int k;

	if(sn == NULL)
		return;
	for(k = 0; k < n; k++)
		snapfree(sn[k]);
	free(sn);
}

static void
freeimgs(Img *m, int n)
{
	int k;

	for(k = 1; k < n; k++){
		m[k].fd = -1;	/* the root's */
		m[k].wb = NULL;
		imgfree(&m[k]);
	}
	imgfree(&m[0]);
	free(m);
}

int
pfreeze(pid_t pid, const char *path, Pfreeze *opt)
{
	Tree *t;
	Img *m = NULL;
	Snap **sn = NULL;
	Pstats local, *st;
	char tmp[PATH_MAX + 8];
	double t0, tseize, tstop;
	uint64_t size = 1<<20;	/* the image, about: rss */
	int k, snap = opt->flags & Fsnap;

	st = opt->stats != NULL ? opt->stats : &local;
	memset(st, 0, sizeof *st);
	t0 = now();
	if(pid == getpid()){
		werrstr("cannot freeze persistfs");
		return -1;
	}
	t = calloc(1, sizeof *t);
	m = calloc(Nmember, sizeof *m);
	sn = snap ? calloc(Nmember, sizeof *sn) : NULL;
	if(t == NULL || m == NULL || (snap && sn == NULL)){
		free(t);
		free(m);
		free(sn);
		werrstr("out of memory");
		return -1;
	}
	for(k = 0; k < Nmember; k++)
		m[k].fd = -1;
	m[0].st = st;
	if(header(pid, &m[0]) < 0){
		werrstr("process exited");
		goto fail;
	}
	if(statusline(pid, "VmRSS", tmp, sizeof tmp) == 0)
		size = strtoull(tmp, NULL, 10) * 1024 + (1<<20);
	if(roomfor(path, size) < 0)
		goto fail;
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	/* all that can be done before the stop is, to keep it short */
	if(imgcreate(&m[0], tmp, opt->flags & Flean ? 0 : size) < 0 || (snap && prepare(pid, opt, &m[0], sn) < 0))
		goto fail;
	tseize = now();
	if(treeseize(t, pid, opt->flags & Fsingle, opt) < 0){
		if(procstr(pid, "wchan", tmp, sizeof tmp) == 0 && strstr(tmp, "fuse") != NULL)
			werrstr("process is blocked in a fuse request and cannot stop");
		goto fail;
	}
	st->procs = t->n;
	if(snap)
		matchsnaps(t, sn);
	tstop = now();
	st->stopms = tstop - tseize;
	if(opt->flags & Flean)
		m[0].hdr.flags |= Hlean;
	if(opt->flags & Flazy){
		if(lazyok(t) < 0)
			goto fail;
		m[0].hdr.flags |= Hlazy;
	}
	if(dumptree(t, m, opt, sn, tstop) < 0)
		goto fail;
	st->memms = now() - tstop;
	if(imgfinish(m, t->n) < 0)
		goto fail;
	st->writems = now() - tstop - st->memms;
	if(commit(&m[0], tmp, path) < 0)
		goto fail;
	st->syncms = now() - tstop - st->memms - st->writems;
	if(!snap){
		treedetach(t, 1);
		st->stoppedms = now() - tstop;
	}
	freeimgs(m, t->n);
	freesnaps(sn, Nmember);
	free(t);
	st->totalms = now() - t0;
	return 0;
fail:
	treedetach(t, 0);
	if(m[0].fd >= 0)
		unlink(tmp);
	freeimgs(m, t->n > 0 ? t->n : 1);
	freesnaps(sn, Nmember);
	free(t);
	return -1;
}
